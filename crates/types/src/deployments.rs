//! Deployments: named groups of pinned cloud-config revisions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CloudConfigId, DeploymentId};

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// Its ID.
    pub id: DeploymentId,
    /// Its name (unique).
    pub name: String,
    /// The cloud-configs it groups, each pinned to a revision.
    pub cloud_configs: Vec<DeploymentCloudConfig>,
    /// Its containers, counted by state.
    pub instances: InstanceCounts,
    /// Memory in use by its containers, in bytes.
    pub memory_bytes: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A cloud-config as a deployment uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentCloudConfig {
    /// The cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The revision the deployment is pinned to.
    pub revision: i32,
    /// The cloud-config's newest revision (an upgrade is available when greater).
    pub latest_revision: i32,
}

/// Containers of a deployment by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstanceCounts {
    /// All of them.
    pub total: u32,
    /// Running.
    pub running: u32,
    /// Stopped.
    pub stopped: u32,
    /// Anything else (starting, error, unknown because the host is offline...).
    pub other: u32,
}

/// A cloud-config to include, optionally pinned to a revision (default: its current one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudConfigPin {
    /// The cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// The revision; its current one when omitted.
    #[serde(default, deserialize_with = "crate::lenient::opt_i32")]
    #[schema(minimum = 1)]
    pub revision: Option<i32>,
}

/// `POST /api/v1/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeployment {
    /// Name: letters, digits, `_`, `-`, starting with a letter.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
    /// Its cloud-configs.
    #[serde(default)]
    pub cloud_configs: Vec<CloudConfigPin>,
}

/// `PATCH /api/v1/deployments/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDeployment {
    /// The new name.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
}

/// `PUT /api/v1/deployments/{id}/cloud-configs/{cloud_config_id}`: pin another revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRevision {
    /// The revision to use.
    #[serde(deserialize_with = "crate::lenient::i32")]
    #[schema(minimum = 1)]
    pub revision: i32,
}
