//! Deployments: named groups of pinned cloud-config revisions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CloudConfigId, DeploymentId, HostId, InstanceId};
use crate::instances::{HostInstances, OrphanedInstance};

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// Its ID.
    pub id: DeploymentId,
    /// Its name (unique).
    pub name: String,
    /// `active`, or `deleting` while its containers are being removed.
    pub status: DeploymentStatus,
    /// The cloud-configs it groups, each pinned to a revision.
    pub cloud_configs: Vec<DeploymentCloudConfig>,
    /// Its containers, counted by state.
    pub instances: InstanceCounts,
    /// Its containers, counted by readiness.
    pub readiness: ReadinessCounts,
    /// Whether every container is ready (and there is at least one).
    pub ready: bool,
    /// What it serves: the badge and counts (serving, pending, failing, cannot be judged) and
    /// the frontend addresses of its exposed ports.
    pub service: crate::routing::ServiceSummary,
    /// Memory in use by its containers, in bytes.
    pub memory_bytes: u64,
    /// Age of the oldest LXD figure used, in milliseconds (`null` without instances).
    pub data_age_ms: Option<u64>,
    /// Whether Mosaic recreates instances that go missing or fail (off by default).
    pub healing: bool,
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

crate::stored::stored_enum! {
    /// A deployment's status.
    pub enum DeploymentStatus {
        /// In use.
        Active = "active",
        /// Being deleted; stays so while instances on an offline host remain.
        Deleting = "deleting",
    }
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
    /// Starting, stopping, frozen, in error, or not created yet.
    pub other: u32,
    /// On a host that does not answer.
    pub unknown: u32,
    /// Deleted from LXD behind Mosaic's back.
    pub missing: u32,
}

/// Containers of a deployment by readiness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadinessCounts {
    /// cloud-config applied.
    pub ready: u32,
    /// Not known yet.
    pub pending: u32,
    /// cloud-config failed.
    pub failed: u32,
    /// Cannot be told (no cloud-init in the image).
    pub unknown: u32,
}

/// A deployment with its instances grouped by host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentDetail {
    /// The deployment and its figures.
    #[serde(flatten)]
    pub deployment: Deployment,
    /// Its instances, by host.
    pub hosts: Vec<HostInstances>,
    /// Containers carrying this deployment's key that Mosaic's database does not know.
    pub orphaned: Vec<OrphanedInstance>,
    /// Its exposed ports, each with its frontend and every instance behind it.
    pub ports: Vec<crate::routing::ExposedPort>,
}

/// How instances are spread over the chosen hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// `count` instances in all, spread evenly over the hosts.
    #[default]
    Spread,
    /// `count` instances on each host (LXDMosaic's behaviour).
    PerHost,
}

/// What to deploy of one cloud-config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployCloudConfig {
    /// A cloud-config of the deployment.
    pub cloud_config_id: CloudConfigId,
    /// How many instances (in all, or per host with `per_host`).
    #[serde(deserialize_with = "crate::lenient::i32")]
    #[schema(minimum = 1, maximum = 100)]
    pub count: i32,
    /// The hosts to place them on.
    #[schema(min_items = 1)]
    pub hosts: Vec<HostId>,
    /// For clustered hosts, the members to place them on, by host (default: every online
    /// member). Instances are spread over the members (`?target=`).
    #[serde(default)]
    pub members: std::collections::BTreeMap<HostId, Vec<String>>,
    /// How to place them.
    #[serde(default)]
    pub placement: Placement,
    /// LXD profiles to apply, in order (default: `["default"]`).
    #[serde(default)]
    #[schema(inline, value_type = Vec<ProfileName>)]
    pub profiles: Vec<String>,
}

/// An LXD profile name: 1 to 255 characters, no `/` (only for the schema of `profiles`).
#[derive(ToSchema)]
#[schema(pattern = r"^[^/\x00]{1,255}$")]
#[allow(dead_code)]
struct ProfileName(String);

/// `POST /api/v1/deployments/{id}/deploy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// What to deploy, per cloud-config.
    #[schema(min_items = 1)]
    pub cloud_configs: Vec<DeployCloudConfig>,
    /// Add cloud-init `phone_home` so each instance reports in when its cloud-config has run.
    #[serde(default)]
    pub phone_home: bool,
    /// Start each instance as soon as it is created (and check its readiness), in the same job.
    #[serde(default)]
    pub start: bool,
}

/// `POST /api/v1/deployments/{id}/remove`: scale down by removing chosen instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveInstances {
    /// The instances to stop and delete.
    #[schema(min_items = 1)]
    pub instance_ids: Vec<InstanceId>,
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

/// `PATCH /api/v1/deployments/{id}`: rename it, or turn healing on or off; an empty patch
/// changes nothing (as a JSON merge patch would) and answers the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDeployment {
    /// The new name.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: Option<String>,
    /// Whether Mosaic recreates instances that go missing (deleted behind its back) or fail.
    #[serde(default)]
    pub healing: Option<bool>,
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
