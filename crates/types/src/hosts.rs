//! LXD hosts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::HostId;

crate::stored::stored_enum! {
    /// How Mosaic reaches a host.
    pub enum HostTransport {
        /// HTTPS with Mosaic's client certificate and the server certificate pinned.
        Https = "https",
        /// The local daemon's unix socket.
        Unix = "unix",
    }
}

/// A registered LXD host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Host {
    /// Its ID.
    pub id: HostId,
    /// Its name in Mosaic (unique).
    pub name: String,
    /// How it is reached.
    pub transport: HostTransport,
    /// Its HTTPS URL (HTTPS hosts).
    pub url: Option<String>,
    /// The pinned SHA-256 fingerprint of its certificate (HTTPS hosts).
    pub fingerprint: Option<String>,
    /// Its unix socket path (unix hosts).
    pub socket_path: Option<String>,
    /// The LXD project every call for it is scoped to (`default` unless registered otherwise):
    /// its instances, profiles and images are that project's.
    pub project: String,
    /// The members of the cluster it is (empty for a standalone host), by name, with their status
    /// as the host cache last saw it. Mosaic fails over between their URLs.
    pub members: Vec<ClusterMember>,
    /// Whether it answered just now, and what it said.
    pub status: HostStatus,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// What a host said when the host cache last asked it (every few seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostStatus {
    /// Whether it answered.
    pub online: bool,
    /// Its LXD version, when online.
    pub lxd_version: Option<String>,
    /// Whether it is a cluster member, when online.
    pub clustered: Option<bool>,
    /// Why it is offline.
    pub error: Option<String>,
    /// When it was asked (`null` before the host cache first polled it).
    pub checked_at: Option<DateTime<Utc>>,
    /// Whether its instances' status is live (its event stream) or polled.
    pub events: HostEvents,
    /// Since when it has not answered, as this server saw it (`null` while it answers).
    pub offline_since: Option<DateTime<Utc>>,
}

/// A host's event stream: while it is open, its containers' status changes show within a
/// second; while it is not, status comes from polling every cache interval (memory and
/// addresses always do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostEvents {
    /// Whether the stream is open.
    pub live: bool,
    /// Why it is not (the last failure), while it is not.
    pub error: Option<String>,
    /// Since when it is open, or down.
    pub since: Option<DateTime<Utc>>,
    /// When Mosaic tries to reconnect next, while it is down.
    pub retry_at: Option<DateTime<Utc>>,
}

/// How a cluster member is doing, as LXD reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Answering and taking part: new instances may be placed there.
    Online,
    /// Not answering its peers: its instances' state is unknown, and nothing is placed there.
    Offline,
    /// Emptied by an operator for maintenance: nothing is placed there.
    Evacuated,
    /// Any other status LXD reports (the message says which).
    Unknown,
}

/// One member of a clustered host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterMember {
    /// Its name: what instances' `location` says, and what a deploy may choose.
    pub name: String,
    /// Its API address.
    pub url: String,
    /// How it is doing.
    pub status: MemberStatus,
    /// LXD's words about it ("Fully operational", or why not).
    pub message: String,
}

/// `POST /api/v1/hosts`: register a host, over HTTPS or a unix socket.
///
/// HTTPS: `url` and the `fingerprint` the operator confirmed (read it with `POST
/// /api/v1/hosts/fingerprint`), plus a `trust_token` or `trust_password` unless the host already
/// trusts Mosaic's certificate. Unix: `socket_path` only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHost {
    /// Name in Mosaic: letters, digits, `_`, `-`, starting with a letter.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
    /// `https://HOST:PORT`.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::host_url_nullable)]
    pub url: Option<String>,
    /// The SHA-256 fingerprint of the server certificate, as confirmed by the operator: 64 hex
    /// digits, optionally in colon-separated pairs.
    #[serde(default)]
    #[schema(pattern = r"^([0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31})$")]
    pub fingerprint: Option<String>,
    /// A trust token made on the host (`lxc config trust add --name mosaic`).
    #[serde(default)]
    pub trust_token: Option<String>,
    /// The host's trust password (`core.trust_password`).
    #[serde(default)]
    pub trust_password: Option<String>,
    /// Path of the local daemon's unix socket (absolute).
    #[serde(default)]
    #[schema(max_length = 1024, pattern = r"^/[^\x00]*$")]
    pub socket_path: Option<String>,
    /// The LXD project to work in (default `default`). The same daemon may be registered once
    /// per project.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 63, pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    pub project: Option<String>,
}

/// `PATCH /api/v1/hosts/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHost {
    /// The new name.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
}

/// `POST /api/v1/hosts/fingerprint`: which certificate does this URL present?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerprintRequest {
    /// `https://HOST:PORT`.
    #[schema(schema_with = crate::schemas::host_url)]
    pub url: String,
}

/// The certificate fingerprint a URL presented, for the operator to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FingerprintResponse {
    /// The URL asked.
    pub url: String,
    /// SHA-256 of the certificate, lowercase hex.
    pub fingerprint: String,
}

/// A profile on a host (for "extra profiles" when deploying).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostProfile {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
}

/// An image on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostImage {
    /// SHA-256 of the image.
    pub fingerprint: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// Its description property.
    pub description: String,
    /// e.g. `x86_64`.
    pub architecture: String,
    /// Size in bytes.
    pub size: u64,
}

/// `POST /api/v1/hosts/{id}/forget`: forget a host that is gone for good.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgetHost {
    /// The operator says the host is gone for good: forget it even though it stopped answering
    /// only recently. Without it, a host must have been offline for at least ten minutes.
    #[serde(default)]
    pub gone: bool,
}

/// What forgetting a host closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ForgottenHost {
    /// The host (no longer registered).
    pub host_id: HostId,
    /// Its name.
    pub name: String,
    /// The instances whose rows were closed (each also recorded in the audit log).
    pub instances: Vec<ClosedInstance>,
    /// Deployments that were being deleted and had nothing left but instances on this host:
    /// they are gone now.
    pub deployments_removed: Vec<crate::cloud_configs::DeploymentRef>,
}

/// An instance row closed because its host was forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClosedInstance {
    /// The instance.
    pub id: crate::ids::InstanceId,
    /// Its LXD name.
    pub name: String,
    /// Its deployment.
    pub deployment_id: crate::ids::DeploymentId,
    /// The deployment's name.
    pub deployment_name: String,
}

/// `GET /api/v1/hosts`: which hosts, and which page of them (by name, then ID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HostQuery {
    /// Only those whose name contains this text (case-insensitive).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Items per page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page.
    #[param(max_length = 400)]
    pub cursor: Option<String>,
}
