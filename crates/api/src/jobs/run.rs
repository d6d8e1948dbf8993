//! Running one claimed job: every item through its steps, fanned out over the hosts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mosaic_db::models::cloud_configs::Revision;
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::{Claim, Hold, Job, JobItem};
use mosaic_types::instances::Readiness;
use mosaic_types::jobs::{JobKind, JobStep};
use mosaic_types::{CloudConfigId, HostId, InstanceId};
use tokio_util::sync::CancellationToken;

use super::claim::Held;
use super::readiness::{JobImageFacts, Verdict};
use super::{Error, steps};
use crate::cache::{Change, Known};
use crate::db;
use crate::placement::Slot;
use crate::state::AppState;

/// Everything a job's items need, loaded once.
pub struct JobContext {
    /// Shared state.
    pub state: AppState,
    /// The job.
    pub job: Job,
    /// What it does.
    pub kind: JobKind,
    /// This process's claim on the job: every write goes through it.
    pub held: Arc<Held>,
    /// Instances by ID (absent: already deleted).
    pub instances: HashMap<InstanceId, Instance>,
    /// Hosts by ID.
    pub hosts: HashMap<HostId, Host>,
    /// Cloud-config revisions used by the instances (and those they are recreated at).
    pub revisions: HashMap<(CloudConfigId, i32), Revision>,
    /// The revision the deployment pins for each of its cloud-configs.
    pub pinned: HashMap<CloudConfigId, i32>,
    /// The images of each host the job touches, listed once, when first needed.
    pub images: HashMap<HostId, tokio::sync::OnceCell<Vec<lxd::Image>>>,
    /// What this job learnt about images (see [`super::readiness::ImageFacts`]).
    pub image_facts: JobImageFacts,
    /// Which image each instance is made from, and the pulls from image servers (see
    /// [`super::images`]).
    pub job_images: super::images::JobImages,
    /// Steps recorded and not yet written.
    steps: PendingSteps,
}

impl JobContext {
    /// The LXD client of a host.
    pub fn client(&self, host: HostId) -> Result<lxd::Client, Error> {
        let host =
            self.hosts.get(&host).ok_or_else(|| Error::Gone("the host is no longer registered".into()))?;
        self.state.hosts.get(host, &self.state.identity).map_err(|e| Error::Refused(format!("{e:#}")))
    }

    /// The fingerprint of the image `reference` (an alias or a fingerprint prefix) names on a host,
    /// from one list call per job and host; `None` if the host cannot tell.
    pub async fn fingerprint(&self, host: HostId, reference: &str) -> Option<String> {
        let list = || async { Ok::<_, Error>(self.client(host)?.images().await?) };
        let images = self.images.get(&host)?.get_or_try_init(list).await.ok()?;
        images.iter().find(|i| i.matches(reference)).map(|i| i.fingerprint.clone())
    }

    /// Whether the job starts the containers it creates (a deploy with `start`, a recreate):
    /// their creation is then recorded with the start.
    pub fn starts_what_it_creates(&self) -> bool {
        self.job.then_start || matches!(self.kind, JobKind::Recreate | JobKind::Heal | JobKind::Rollout)
    }

    /// Records an item's step for people watching. It is not written here: the job's step writer
    /// writes every step recorded since its last write in one statement, so a job's dozens of
    /// steps cost a handful of writes, and the work never waits for them.
    pub fn step(&self, instance: InstanceId, step: JobStep) {
        self.steps.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(instance, step);
        self.steps.wake.notify_one();
    }

    /// Records an item's outcome (it finished, with an error or not) and, for a started
    /// instance, cloud-init's verdict, in one transaction; then tells event streams. A verdict
    /// of `pending` is not written (a phone-home may have marked the instance ready meanwhile).
    pub(super) async fn record(
        &self,
        instance: InstanceId,
        outcome: Result<Option<Verdict>, Error>,
    ) -> Result<(), Error> {
        let job = self.job.id;
        let (step, error, verdict) = match outcome {
            Ok(verdict) => (JobStep::Done, None, verdict.filter(|(r, _)| *r != Readiness::Pending)),
            Err(e) => (JobStep::Failed, Some(e.to_string()), None),
        };
        let decided = verdict.is_some();
        self.held
            .write(Hold::Exclusive, move |conn| {
                if let Some((readiness, detail)) = &verdict {
                    Instance::set_readiness(conn, instance, *readiness, detail.as_deref())?;
                    if *readiness == Readiness::Ready {
                        Instance::healed(conn, instance)?;
                    }
                }
                Job::finish_item(conn, job, instance, step, error.as_deref())
            })
            .await?;
        self.state.metrics.item_finished(self.kind.as_str(), step.as_str());
        if decided {
            // A verdict decides whether the instance may be put in rotation: at once, not at the
            // load balancer's next look.
            self.state.routing.wake();
        }
        self.state.jobs.changed(job);
        Ok(())
    }
}

