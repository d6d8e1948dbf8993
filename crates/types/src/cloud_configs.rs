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
    /// The image: an alias or a fingerprint.
    pub image: String,
    /// Extra LXD config keys for instances.
    pub config: BTreeMap<String, String>,
    /// Deployments using it.
    pub used_by: Vec<DeploymentRef>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
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
    /// cloud-init user-data: must start with `#cloud-config` and be a YAML mapping.
    pub user_data: String,
    /// Image alias or fingerprint.
    #[schema(min_length = 1, max_length = 255)]
    pub image: String,
    /// Extra LXD config keys: `environment.*`, `limits.*` and `user.*` (except Mosaic's own).
    #[serde(default)]
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
    pub user_data: Option<String>,
    /// New image (new revision).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255)]
    pub image: Option<String>,
    /// New config keys, replacing the old ones (new revision).
    #[serde(default)]
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
    /// Config keys that changed: key → `[from, to]` (null where absent).
    pub config: BTreeMap<String, [Option<String>; 2]>,
}
