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
use crate::cache::{Change, Known};
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
    /// The images of each host the job touches, listed once, when first needed.
    pub images: HashMap<HostId, tokio::sync::OnceCell<Vec<lxd::Image>>>,
    /// Steps recorded and not yet written.
    pub steps: PendingSteps,
}

impl JobContext {
    /// The LXD client of a host.
    pub fn client(&self, host: HostId) -> Result<lxd::Client, String> {
        let host = self.hosts.get(&host).ok_or("the host is no longer registered")?;
        self.state.hosts.get(host, &self.state.identity).map_err(|e| format!("{e:#}"))
    }

    /// The fingerprint of the image `reference` (an alias or a fingerprint prefix) names on a host,
    /// from one list call per job and host; `None` if the host cannot tell.
    pub async fn fingerprint(&self, host: HostId, reference: &str) -> Option<String> {
        let list = || async { self.client(host)?.images().await.map_err(|e| e.to_string()) };
        let images = self.images.get(&host)?.get_or_try_init(list).await.ok()?;
        images.iter().find(|i| i.matches(reference)).map(|i| i.fingerprint.clone())
    }

    /// Records an item's step for people watching. It is not written here: the job's step writer
    /// writes every step recorded since its last write in one statement, so a job's dozens of
    /// steps cost a handful of writes, and the work never waits for them.
    pub fn step(&self, instance: InstanceId, step: &'static str) {
        self.steps.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(instance, step);
        self.steps.wake.notify_one();
    }

    /// Records an item's outcome (it finished, with an error or not) and, for a started
    /// instance, cloud-init's verdict, in one transaction; then tells event streams.
    async fn record(
        &self,
        instance: InstanceId,
        step: &str,
        error: Option<String>,
        verdict: Option<steps::Verdict>,
    ) {
        let job = self.job.id;
        let step = step.to_owned();
        // An outcome must not be lost to a passing failure (a dropped connection, a lock
        // conflict PostgreSQL resolved by aborting this transaction): try it a few times.
        for attempt in 1..=3 {
            let (step, error, verdict) = (step.clone(), error.clone(), verdict.clone());
            let written = db::progress(&self.state.pool, move |conn| {
                // A phone-home may have marked it ready meanwhile; "pending" must not undo that.
                if let Some((readiness, detail)) = verdict.filter(|(r, _)| *r != "pending") {
                    Instance::set_readiness(conn, instance, readiness, detail.as_deref())?;
                }
                Ok(Job::finish_item(conn, job, instance, &step, error.as_deref())?)
            })
            .await;
            match written {
                Ok(()) => break,
                Err(e) => tracing::error!(error = ?e, %job, attempt, "cannot record an item's outcome"),
            }
        }
        self.state.overview.invalidate();
        self.state.jobs.changed(job);
    }
}

/// Steps recorded and not yet written (see [`JobContext::step`]).
#[derive(Debug, Default)]
pub struct PendingSteps {
    pending: std::sync::Mutex<HashMap<InstanceId, &'static str>>,
    wake: tokio::sync::Notify,
}

