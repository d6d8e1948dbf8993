//! Instances: the containers of a deployment, as Mosaic and LXD see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CloudConfigId, DeploymentId, HostId, InstanceId};

crate::stored::stored_enum! {
    /// Where an instance is in Mosaic's own bookkeeping.
    pub enum Lifecycle {
        /// Accepted; not created in LXD yet.
        Pending = "pending",
        /// Exists in LXD.
        Created = "created",
        /// Creating it failed (the error says why); deleting the deployment cleans it up.
        Failed = "failed",
        /// Being removed.
        Deleting = "deleting",
    }
}

/// What LXD last said about the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Running.
    Running,
    /// Stopped.
    Stopped,
    /// Starting, stopping, frozen, or in error: anything else LXD reports.
    Other,
    /// Mosaic created it, but LXD no longer has it (deleted behind Mosaic's back).
    Missing,
    /// Not created yet.
    NotCreated,
    /// Its host does not answer.
    Unknown,
}

crate::stored::stored_enum! {
    /// Did the cloud-config apply?
    pub enum Readiness {
        /// Not known yet (not started, or cloud-init still running).
        Pending = "pending",
        /// cloud-init finished without errors, or the instance phoned home.
        Ready = "ready",
        /// cloud-init reported errors (see the detail).
        Failed = "failed",
        /// The image has no cloud-init, so it cannot be told.
        Unknown = "unknown",
    }
}

/// One container of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Instance {
    /// Its ID (also in the container's `user.mosaic.instance` key).
    pub id: InstanceId,
    /// Its LXD name.
    pub name: String,
    /// Its deployment.
    pub deployment_id: DeploymentId,
    /// The host it lives on.
    pub host_id: HostId,
    /// The cluster member it lives on (`null` outside clusters): where LXD last said it is, or
    /// where Mosaic placed it.
    pub location: Option<String>,
    /// The fingerprint of the image it was made from (`null` until it is created).
    pub image_fingerprint: Option<String>,
    /// The cloud-config it was made from.
    pub cloud_config_id: CloudConfigId,
    /// `namespace/name` of that cloud-config.
    pub cloud_config: String,
    /// The cloud-config revision it was made from.
    pub revision: i32,
    /// Profiles applied.
    pub profiles: Vec<String>,
    /// Mosaic's bookkeeping state.
    pub lifecycle: Lifecycle,
    /// The last error creating or changing it.
    pub last_error: Option<String>,
    /// What LXD last said.
    pub status: InstanceStatus,
    /// Memory in use, in bytes, when running.
    pub memory_bytes: Option<u64>,
    /// Its addresses (global and loopback scope excluded only if the container has none else).
    pub addresses: Vec<String>,
    /// Whether its cloud-config applied.
    pub readiness: Readiness,
    /// cloud-init's words when it failed (or why readiness is unknown).
    pub readiness_detail: Option<String>,
    /// When it phoned home (cloud-init `phone_home`), if enabled and done.
    pub phoned_home_at: Option<DateTime<Utc>>,
    /// When Mosaic accepted it.
    pub created_at: DateTime<Utc>,
    /// When it was first started.
    pub first_started_at: Option<DateTime<Utc>>,
    /// When it was last started.
    pub last_started_at: Option<DateTime<Utc>>,
    /// When it was last stopped.
    pub last_stopped_at: Option<DateTime<Utc>>,
}

/// A container carrying Mosaic's keys that Mosaic's database does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrphanedInstance {
    /// Its host.
    pub host_id: HostId,
    /// Its LXD name.
    pub name: String,
    /// The `user.mosaic.instance` it carries.
    pub instance_key: String,
}

/// A deployment's instances on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostInstances {
    /// The host.
    pub host_id: HostId,
    /// Its name.
    pub host_name: String,
    /// Whether it answered the last poll.
    pub online: bool,
    /// How old the LXD figures are, in milliseconds (`null` if the host was never reached).
    pub data_age_ms: Option<u64>,
    /// The instances there, by name.
    pub instances: Vec<Instance>,
}

/// `GET /api/v1/instances`: which instances, and which page of them (by name, then ID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstanceQuery {
    /// Only this deployment's.
    pub deployment_id: Option<DeploymentId>,
    /// Only those on this host.
    pub host_id: Option<HostId>,
    /// Only those made from this cloud-config.
    pub cloud_config_id: Option<CloudConfigId>,
    /// Only those made from this revision of their cloud-config.
    #[param(minimum = 1)]
    pub revision: Option<i32>,
    /// Only those LXD last reported so.
    pub status: Option<InstanceStatus>,
    /// Only those whose cloud-config applied so.
    pub readiness: Option<Readiness>,
    /// Items per page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page.
    #[param(max_length = 200)]
    pub cursor: Option<String>,
}

/// `GET /api/v1/instances/{id}/cloud-init-log`: how much of the log's end to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Most bytes of the log's end to return (1 to 1048576; default 65536).
    #[param(minimum = 1, maximum = 1_048_576)]
    pub max_bytes: Option<u32>,
}

/// The end of an instance's `/var/log/cloud-init-output.log`: what its cloud-config's commands
/// printed, so an operator sees why it failed without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CloudInitLog {
    /// The log's last bytes (as text; invalid UTF-8 replaced).
    pub content: String,
    /// Whether the log is longer than what is shown.
    pub truncated: bool,
    /// The log's whole size in bytes, when LXD said.
    pub size: Option<u64>,
}

/// `POST /api/v1/deployments/{id}/orphans/adopt`: take a container that carries the deployment's
/// key (but that Mosaic's database does not know) back into the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptOrphan {
    /// Its host.
    pub host_id: HostId,
    /// Its LXD name: letters, digits and `-`, starting with a letter, not ending with `-`.
    #[schema(min_length = 1, max_length = 63, pattern = r"^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$")]
    pub name: String,
    /// The deployment member it belongs to (needed when the container does not say).
    #[serde(default)]
    pub cloud_config_id: Option<CloudConfigId>,
}