/// Steps recorded and not yet written (see [`JobContext::step`]).
#[derive(Debug, Default)]
struct PendingSteps {
    pending: Mutex<HashMap<InstanceId, JobStep>>,
    wake: tokio::sync::Notify,
}

/// Writes a job's steps as they come, all those recorded meanwhile in each write; runs until the
/// job's work ends (steps still unwritten then are moot: every item has its outcome).
pub(super) async fn write_steps(ctx: Arc<JobContext>) {
    loop {
        ctx.steps.wake.notified().await;
        let batch: Vec<(InstanceId, JobStep)> =
            std::mem::take(&mut *ctx.steps.pending.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        if batch.is_empty() {
            continue;
        }
        let claim = ctx.held.claim.clone();
        let written: Result<(), db::Error> =
            db::progress(&ctx.state.pool, move |conn| Ok(claim.update_steps(conn, &batch)?)).await;
        match written {
            Ok(()) => ctx.state.jobs.changed(ctx.job.id),
            Err(e) => tracing::warn!(error = %e, job = %ctx.job.id, "cannot record job steps"),
        }
    }
}

/// How a job's run ended.
enum Ended {
    /// Its work is done (items may have failed); `error` is a whole-job failure.
    Done { error: Option<String> },
    /// Another process holds the job now: nothing more is written.
    Lost,
    /// This process is shutting down and the grace period ran out: the job goes back to the queue.
    Interrupted,
}

/// Runs a claimed job to its end, with a heartbeat while it runs; `shutdown` is this server
/// stopping: no item starts after it, and those running get the configured grace period.
///
/// Its span names the job, and once it is loaded its kind and deployment: every line logged
/// while it runs (its items' spans nest inside) says which job it belongs to.
#[tracing::instrument(skip_all, fields(job = %claim.job, attempt = claim.attempt,
    kind = tracing::field::Empty, deployment = tracing::field::Empty))]
pub async fn execute(state: AppState, claim: Claim, shutdown: CancellationToken) {
    let id = claim.job;
    let started = std::time::Instant::now();
    let held = Arc::new(Held::new(&state, claim));
    let heartbeat = tokio::spawn(held.clone().beat(state.settings.job_stale_after / 4));
    let (kind, ended) = run(&state, &held, &shutdown).await;
    heartbeat.abort();
    let outcome = match &ended {
        Ended::Done { .. } => None,
        Ended::Lost => Some("lost"),
        Ended::Interrupted => Some("interrupted"),
    };
    let settled = match ended {
        Ended::Done { error } => held.settle(move |claim, conn| claim.finish(conn, error.as_deref())).await,
        Ended::Interrupted => {
            tracing::info!(job = %id, "shutting down: giving the job back to the queue");
            held.settle(|claim, conn| claim.release(conn)).await
        }
        Ended::Lost => Ok(false),
    };
    let outcome = match settled {
        Ok(true) => match outcome {
            Some(outcome) => outcome,
            // How it ended is the database's verdict (items finished by an earlier attempt count).
            None => match db::query(&state.pool, move |conn| Job::find(conn, id)).await {
                Ok(job) => job.state.as_str(),
                Err(_) => "unrecorded",
            },
        },
        Ok(false) => {
            tracing::warn!(job = %id, "the job was taken over by another server; this one stopped");
            "lost"
        }
        Err(e) => {
            tracing::error!(job = %id, error = %e, "cannot record the end of a job");
            "unrecorded"
        }
    };
    if let Some(kind) = kind {
        state.metrics.job_finished(kind.as_str(), outcome, started.elapsed());
    }
    state.jobs.changed(id);
}