/// Writes a job's steps as they come, all those recorded meanwhile in each write; runs until the
/// job's work ends (steps still unwritten then are moot: every item has its outcome).
async fn write_steps(ctx: Arc<JobContext>) {
    loop {
        ctx.steps.wake.notified().await;
        let batch: Vec<(InstanceId, &'static str)> =
            std::mem::take(&mut *ctx.steps.pending.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        if batch.is_empty() {
            continue;
        }
        let job = ctx.job.id;
        let written =
            db::progress(&ctx.state.pool, move |conn| Ok(Job::update_steps(conn, job, &batch)?)).await;
        match written {
            Ok(()) => {
                ctx.state.overview.invalidate();
                ctx.state.jobs.changed(job);
            }
            Err(e) => tracing::warn!(error = ?e, %job, "cannot record job steps"),
        }
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
        images: touched.iter().map(|h| (h.id, tokio::sync::OnceCell::new())).collect(),
        steps: PendingSteps::default(),
        job,
    });
    let step_writer = tokio::spawn(write_steps(ctx.clone()));

    let total = items.len();
    let pending: Vec<JobItem> = items.into_iter().filter(|i| !i.finished).collect();
    // A job taken over from a server that died: what that server did is known only to LXD.
    let resumed = pending.len() < total;
    let work = pending.into_iter().map(|item| (item.host_id, item));
    // LXD changes run under the per-host bound; a readiness check (waiting on the guest, which costs
    // LXD nothing) runs after, outside it, so it never holds back other instances' changes.
    let checks = std::sync::Mutex::new(Vec::new());
    let outcomes = state
        .limiter
        .run(work, |item| {
            let ctx = ctx.clone();
            let checks = &checks;
            async move {
                let outcome = steps::run_item(&ctx, &item).await;
                let changed = outcome.is_ok();
                match outcome {
                    Ok(steps::Then::Done) => ctx.record(item.instance_id, "done", None, None).await,
                    Ok(steps::Then::CheckReadiness { image }) => {
                        let ctx = ctx.clone();
                        let item = item.clone();
                        let check = tokio::spawn(async move {
                            match steps::check_readiness(&ctx, &item, image).await {
                                Ok(verdict) => {
                                    ctx.record(item.instance_id, "done", None, Some(verdict)).await;
                                }
                                Err(e) => ctx.record(item.instance_id, "failed", Some(e), None).await,
                            }
                        });
                        checks.lock().unwrap_or_else(|e| e.into_inner()).push(check);
                    }
                    Err(e) => ctx.record(item.instance_id, "failed", Some(e), None).await,
                }
                (item, changed)
            }
        })
        .await;
    let checks = std::mem::take(&mut *checks.lock().unwrap_or_else(|e| e.into_inner()));
    for check in checks {
        if let Err(e) = check.await {
            tracing::error!(error = %e, "a readiness check panicked");
        }
    }
    step_writer.abort();
    show_outcomes(state, &ctx, &touched, &outcomes, resumed).await;
    if matches!(kind, JobKind::Delete) {
        finish_deletion(state, &ctx.job).await?;
    }
    Ok(())
}

/// Makes what the job did show in the overview by the time the job reports finished. Where every
/// item succeeded, the job knows the outcome and patches the host cache without asking LXD; a host
/// with a failed item (perhaps it went away) or nothing to patch is re-listed now. The background
/// poller is woken for memory and addresses. A resumed job re-lists every host it touched.
async fn show_outcomes(
    state: &AppState,
    ctx: &JobContext,
    touched: &[Host],
    outcomes: &[(JobItem, bool)],
    resumed: bool,
) {
    let now = match ctx.kind {
        JobKind::Deploy if !ctx.job.then_start => Some(lxd::StatusCode::STOPPED),
        JobKind::Deploy | JobKind::Start => Some(lxd::StatusCode::RUNNING),
        JobKind::Stop => Some(lxd::StatusCode::STOPPED),
        JobKind::Delete | JobKind::Remove => None,
    };
    let mut uncertain: Vec<HostId> = Vec::new();
    let mut changes: HashMap<HostId, Vec<Change>> = HashMap::new();
    for (item, changed) in outcomes {
        if !changed {
            uncertain.push(item.host_id);
            continue;
        }
        let known = now.map(|status_code| Known {
            status_code,
            deployment: ctx.job.deployment_id.map(|d| d.to_string()).unwrap_or_default(),
            instance: item.instance_id.to_string(),
        });
        changes
            .entry(item.host_id)
            .or_default()
            .push(Change { name: item.instance_name.clone(), now: known });
    }
    for (host, changes) in changes {
        if !state.cache.apply(host, changes) {
            uncertain.push(host);
        }
    }
    let relist: Vec<Host> =
        touched.iter().filter(|h| resumed || uncertain.contains(&h.id)).cloned().collect();
    if !relist.is_empty() {
        state.cache.refresh(state, &relist).await;
    }
    state.overview.invalidate();
    state.cache.poke();
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
