//! Running one claimed job: every item through its steps, fanned out over the hosts.

use std::collections::HashMap;
use std::sync::Arc;

use mosaic_db::models::cloud_configs::Revision;
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::{Job, JobItem};
use mosaic_types::jobs::JobKind;
use mosaic_types::{CloudConfigId, HostId, InstanceId, JobId};

use super::steps;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Everything a job's items need, loaded once.
pub struct JobContext {
    /// Shared state.
    pub state: AppState,
    /// The job.
    pub job: Job,
    /// What it does.
    pub kind: JobKind,
    /// Instances by ID (absent: already deleted).
    pub instances: HashMap<InstanceId, Instance>,
    /// Hosts by ID.
    pub hosts: HashMap<HostId, Host>,
    /// Cloud-config revisions used by the instances.
    pub revisions: HashMap<(CloudConfigId, i32), Revision>,
}

impl JobContext {
    /// The LXD client of a host.
    pub fn client(&self, host: HostId) -> Result<lxd::Client, String> {
        let host = self.hosts.get(&host).ok_or("the host is no longer registered")?;
        self.state.hosts.get(host, &self.state.identity).map_err(|e| format!("{e:#}"))
    }

    /// Records an item's step (and tells event streams) without waiting for the write: the step is
    /// for people watching, and holding the host's slot for it would slow the work itself.
    pub async fn step(&self, instance: InstanceId, step: &'static str) {
        let (state, job) = (self.state.clone(), self.job.id);
        tokio::spawn(async move {
            let written =
                db::run(&state.pool, move |conn| Ok(Job::update_step(conn, job, instance, step)?)).await;
            match written {
                Ok(()) => {
                    state.overview.invalidate();
                    state.jobs.changed(job);
                }
                Err(e) => tracing::warn!(error = ?e, %job, "cannot record a job step"),
            }
        });
    }

    async fn record(&self, instance: InstanceId, step: &str, finished: bool, error: Option<String>) {
        let job = self.job.id;
        let step = step.to_owned();
        let written = db::run(&self.state.pool, move |conn| {
            Ok(Job::update_item(conn, job, instance, &step, finished, error.as_deref())?)
        })
        .await;
        if let Err(e) = written {
            tracing::error!(error = ?e, %job, "cannot record job progress");
        }
        self.state.overview.invalidate();
        self.state.jobs.changed(job);
    }
}

/// Runs a claimed job to its end, with a heartbeat while it runs.
pub async fn execute(state: AppState, id: JobId) {
    let heartbeat = tokio::spawn(beat(state.clone(), id));
    let outcome = run(&state, id).await;
    heartbeat.abort();
    let error = outcome.err().map(|e| {
        tracing::error!(job = %id, error = ?e, "job failed as a whole");
        match e {
            ApiError::Unexpected(_) => "internal error (logged)".to_owned(),
            other => other.to_string(),
        }
    });
    let finished = db::run(&state.pool, move |conn| Ok(Job::finish(conn, id, error.as_deref())?)).await;
    if let Err(e) = finished {
        tracing::error!(job = %id, error = ?e, "cannot record the end of a job");
    }
    state.overview.invalidate();
    state.jobs.changed(id);
}

/// Keeps the job's heartbeat fresh; a server that dies stops beating and the job is taken over.
async fn beat(state: AppState, id: JobId) {
    let every = state.settings.jobs.stale_after / 4;
    loop {
        tokio::time::sleep(every).await;
        let worker = state.worker.clone();
        match db::run(&state.pool, move |conn| Ok(Job::heartbeat(conn, id, &worker)?)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %id, "another server took this job over");
                return;
            }
            Err(e) => tracing::warn!(job = %id, error = ?e, "heartbeat failed"),
        }
    }
}

async fn run(state: &AppState, id: JobId) -> Result<(), ApiError> {
    let (job, items, context) = db::run(&state.pool, move |conn| {
        let job = Job::find(conn, id)?.ok_or_else(|| anyhow::anyhow!("claimed job {id} vanished"))?;
        let items = Job::items(conn, id)?;
        let ids: Vec<InstanceId> = items.iter().map(|i| i.instance_id).collect();
        let instances: Vec<Instance> = match job.deployment_id {
            Some(d) => {
                Instance::for_deployments(conn, &[d])?.into_iter().filter(|i| ids.contains(&i.id)).collect()
            }
            None => Vec::new(),
        };
        let mut revisions = HashMap::new();
        for i in &instances {
            let key = (i.cloud_config_id, i.revision);
            if let std::collections::hash_map::Entry::Vacant(slot) = revisions.entry(key) {
                slot.insert(Revision::find(conn, key.0, key.1)?);
            }
        }
        let hosts = Host::all(conn)?;
        Ok((job, items, (instances, hosts, revisions)))
    })
    .await?;
    let kind = JobKind::parse(&job.kind).ok_or_else(|| anyhow::anyhow!("unknown job kind {}", job.kind))?;
    let (instances, hosts, revisions) = context;
    let touched: Vec<Host> =
        hosts.iter().filter(|h| items.iter().any(|i| i.host_id == h.id)).cloned().collect();
    let ctx = Arc::new(JobContext {
        state: state.clone(),
        kind,
        instances: instances.into_iter().map(|i| (i.id, i)).collect(),
        hosts: hosts.into_iter().map(|h| (h.id, h)).collect(),
        revisions,
        job,
    });

    let pending: Vec<JobItem> = items.into_iter().filter(|i| !i.finished).collect();
    let work = pending.into_iter().map(|item| (item.host_id, item));
    // LXD changes run under the per-host bound; a readiness check (waiting on the guest, which costs
    // LXD nothing) runs after, outside it, so it never holds back other instances' changes.
    let checks = std::sync::Mutex::new(Vec::new());
    state
        .limiter
        .run(work, |item| {
            let ctx = ctx.clone();
            let checks = &checks;
            async move {
                match steps::run_item(&ctx, &item).await {
                    Ok(steps::Then::Done) => ctx.record(item.instance_id, "done", true, None).await,
                    Ok(steps::Then::CheckReadiness) => {
                        let ctx = ctx.clone();
                        let check = tokio::spawn(async move {
                            let error = steps::check_readiness(&ctx, &item).await.err();
                            let step = if error.is_some() { "failed" } else { "done" };
                            ctx.record(item.instance_id, step, true, error).await;
                        });
                        checks.lock().unwrap_or_else(|e| e.into_inner()).push(check);
                    }
                    Err(e) => ctx.record(item.instance_id, "failed", true, Some(e)).await,
                }
            }
        })
        .await;
    let checks = std::mem::take(&mut *checks.lock().unwrap_or_else(|e| e.into_inner()));
    for check in checks {
        if let Err(e) = check.await {
            tracing::error!(error = %e, "a readiness check panicked");
        }
    }

    // What the job did is what the overview shows once the job reports that it finished.
    state.cache.refresh(state, &touched).await;
    if matches!(kind, JobKind::Delete) {
        finish_deletion(state, &ctx.job).await?;
    }
    Ok(())
}

/// Deletes the deployment once none of its instances remain; otherwise it stays `deleting`.
async fn finish_deletion(state: &AppState, job: &Job) -> Result<(), ApiError> {
    let Some(id) = job.deployment_id else { return Ok(()) };
    db::transaction(&state.pool, move |conn| {
        if Instance::count_for(conn, id)? == 0 {
            Deployment::delete(conn, id)?;
        }
        Ok(())
    })
    .await
}
