//! Long work — deploy, start, stop, delete, remove — run as jobs.
//!
//! A request that starts work writes the job and one item per instance in the same transaction as
//! any instance rows, answers `202 Accepted`, and wakes the runner. Any server process sharing the
//! database may claim the job (`FOR UPDATE SKIP LOCKED`), exactly one does, and it holds the claim
//! (worker and attempt, see [`claim`]) with a heartbeat; if the heartbeat stops (the process died),
//! another claims the job and finishes it, and the first one's writes are refused from then on.
//! Every step is idempotent — it looks at what LXD has before acting — so finishing a job that
//! was half done is the same as running it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use diesel::PgConnection;
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::jobs::{Job as JobRow, JobItem as ItemRow, NewJob};
use mosaic_db::models::rollouts::Rollout as RolloutRow;
use mosaic_types::jobs::{Job, JobItem, JobKind, JobState, JobStep, Rollout};
use mosaic_types::{HostId, InstanceId, JobId};
use tokio::sync::{Notify, broadcast, watch};

use crate::db::QueryResultExt;
use crate::error::ApiError;

pub mod claim;
mod error;
pub mod images;
pub mod readiness;
pub mod rollout;
pub mod rotation;
pub mod run;
pub mod runner;
pub mod steps;
pub mod userdata;

pub use error::Error;

/// Signals between requests, the runner and event streams of one server process.
#[derive(Debug)]
pub struct JobSignals {
    /// Wakes the runner when a job was queued here.
    pub wake: Notify,
    /// Announces that a job changed (event streams listen).
    pub progress: broadcast::Sender<JobId>,
    /// Counts changes, so readers can tell whether anything changed since they last looked.
    generation: AtomicU64,
    /// The jobs this process is running now.
    running: watch::Sender<HashSet<JobId>>,
    /// How many sweeps (deletion retries and healing) this process's runner has finished.
    sweeps: watch::Sender<u64>,
}

impl Default for JobSignals {
    fn default() -> Self {
        JobSignals {
            wake: Notify::new(),
            progress: broadcast::channel(1024).0,
            generation: AtomicU64::new(0),
            running: watch::channel(HashSet::new()).0,
            sweeps: watch::channel(0).0,
        }
    }
}

impl JobSignals {
    /// Tells listeners that a job changed.
    pub fn changed(&self, id: JobId) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        // Nobody listening is fine.
        let _ = self.progress.send(id);
    }

    /// How many changes have been announced.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The jobs this process is running now.
    pub fn running(&self) -> HashSet<JobId> {
        self.running.borrow().clone()
    }

    /// Waits until this process no longer runs `id` (it finished it, gave it back, or stopped
    /// because another process took it over).
    pub async fn until_not_running(&self, id: JobId) {
        let mut running = self.running.subscribe();
        // The sender lives as long as `self`, so this only ends when the condition holds.
        let _ = running.wait_for(|jobs| !jobs.contains(&id)).await;
    }

    /// Waits until the runner has finished `n` more sweeps (deletion retries and healing) from
    /// now: whatever they would have done by then, they have done.
    pub async fn sweeps(&self, n: u64) {
        let mut sweeps = self.sweeps.subscribe();
        let target = *sweeps.borrow_and_update() + n;
        let _ = sweeps.wait_for(|done| *done >= target).await;
    }

    pub(crate) fn swept(&self) {
        self.sweeps.send_modify(|n| *n += 1);
    }

    pub(crate) fn set_running(&self, id: JobId, running: bool) {
        self.running.send_modify(|jobs| {
            if running {
                jobs.insert(id);
            } else {
                jobs.remove(&id);
            }
        });
    }
}

/// An instance a job will work on.
#[derive(Debug, Clone)]
pub struct Target {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its name.
    pub name: String,
    /// Its host.
    pub host_id: HostId,
    /// The host's name.
    pub host_name: String,
}

impl Target {
    /// The target for an instance, with its host's name looked up in `hosts`.
    pub fn new(instance_id: InstanceId, name: &str, host_id: HostId, hosts: &[Host]) -> Self {
        let host_name = hosts.iter().find(|h| h.id == host_id).map(|h| h.name.clone()).unwrap_or_default();
        Target { instance_id, name: name.to_owned(), host_id, host_name }
    }
}