/// Runs the job; also returns its kind once it is known.
async fn run(state: &AppState, held: &Arc<Held>, shutdown: &CancellationToken) -> (Option<JobKind>, Ended) {
    let ctx = match load(state, held.clone()).await {
        Ok(ctx) => Arc::new(ctx),
        Err(e) => {
            tracing::error!(job = %held.claim.job, error = %e, "cannot load a claimed job");
            return (None, Ended::Done { error: Some(format!("cannot load the job: {e}")) });
        }
    };
    let span = tracing::Span::current();
    span.record("kind", ctx.kind.as_str());
    span.record("deployment", ctx.job.deployment_name.as_str());
    (Some(ctx.kind), work_to_end(state, &ctx, held, shutdown).await)
}

async fn work_to_end(
    state: &AppState,
    ctx: &Arc<JobContext>,
    held: &Arc<Held>,
    shutdown: &CancellationToken,
) -> Ended {
    let step_writer = tokio::spawn(write_steps(ctx.clone()));
    let work = async {
        match ctx.kind {
            JobKind::Rollout => super::rollout::drive(state, held, shutdown).await,
            _ => work(state, ctx, shutdown).await,
        }
    };
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(state.settings.shutdown_grace).await;
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        () = held.lost().cancelled() => Err(Error::ClaimLost),
        () = grace => Ok(None),
    };
    step_writer.abort();
    match outcome {
        Err(Error::ClaimLost) => Ended::Lost,
        // The work was cut short by a shutdown; what finished is recorded, the rest re-runs.
        Ok(None) => Ended::Interrupted,
        Ok(Some(_)) if shutdown.is_cancelled() => Ended::Interrupted,
        Ok(Some(outcomes)) => {
            show_outcomes(state, ctx, &outcomes).await;
            let error = match ctx.kind {
                JobKind::Delete => finish_deletion(state, &ctx.job).await.err().map(|e| e.to_string()),
                _ => None,
            };
            Ended::Done { error }
        }
        Err(e) => Ended::Done { error: Some(e.to_string()) },
    }
}

/// Loads what the job's items need.
pub(super) async fn load(state: &AppState, held: Arc<Held>) -> Result<JobContext, Error> {
    let id = held.claim.job;
    let (job, items, instances, hosts, revisions, pinned, recorded) = db::run(&state.pool, move |conn| {
        let job = Job::find(conn, id)?;
        let items = Job::items(conn, id)?;
        let ids: Vec<InstanceId> = items.iter().map(|i| i.instance_id).collect();
        let (instances, pinned, recorded): (Vec<Instance>, HashMap<CloudConfigId, i32>, _) = match job
            .deployment_id
        {
            Some(d) => (
                Instance::for_deployments(conn, &[d])?.into_iter().filter(|i| ids.contains(&i.id)).collect(),
                Deployment::members(conn, &[d])?
                    .into_iter()
                    .map(|m| (m.cloud_config_id, m.revision))
                    .collect(),
                Instance::images_of(conn, d)?,
            ),
            None => (Vec::new(), HashMap::new(), Vec::new()),
        };
        let mut revisions = HashMap::new();
        let wanted = instances
            .iter()
            .map(|i| (i.cloud_config_id, i.revision))
            .chain(pinned.iter().map(|(cc, revision)| (*cc, *revision)));
        for key in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = revisions.entry(key) {
                slot.insert(Revision::find(conn, key.0, key.1)?);
            }
        }
        let hosts = Host::all(conn)?;
        Ok::<_, Error>((job, items, instances, hosts, revisions, pinned, recorded))
    })
    .await?;
    let touched: Vec<HostId> =
        hosts.iter().filter(|h| items.iter().any(|i| i.host_id == h.id)).map(|h| h.id).collect();
    Ok(JobContext {
        state: state.clone(),
        kind: job.kind,
        held,
        instances: instances.into_iter().map(|i| (i.id, i)).collect(),
        hosts: hosts.into_iter().map(|h| (h.id, h)).collect(),
        revisions,
        pinned,
        images: touched.iter().map(|h| (*h, tokio::sync::OnceCell::new())).collect(),
        image_facts: JobImageFacts::default(),
        job_images: super::images::JobImages::new(recorded),
        steps: PendingSteps::default(),
        job,
    })
}

/// What the job did to each item it worked on: the item, and whether its LXD change was made.
pub(super) type Outcomes = Vec<(JobItem, bool)>;

