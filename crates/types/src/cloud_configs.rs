//! Cloud-configs and their revisions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CloudConfigId, DeploymentId};

/// A cloud-config with the content of its current revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CloudConfig {
    /// Its ID.
    pub id: CloudConfigId,
    /// The namespace, e.g. `Webservers`.
    pub namespace: String,
    /// The name, e.g. `My_Site`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The current revision number.
    pub revision: i32,
    /// The cloud-init user-data (starts with `#cloud-config`).
    pub user_data: String,
    /// The image: an alias or a fingerprint, on the hosts or (with `image_server`) on that server.
    pub image: String,
    /// The image server the image comes from; `null`: the image is on the hosts already.
    pub image_server: Option<ImageServer>,
    /// Extra LXD config keys for instances.
    pub config: BTreeMap<String, String>,
    /// Deployments using it.
    pub used_by: Vec<DeploymentRef>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

crate::stored::stored_enum! {
    /// The protocol an image server speaks.
    pub enum ImageProtocol {
        /// Another LXD server's API: its public images (with `certificate`, a self-signed one).
        Lxd = "lxd",
        /// A static simplestreams tree (`streams/v1/index.json`), as public image servers publish.
        Simplestreams = "simplestreams",
    }
}

/// An image server a cloud-config's image is pulled from: a host that lacks the image downloads it
/// when a deploy needs it (once per host and job), and keeps it.
///
/// Mosaic never contacts the server itself: the LXD host does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageServer {
    /// `https://HOST[:PORT][/PATH]` (a simplestreams tree may live under a path).
    #[schema(schema_with = crate::schemas::image_server_url)]
    pub url: String,
    /// `lxd` or `simplestreams`.
    pub protocol: ImageProtocol,
    /// The server's certificate (PEM), for a server the hosts' system CAs do not vouch for (a
    /// self-signed LXD server, a private mirror): the host then trusts exactly that certificate
    /// for the download.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::pem_certificate_nullable)]
    pub certificate: Option<String>,
}

/// A deployment, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentRef {
    /// Its ID.
    pub id: DeploymentId,
    /// Its name.
    pub name: String,
}

/// `POST /api/v1/cloud-configs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCloudConfig {
    /// Namespace: letters, digits, `_`, `-`, starting with a letter.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub namespace: String,
    /// Name: the same rules.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
    /// Free text.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// cloud-init user-data: `#cloud-config` on the first line, then a YAML mapping (or
    /// nothing). Format `cloud-config` says so to tools that can generate such documents.
    #[schema(max_length = 262144, format = "cloud-config", pattern = r"^#cloud-config[ \t]*(\r?\n|$)")]
    pub user_data: String,
    /// Image alias or fingerprint (on `image_server` when given, else on the hosts).
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$")]
    pub image: String,
    /// Where hosts that lack the image pull it from; omitted or `null`: it is on the hosts.
    #[serde(default)]
    pub image_server: Option<ImageServer>,
    /// Extra LXD config keys: `environment.*`, `limits.*` and `user.*` (except Mosaic's own).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::config_keys)]
    pub config: BTreeMap<String, String>,
}

/// `PATCH /api/v1/cloud-configs/{id}`: any content change makes a new revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCloudConfig {
    /// New namespace.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub namespace: Option<String>,
    /// New name.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// New user-data (new revision).
    #[serde(default)]
    #[schema(max_length = 262144, format = "cloud-config", pattern = r"^#cloud-config[ \t]*(\r?\n|$)")]
    pub user_data: Option<String>,
    /// New image (new revision).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$")]
    pub image: Option<String>,
    /// New image server (new revision): omitted keeps the current one, `null` makes the image a
    /// local one (on the hosts), an object names the server.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ImageServer>)]
    pub image_server: Option<Option<ImageServer>>,
    /// New config keys, replacing the old ones (new revision).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::config_keys_nullable)]
    pub config: Option<BTreeMap<String, String>>,
}

/// One revision of a cloud-config's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    /// The revision number, from 1.
    pub revision: i32,
    /// The user-data.
    pub user_data: String,
    /// The image.
    pub image: String,
    /// The image server it comes from (`null`: on the hosts).
    pub image_server: Option<ImageServer>,
    /// The config keys.
    pub config: BTreeMap<String, String>,
    /// Who made it.
    pub author: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A revision without its content, for lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RevisionSummary {
    /// The revision number.
    pub revision: i32,
    /// Who made it.
    pub author: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevisionDiff {
    /// The older side.
    pub from: i32,
    /// The newer side.
    pub to: i32,
    /// A unified diff of the user-data.
    pub user_data: String,
    /// The image, if it changed: `[from, to]`.
    pub image: Option<[String; 2]>,
    /// The image server, if it changed: `[from, to]` (`null` for an image on the hosts).
    pub image_server: Option<[Option<ImageServer>; 2]>,
    /// Config keys that changed: key → `[from, to]` (null where absent).
    pub config: BTreeMap<String, [Option<String>; 2]>,
}

/// A field that may be absent (`None`, by `#[serde(default)]`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_tells_absent_from_null_from_a_server() {
        let absent: UpdateCloudConfig = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(absent.image_server, None);
        let null: UpdateCloudConfig = serde_json::from_str(r#"{"image_server": null}"#).unwrap_or_default();
        assert_eq!(null.image_server, Some(None));
        let set: UpdateCloudConfig = serde_json::from_str(
            r#"{"image_server": {"url": "https://images.example", "protocol": "simplestreams"}}"#,
        )
        .unwrap_or_default();
        let server = set.image_server.flatten().map(|s| (s.url, s.protocol));
        assert_eq!(server, Some(("https://images.example".to_owned(), ImageProtocol::Simplestreams)));
        // Sent back as it came: absent stays absent, null stays null.
        assert!(!serde_json::to_string(&absent).unwrap_or_default().contains("image_server"));
        assert!(serde_json::to_string(&null).unwrap_or_default().contains(r#""image_server":null"#));
    }
}

/// `GET /api/v1/cloud-configs`: which cloud-configs, and which page of them (by namespace, name,
/// then ID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CloudConfigQuery {
    /// Only this namespace (exact).
    #[param(max_length = 200)]
    pub namespace: Option<String>,
    /// Text to find in `namespace/name` or the description (case-insensitive).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Items per page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page.
    #[param(max_length = 400)]
    pub cursor: Option<String>,
}