/// Queues a job for a deployment. Refused with 409 while another job of the deployment is
/// unfinished (jobs on one deployment run one at a time, in order: a start queued behind a deploy
/// would otherwise race it).
pub fn enqueue(
    conn: &mut PgConnection,
    deployment: &Deployment,
    kind: JobKind,
    targets: &[Target],
    created_by: &str,
    then_start: bool,
) -> Result<JobRow, ApiError> {
    if let Some(active) = JobRow::active_for(conn, deployment.id)? {
        return Err(busy(&deployment.name, Some(&active)));
    }
    let id = JobId::new();
    let items: Vec<ItemRow> = targets
        .iter()
        .map(|t| ItemRow {
            job_id: id,
            instance_id: t.instance_id,
            instance_name: t.name.clone(),
            host_id: t.host_id,
            host_name: t.host_name.clone(),
            step: JobStep::Queued,
            finished: false,
            error: None,
            updated_at: Utc::now(),
            progress: None,
        })
        .collect();
    let new = NewJob {
        id,
        deployment_id: deployment.id,
        deployment_name: &deployment.name,
        kind,
        state: JobState::Queued,
        then_start,
        total: i32::try_from(items.len()).unwrap_or(i32::MAX),
        created_by,
    };
    // Another request may queue one between the check and the insert: the partial unique index
    // refuses the second.
    JobRow::create(conn, &new, &items)
        .or_conflict("job_in_progress", || busy(&deployment.name, None).to_string())
}

fn busy(deployment: &str, active: Option<&JobRow>) -> ApiError {
    let message = match active {
        Some(active) => format!(
            "deployment {deployment} already has a {} job in progress ({}); wait for it to finish",
            active.kind, active.id
        ),
        None => format!("deployment {deployment} already has a job in progress"),
    };
    ApiError::Conflict { code: "job_in_progress", message }
}

/// A job in wire form.
pub fn to_wire(job: JobRow, items: Vec<ItemRow>) -> Job {
    Job {
        id: job.id,
        deployment_id: job.deployment_id,
        deployment_name: job.deployment_name,
        kind: job.kind,
        state: job.state,
        total: job.total,
        done: job.done,
        failed: job.failed,
        error: job.error,
        created_by: job.created_by,
        created_at: job.created_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
        items: items
            .into_iter()
            .map(|i| JobItem {
                instance_id: i.instance_id,
                instance_name: i.instance_name,
                host_id: i.host_id,
                host_name: i.host_name,
                // What a step reported is shown while the item is in that step.
                progress: i.progress.filter(|_| i.step == JobStep::Downloading && !i.finished),
                step: i.step,
                finished: i.finished,
                error: i.error,
            })
            .collect(),
        rollout: None,
    }
}

/// A rollout's record in wire form.
pub fn rollout_to_wire(r: RolloutRow) -> Rollout {
    Rollout {
        cloud_config_id: r.cloud_config_id,
        from_revision: r.from_revision,
        to_revision: r.to_revision,
        count: r.target_count,
        max_surge: r.max_surge,
        max_unavailable: r.max_unavailable,
        min_ready_seconds: r.min_ready_seconds,
        progress_deadline_seconds: r.progress_deadline_seconds,
        pause_after_canary: r.pause_after_canary,
        phase: r.phase,
        old: r.old_count,
        new: r.new_count,
        ready: r.ready_count,
        peak: r.peak_count,
        deadline_at: r.deadline_at,
    }
}

/// Adds their rollout to the rollout jobs among `jobs`.
pub fn with_rollouts(conn: &mut PgConnection, mut jobs: Vec<Job>) -> Result<Vec<Job>, ApiError> {
    let ids: Vec<JobId> = jobs.iter().filter(|j| j.kind == JobKind::Rollout).map(|j| j.id).collect();
    if ids.is_empty() {
        return Ok(jobs);
    }
    let mut rollouts: std::collections::HashMap<JobId, RolloutRow> =
        RolloutRow::for_jobs(conn, &ids)?.into_iter().map(|r| (r.job_id, r)).collect();
    for job in &mut jobs {
        job.rollout = rollouts.remove(&job.id).map(rollout_to_wire);
    }
    Ok(jobs)
}

/// Loads a job with its items, or 404.
pub fn load(conn: &mut PgConnection, id: JobId) -> Result<Job, ApiError> {
    let job = JobRow::find(conn, id).or_not_found("job_not_found", || format!("no job with id {id}"))?;
    let items = JobRow::items(conn, id)?;
    let mut jobs = with_rollouts(conn, vec![to_wire(job, items)])?;
    jobs.pop().ok_or_else(|| anyhow::anyhow!("job {id} vanished while it was read").into())
}