/// Works every unfinished item. LXD changes run under the per-host bound; a readiness check
/// (waiting on the guest, which costs LXD nothing) runs after, outside it, so it never holds back
/// other instances' changes. `None` when shutdown stopped it before all items were worked.
async fn work(
    state: &AppState,
    ctx: &Arc<JobContext>,
    shutdown: &CancellationToken,
) -> Result<Option<Outcomes>, Error> {
    let id = ctx.job.id;
    let items = db::run(&state.pool, move |conn| Ok::<_, Error>(Job::items(conn, id)?)).await?;
    let total = items.len();
    let pending: Vec<JobItem> = items.into_iter().filter(|i| !i.finished).collect();
    // A job taken over from a server that died: what that server did is known only to LXD.
    let resumed = pending.len() < total || ctx.held.claim.attempt > 1;
    let checks = Mutex::new(tokio::task::JoinSet::new());
    // The bound is per host, and per member on a cluster (each member is a machine of its own).
    let slot = |item: &JobItem| Slot {
        host: item.host_id,
        member: ctx.instances.get(&item.instance_id).and_then(|i| i.location.clone()),
    };
    let results = state
        .limiter
        .run(pending.into_iter().map(|item| (slot(&item), item)), |item| {
            let ctx = ctx.clone();
            let checks = &checks;
            async move {
                if shutdown.is_cancelled() {
                    return Ok(None);
                }
                let outcome = steps::run_item(&ctx, &item).await;
                let changed = outcome.is_ok();
                match outcome {
                    Ok(steps::Then::Done) => ctx.record(item.instance_id, Ok(None)).await?,
                    Ok(steps::Then::CheckReadiness { image }) => {
                        let (ctx, item) = (ctx.clone(), item.clone());
                        checks.lock().unwrap_or_else(|e| e.into_inner()).spawn(async move {
                            let verdict = steps::check_readiness(&ctx, &item, image).await;
                            ctx.record(item.instance_id, verdict.map(Some)).await
                        });
                    }
                    Err(Error::ClaimLost) => return Err(Error::ClaimLost),
                    Err(e) => ctx.record(item.instance_id, Err(e)).await?,
                }
                Ok(Some((item, changed)))
            }
        })
        .await;
    let mut checks = std::mem::take(&mut *checks.lock().unwrap_or_else(|e| e.into_inner()));
    while let Some(check) = checks.join_next().await {
        match check {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) => tracing::error!(error = %e, "a readiness check panicked"),
        }
    }
    let mut outcomes = Vec::with_capacity(results.len());
    for result in results {
        match result? {
            Some(outcome) => outcomes.push(outcome),
            None => return Ok(None),
        }
    }
    if resumed {
        // Re-list every host the job touched before it reports finished.
        let touched: Vec<Host> =
            ctx.hosts.values().filter(|h| ctx.images.contains_key(&h.id)).cloned().collect();
        state.cache.refresh(state, &touched).await;
    }
    Ok(Some(outcomes))
}

/// Makes what the job did show in the overview by the time the job reports finished. Where every
/// item succeeded, the job knows the outcome and patches the host cache without asking LXD; a host
/// with a failed item (perhaps it went away) or nothing to patch is re-listed now. The patch wakes
/// the state readers for the memory and addresses of containers it started; the lister is woken
/// to confirm the rest.
async fn show_outcomes(state: &AppState, ctx: &JobContext, outcomes: &[(JobItem, bool)]) {
    let now = match ctx.kind {
        JobKind::Deploy if !ctx.job.then_start => Some(lxd::StatusCode::STOPPED),
        JobKind::Deploy | JobKind::Start | JobKind::Restart | JobKind::Recreate | JobKind::Heal => {
            Some(lxd::StatusCode::RUNNING)
        }
        JobKind::Stop => Some(lxd::StatusCode::STOPPED),
        JobKind::Delete | JobKind::Remove | JobKind::Rollout => None,
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
    let relist: Vec<Host> = ctx.hosts.values().filter(|h| uncertain.contains(&h.id)).cloned().collect();
    if !relist.is_empty() {
        state.cache.refresh(state, &relist).await;
    }
    state.cache.poke();
}

/// Deletes the deployment once none of its instances remain; otherwise it stays `deleting`.
async fn finish_deletion(state: &AppState, job: &Job) -> Result<(), Error> {
    let Some(id) = job.deployment_id else { return Ok(()) };
    db::transaction(&state.pool, move |conn| {
        if Instance::count_for(conn, id)? == 0 {
            Deployment::delete(conn, id)?;
        }
        Ok(())
    })
    .await
}
