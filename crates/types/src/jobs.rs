//! Jobs: long work (deploy, start, stop, delete) with per-instance progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{DeploymentId, HostId, InstanceId, JobId};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Create new instances.
    Deploy,
    /// Start every instance.
    Start,
    /// Stop every instance.
    Stop,
    /// Stop and delete every instance, then the deployment.
    Delete,
    /// Stop and delete chosen instances (scale down).
    Remove,
}

impl JobKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Deploy => "deploy",
            JobKind::Start => "start",
            JobKind::Stop => "stop",
            JobKind::Delete => "delete",
            JobKind::Remove => "remove",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "deploy" => JobKind::Deploy,
            "start" => JobKind::Start,
            "stop" => JobKind::Stop,
            "delete" => JobKind::Delete,
            "remove" => JobKind::Remove,
            _ => return None,
        })
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a server to claim it.
    Queued,
    /// Being worked on.
    Running,
    /// Every instance succeeded.
    Succeeded,
    /// At least one instance failed (each item says why).
    Failed,
}

impl JobState {
    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            _ => JobState::Failed,
        }
    }

    /// Whether the job has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
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
    /// Its current step: `queued`, `creating`, `starting`, `checking`, `stopping`, `deleting`, `done`, `failed`.
    pub step: String,
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
}

/// One server-sent event of `GET /api/v1/jobs/{id}/events`, as OpenAPI describes an event
/// stream: by its events' fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobEvent {
    /// `progress` while the job runs, then one `finished`.
    pub event: JobEventKind,
    /// The whole job, as `GET /api/v1/jobs/{id}` returns it, as JSON text.
    pub data: String,
}
