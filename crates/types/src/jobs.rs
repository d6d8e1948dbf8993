//! Jobs: long work (deploy, start, stop, delete) with per-instance progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{DeploymentId, HostId, InstanceId, JobId};

crate::stored::stored_enum! {
    /// What a job does.
    pub enum JobKind {
        /// Create new instances.
        Deploy = "deploy",
        /// Start every instance.
        Start = "start",
        /// Stop every instance.
        Stop = "stop",
        /// Stop and delete every instance, then the deployment.
        Delete = "delete",
        /// Stop and delete chosen instances (scale down).
        Remove = "remove",
        /// Restart one instance.
        Restart = "restart",
        /// Replace one instance: delete its container and make it again at the deployment's
        /// pinned revision, start it and check its readiness.
        Recreate = "recreate",
        /// Recreate instances that went missing or failed (the deployment's healing does this).
        Heal = "heal",
    }
}

crate::stored::stored_enum! {
    /// Where a job is.
    pub enum JobState {
        /// Waiting for a server to claim it.
        Queued = "queued",
        /// Being worked on.
        Running = "running",
        /// Every instance succeeded.
        Succeeded = "succeeded",
        /// At least one instance failed (each item says why), or the job failed as a whole.
        Failed = "failed",
    }
}

impl JobState {
    /// Whether the job has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

crate::stored::stored_enum! {
    /// Where one instance is within a job.
    pub enum JobStep {
        /// Not started yet.
        Queued = "queued",
        /// Waiting for the host to pull the image from its image server (`progress` says how far).
        Downloading = "downloading",
        /// LXD is creating the container.
        Creating = "creating",
        /// LXD is starting it.
        Starting = "starting",
        /// Waiting for cloud-init's verdict.
        Checking = "checking",
        /// Being taken out of the load balancers' rotation (drained) before a stop or deletion.
        Draining = "draining",
        /// LXD is stopping it.
        Stopping = "stopping",
        /// LXD is restarting it.
        Restarting = "restarting",
        /// LXD is deleting it.
        Deleting = "deleting",
        /// Finished without error.
        Done = "done",
        /// Finished with an error (the item says why).
        Failed = "failed",
    }
}

/// A job with its per-instance progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    /// Its ID.
    pub id: JobId,
    /// Its deployment (`null` once the deployment is deleted).
    pub deployment_id: Option<DeploymentId>,
    /// The deployment's name when the job was made.
    pub deployment_name: String,
    /// What it does.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// Instances it works on.
    pub total: i32,
    /// Instances finished (successfully or not).
    pub done: i32,
    /// Instances that failed.
    pub failed: i32,
    /// Why the whole job failed, if it did as a whole.
    pub error: Option<String>,
    /// Who asked for it.
    pub created_by: String,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When a server started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Each instance's progress.
    pub items: Vec<JobItem>,
}

/// One instance's part in a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobItem {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its name.
    pub instance_name: String,
    /// Its host.
    pub host_id: HostId,
    /// The host's name.
    pub host_name: String,
    /// Its current step.
    pub step: JobStep,
    /// How far the step is, in LXD's words, while it reports it (an image download's
    /// `rootfs: 40% (12.30MB/s)`).
    pub progress: Option<String>,
    /// Whether it is finished.
    pub finished: bool,
    /// Why it failed, in LXD's words where LXD said.
    pub error: Option<String>,
}

/// The kinds of event in a job's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobEventKind {
    /// The job changed and is still running.
    Progress,
    /// The job ended; the stream ends after this event.
    Finished,
    /// The server could not read the job; `data` is the error envelope
    /// (`{"error": {"code", "message"}}`) and the stream ends after this event.
    Error,
}

/// One server-sent event of `GET /api/v1/jobs/{id}/events`, as OpenAPI describes an event
/// stream: by its events' fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobEvent {
    /// `progress` while the job runs, then one `finished` (or one `error`).
    pub event: JobEventKind,
    /// For `progress` and `finished`, the whole job as `GET /api/v1/jobs/{id}` returns it; for
    /// `error`, the error envelope; as JSON text.
    pub data: String,
}

/// `GET /api/v1/jobs`: which jobs, and which page of them (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only this deployment's.
    pub deployment_id: Option<DeploymentId>,
    /// Items per page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page.
    #[param(max_length = 400)]
    pub cursor: Option<String>,
}
