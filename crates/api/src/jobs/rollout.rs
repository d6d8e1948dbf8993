//! Rolling a deployment's member out to another revision: new instances are made at the new
//! revision, and an old one goes only once enough new ones are available.
//!
//! Every step is decided from what is recorded — the member's instance rows (a row exists from
//! before its container is made until after LXD confirmed the container gone), their readiness,
//! and the job's items — never from counters kept in memory. So a server that dies mid-rollout
//! leaves nothing behind that the next one cannot see: the next claimer counts the same rows, so
//! it never makes more than the surge allows, and it never removes an old instance before enough
//! new ones are ready; an old instance on a host that does not answer keeps its row, so it is not
//! counted as gone.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::{Instance, NewInstance};
use mosaic_db::models::jobs::{Hold, Job, JobItem};
use mosaic_db::models::rollouts::Rollout;
use mosaic_db::models::routing::ExposedPort;
use mosaic_types::instances::{Lifecycle, Readiness};
use mosaic_types::jobs::{JobStep, RolloutPhase};
use mosaic_types::{HostId, InstanceId};
use tokio_util::sync::CancellationToken;

use super::claim::Held;
use super::run::{self, JobContext, Outcomes};
use super::{Error, steps};
use crate::db;
use crate::state::AppState;

/// How often a paused rollout looks whether it was resumed or aborted (the request may have
/// reached another server process).
const PAUSED_POLL: Duration = Duration::from_secs(1);

/// How long to wait, per look, for a ready new instance of an exposed member to be in rotation
/// before an old one may go.
const SERVING_WAIT: Duration = Duration::from_secs(30);

/// Where an instance is placed: its host and, on a cluster, its member.
type Place = (HostId, Option<String>);

/// The member's instances as the rollout sees them at one step.
struct Seen {
    rollout: Rollout,
    /// Old instances (at another revision).
    old: Vec<Instance>,
    /// New instances available: ready (or unjudgeable: no cloud-init) and, if this job made
    /// them, through their readiness, rotation and `min_ready_seconds` watch.
    ready: Vec<Instance>,
    /// New instances still being made or watched.
    pending: Vec<Instance>,
    /// New instances that failed, with why.
    failed: Vec<(Instance, String)>,
    /// Old instances this job could not remove, with why.
    stuck: Vec<(Instance, String)>,
    /// Whether the member is exposed through the load balancer.
    exposed: bool,
    /// Every instance of the member.
    total: usize,
}

impl Seen {
    fn available(&self) -> usize {
        self.old.iter().filter(|r| serves(r)).count() + self.ready.len()
    }
}

/// Whether an old instance counts as available (it may be serving).
fn serves(row: &Instance) -> bool {
    row.state == Lifecycle::Created && row.readiness != Readiness::Failed
}

/// Runs a claimed rollout job to its end. `Ok(None)`: shutdown interrupted it (it goes back to
/// the queue); `Err`: it failed (the message is the job's error).
pub(super) async fn drive(
    state: &AppState,
    held: &Arc<Held>,
    shutdown: &CancellationToken,
) -> Result<Option<Outcomes>, Error> {
    let job = held.claim.job;
    loop {
        if shutdown.is_cancelled() {
            return Ok(None);
        }
        let seen = look(state, job).await?;
        let r = &seen.rollout;
        let count = usize::try_from(r.target_count).unwrap_or(0);
        let (old, new, ready) = (seen.old.len(), seen.ready.len() + seen.pending.len(), seen.ready.len());
        let total = seen.total;
        held.write(Hold::Shared, move |c| {
            Rollout::set_counts(c, job, as_i32(old), as_i32(new), as_i32(ready), as_i32(total))
        })
        .await?;
        state.jobs.changed(job);

        if r.phase == RolloutPhase::Aborting {
            let removed = give_up(state, held, &seen, true).await?;
            finish_phase(state, held, RolloutPhase::Aborted).await?;
            return Err(Error::Refused(format!("the rollout was aborted; {removed}")));
        }
        if let Some((row, why)) = seen.failed.first() {
            let why = format!("new instance {} at revision {} failed: {why}", row.name, r.to_revision);
            let removed = give_up(state, held, &seen, false).await?;
            finish_phase(state, held, RolloutPhase::Failed).await?;
            return Err(Error::Refused(format!("{why}; {removed}")));
        }
        if let Some((row, why)) = seen.stuck.first() {
            let why = format!("old instance {} could not be removed: {why}", row.name);
            let removed = give_up(state, held, &seen, false).await?;
            finish_phase(state, held, RolloutPhase::Failed).await?;
            return Err(Error::Refused(format!("{why}; {removed}")));
        }
        if r.phase != RolloutPhase::Paused && Utc::now() > r.deadline_at {
            let why = format!(
                "no new instance became available within the progress deadline ({}s)",
                r.progress_deadline_seconds
            );
            let removed = give_up(state, held, &seen, false).await?;
            finish_phase(state, held, RolloutPhase::Failed).await?;
            return Err(Error::Refused(format!("{why}; {removed}")));
        }
        if seen.old.is_empty() && seen.pending.is_empty() && seen.ready.len() >= count {
            let (deployment, cc, revision) =
                (deployment_of(state, job).await?, r.cloud_config_id, r.to_revision);
            held.write(Hold::Shared, move |c| {
                Deployment::pin(c, deployment, cc, revision)?;
                Rollout::set_phase(c, job, RolloutPhase::Succeeded)
            })
            .await?;
            refresh_hosts(state).await;
            return Ok(Some(Vec::new()));
        }
        if r.pause_after_canary && !r.canary_passed && !seen.ready.is_empty() {
            if r.phase != RolloutPhase::Paused {
                held.write(Hold::Shared, move |c| Rollout::set_phase(c, job, RolloutPhase::Paused)).await?;
                state.jobs.changed(job);
                tracing::info!(job = %job, "rollout paused after its canary");
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(None),
                () = tokio::time::sleep(PAUSED_POLL) => {}
            }
            continue;
        }
        step(state, held, &seen, shutdown).await?;
    }
}

/// One step forward: removes the old instances that may go, else makes the new ones that may be
/// made and brings every unfinished new one up.
async fn step(
    state: &AppState,
    held: &Arc<Held>,
    seen: &Seen,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
    let r = &seen.rollout;
    let count = usize::try_from(r.target_count).unwrap_or(0);
    let floor = count.saturating_sub(usize::try_from(r.max_unavailable).unwrap_or(0));

    // A ready new instance of an exposed member counts once this server's load balancer has it
    // in rotation (the others admit it by their own health checks).
    let mut ready = seen.ready.clone();
    if seen.exposed {
        let mut serving = Vec::new();
        for row in ready {
            if state.routing.wait_serving(row.id, SERVING_WAIT).await {
                serving.push(row);
            }
        }
        ready = serving;
    }
    let mut available = seen.old.iter().filter(|r| serves(r)).count() + ready.len();

    // Old instances that may go: those not serving first, then as many as keep `floor` available.
    let mut old: Vec<&Instance> = seen.old.iter().collect();
    old.sort_by_key(|r| (serves(r), std::cmp::Reverse(surplus(seen, &place(r))), r.ordinal));
    let mut going = Vec::new();
    for row in old {
        if !serves(row) {
            going.push(row.clone());
        } else if available > floor {
            available -= 1;
            going.push(row.clone());
        }
    }
    if !going.is_empty() {
        let working = with_items(state, held, &going).await?;
        let outcomes = futures::future::join_all(going.iter().map(|row| {
            let (ctx, working) = (working.ctx.clone(), &working);
            async move {
                let item = working.item(row.id)?;
                let outcome = steps::take_down(&ctx, &item).await;
                if let Err(Error::ClaimLost) = outcome {
                    return Err(Error::ClaimLost);
                }
                ctx.record(row.id, outcome.map(|()| None)).await
            }
        }))
        .await;
        drop(working);
        return outcomes.into_iter().collect();
    }

    // New instances that may be made: within `count + max_surge` in all, `count` new.
    let surge = usize::try_from(r.max_surge).unwrap_or(0);
    let new = seen.ready.len() + seen.pending.len();
    let room = (count + surge).saturating_sub(seen.total).min(count.saturating_sub(new));
    let made = if room > 0 { make(state, held, seen, room).await? } else { Vec::new() };
    let mut bringing: Vec<Instance> = seen.pending.clone();
    bringing.extend(made);
    if bringing.is_empty() {
        // Nothing may move yet (a ready instance not yet in rotation): look again shortly.
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(PAUSED_POLL) => {}
        }
        return Ok(());
    }
    let working = with_items(state, held, &bringing).await?;
    let work = futures::future::join_all(bringing.iter().map(|row| {
        let (ctx, working) = (working.ctx.clone(), &working);
        let watch = Watch {
            exposed: seen.exposed,
            min_ready: Duration::from_secs(u64::try_from(r.min_ready_seconds).unwrap_or(0)),
            deadline: r.deadline_at,
        };
        async move { up(&ctx, working.item(row.id)?, watch).await }
    }));
    // The deadline is watched inside (an LXD change under way is never cut short: its container
    // would be left behind by a removal racing it); shutdown leaves the rest to the next claimer,
    // which finds what was made by its instance key.
    let outcomes = tokio::select! {
        outcomes = work => Some(outcomes),
        () = shutdown.cancelled() => None,
    };
    drop(working);
    let Some(outcomes) = outcomes else { return Ok(()) };
    for outcome in outcomes {
        outcome?;
    }
    // Progress (a failure is decided at the next look, whatever the deadline): the deadline
    // starts again.
    let (job, seconds) = (held.claim.job, r.progress_deadline_seconds);
    held.write(Hold::Shared, move |c| Rollout::extend_deadline(c, job, seconds)).await
}

/// What a new instance is watched for before it counts as available.
#[derive(Debug, Clone, Copy)]
struct Watch {
    /// Whether the member is exposed (the instance must be in rotation).
    exposed: bool,
    /// How long it must stay ready.
    min_ready: Duration,
    /// When the rollout's progress deadline passes.
    deadline: chrono::DateTime<Utc>,
}

impl Watch {
    /// What is left until the deadline.
    fn left(&self) -> Duration {
        (self.deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO)
    }

    /// The error of a wait the deadline cut short.
    fn late(&self, waiting: &str) -> Error {
        Error::Refused(format!("the progress deadline passed while waiting {waiting}"))
    }
}

/// Makes a new instance ready: creates and starts it, waits for cloud-init's verdict and, for an
/// exposed member, until it is in rotation, then watches it `min_ready` more; only then does its
/// item finish (a finished item is an available instance to the next look). A failure — or the
/// progress deadline passing during a wait — finishes the item with cloud-init's (or LXD's, or
/// the deadline's) words.
async fn up(ctx: &Arc<JobContext>, item: JobItem, watch: Watch) -> Result<(), Error> {
    let id = item.instance_id;
    let outcome = async {
        let then = steps::bring_up(ctx, &item).await?;
        if let steps::Then::CheckReadiness { image } = then {
            let check = steps::check_readiness(ctx, &item, image);
            let (readiness, detail) = tokio::time::timeout(watch.left(), check)
                .await
                .map_err(|_| watch.late("for cloud-init's verdict"))??;
            let written = (readiness != Readiness::Pending).then(|| (readiness, detail.clone()));
            ctx.held
                .write(Hold::Shared, move |c| match &written {
                    Some((readiness, detail)) => {
                        Instance::set_readiness(c, id, *readiness, detail.as_deref())
                    }
                    None => Ok(()),
                })
                .await?;
            ctx.state.routing.wake();
            let now = db::query(&ctx.state.pool, move |c| Instance::find(c, id)).await?;
            match now.readiness {
                Readiness::Ready | Readiness::Unknown => {}
                Readiness::Failed => {
                    return Err(Error::Refused(format!(
                        "its cloud-config failed: {}",
                        now.readiness_detail.unwrap_or_default()
                    )));
                }
                Readiness::Pending => {
                    return Err(Error::Refused(format!(
                        "cloud-init gave no verdict in time{}",
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    )));
                }
            }
        }
        if watch.exposed {
            ctx.step(id, JobStep::Checking);
            let timeout = ctx.state.settings.readiness_timeout.min(watch.left());
            if !ctx.state.routing.wait_serving(id, timeout).await {
                return Err(Error::Refused(
                    "it did not come into rotation: the load balancer's health check did not pass".into(),
                ));
            }
        }
        let min_ready = watch.min_ready;
        if !min_ready.is_zero() {
            if min_ready > watch.left() {
                tokio::time::sleep(watch.left()).await;
                return Err(watch.late(&format!("min_ready_seconds ({}s)", min_ready.as_secs())));
            }
            tokio::time::sleep(min_ready).await;
            let now = db::query(&ctx.state.pool, move |c| Instance::find(c, id)).await?;
            let client = ctx.client(now.host_id)?;
            let name = lxd::InstanceName::parse(&now.name).map_err(|e| Error::Refused(e.to_string()))?;
            let running =
                client.instance_opt(&name).await?.is_some_and(|i| i.status_code == lxd::StatusCode::RUNNING);
            if !running || now.readiness == Readiness::Failed {
                return Err(Error::Refused(format!(
                    "it did not stay ready for min_ready_seconds ({}s)",
                    min_ready.as_secs()
                )));
            }
        }
        Ok(())
    }
    .await;
    match outcome {
        Err(Error::ClaimLost) => Err(Error::ClaimLost),
        outcome => ctx.record(id, outcome.map(|()| None)).await,
    }
}

/// Removes the new instances that are not available (all new ones when `abort`ing, as long as
/// the old ones plus the remaining new ones keep `count − max_unavailable` available); the old
/// ones stay. Returns what it did, in words for the job's error.
async fn give_up(state: &AppState, held: &Arc<Held>, seen: &Seen, abort: bool) -> Result<String, Error> {
    let r = &seen.rollout;
    let count = usize::try_from(r.target_count).unwrap_or(0);
    let floor = count.saturating_sub(usize::try_from(r.max_unavailable).unwrap_or(0));
    let mut going: Vec<Instance> = seen.pending.clone();
    going.extend(seen.failed.iter().map(|(row, _)| row.clone()));
    let mut kept = Vec::new();
    let mut available = seen.available();
    for row in &seen.ready {
        if abort && available > floor {
            available -= 1;
            going.push(row.clone());
        } else {
            kept.push(row.name.clone());
        }
    }
    let mut words = if going.is_empty() {
        "no new instance to remove".to_owned()
    } else {
        format!("{} new instance(s) removed", going.len())
    };
    if !kept.is_empty() {
        words.push_str(&format!(
            "; {} ready new instance(s) kept, they replaced old ones ({})",
            kept.len(),
            kept.join(", ")
        ));
    }
    if !going.is_empty() {
        let working = with_items(state, held, &going).await?;
        let reason = if abort { "the rollout was aborted" } else { "the rollout failed" };
        let failures: Vec<String> = futures::future::join_all(going.iter().map(|row| {
            let (ctx, working) = (working.ctx.clone(), &working);
            async move {
                let item = working.item(row.id)?;
                let outcome = steps::take_down(&ctx, &item).await;
                let error = outcome.as_ref().err().map(|e| format!("{}: {e}", row.name));
                match outcome {
                    Err(Error::ClaimLost) => return Err(Error::ClaimLost),
                    Err(e) => ctx.record(row.id, Err(e)).await?,
                    Ok(()) => ctx.record(row.id, Err(Error::Refused(format!("removed: {reason}")))).await?,
                }
                Ok::<_, Error>(error)
            }
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?
        .into_iter()
        .flatten()
        .collect();
        drop(working);
        if !failures.is_empty() {
            words.push_str(&format!("; could not remove {}", failures.join("; ")));
        }
    }
    refresh_hosts(state).await;
    Ok(words)
}

/// Records the rollout's final phase.
async fn finish_phase(state: &AppState, held: &Arc<Held>, phase: RolloutPhase) -> Result<(), Error> {
    let job = held.claim.job;
    held.write(Hold::Shared, move |c| Rollout::set_phase(c, job, phase)).await?;
    state.jobs.changed(job);
    Ok(())
}

/// Reads the rollout, the member's instances and the job's items, and sorts the instances.
async fn look(state: &AppState, job: mosaic_types::JobId) -> Result<Seen, Error> {
    db::run(&state.pool, move |conn| {
        let rollout = Rollout::find(conn, job)?.ok_or(diesel::result::Error::NotFound)?;
        let deployment = Job::find(conn, job)?
            .deployment_id
            .ok_or_else(|| Error::Gone("the deployment no longer exists".into()))?;
        let rows: Vec<Instance> = Instance::for_deployments(conn, &[deployment])?
            .into_iter()
            .filter(|i| i.cloud_config_id == rollout.cloud_config_id)
            .collect();
        let items = Job::items(conn, job)?;
        let exposed = ExposedPort::exists_for(conn, deployment, rollout.cloud_config_id)?;
        let item = |id: InstanceId| items.iter().find(|i| i.instance_id == id);
        let mut seen = Seen {
            total: rows.len(),
            old: Vec::new(),
            ready: Vec::new(),
            pending: Vec::new(),
            failed: Vec::new(),
            stuck: Vec::new(),
            exposed,
            rollout,
        };
        for row in rows {
            let error = item(row.id).filter(|i| i.finished).and_then(|i| i.error.clone());
            if row.revision != seen.rollout.to_revision {
                match error {
                    Some(why) => seen.stuck.push((row, why)),
                    None => seen.old.push(row),
                }
                continue;
            }
            let finished = item(row.id).is_none_or(|i| i.finished);
            if let Some(why) = error {
                seen.failed.push((row, why));
            } else if row.state == Lifecycle::Failed || row.readiness == Readiness::Failed {
                let why = row.readiness_detail.clone().or(row.last_error.clone()).unwrap_or_default();
                seen.failed.push((row, why));
            } else if finished
                && row.state == Lifecycle::Created
                && matches!(row.readiness, Readiness::Ready | Readiness::Unknown)
            {
                seen.ready.push(row);
            } else {
                seen.pending.push(row);
            }
        }
        Ok::<_, Error>(seen)
    })
    .await
}

async fn deployment_of(
    state: &AppState,
    job: mosaic_types::JobId,
) -> Result<mosaic_types::DeploymentId, Error> {
    db::run(&state.pool, move |conn| {
        Job::find(conn, job)?
            .deployment_id
            .ok_or_else(|| Error::Gone("the deployment no longer exists".into()))
    })
    .await
}

/// Where an instance is.
fn place(row: &Instance) -> Place {
    (row.host_id, row.location.clone())
}

/// How many more new than old instances a place has (the rollout removes old ones where new ones
/// came, and makes new ones where old ones are, so the member keeps its hosts and spread).
fn surplus(seen: &Seen, at: &Place) -> i64 {
    let new = seen.ready.iter().chain(&seen.pending).filter(|r| place(r) == *at).count();
    let old = seen.old.iter().filter(|r| place(r) == *at).count();
    new as i64 - old as i64
}

/// Records `n` new instances at the new revision, each where the member has the most old
/// instances not yet matched by new ones, with their job items, in one fenced write.
async fn make(state: &AppState, held: &Arc<Held>, seen: &Seen, n: usize) -> Result<Vec<Instance>, Error> {
    let r = &seen.rollout;
    let mut places: BTreeMap<Place, i64> = BTreeMap::new();
    for row in seen.old.iter().chain(&seen.ready).chain(&seen.pending) {
        places.entry(place(row)).or_insert_with(|| surplus(seen, &place(row)));
    }
    let Some(model) = seen.old.first().or(seen.ready.first()).or(seen.pending.first()).cloned() else {
        return Ok(Vec::new());
    };
    let mut chosen = Vec::new();
    for _ in 0..n {
        let Some((at, _)) = places.iter().min_by_key(|(_, s)| **s).map(|(p, s)| (p.clone(), *s)) else {
            break;
        };
        if let Some(s) = places.get_mut(&at) {
            *s += 1;
        }
        chosen.push(at);
    }
    let job = held.claim.job;
    let (cc, revision) = (r.cloud_config_id, r.to_revision);
    let phone_home = model.phone_home_secret.is_some();
    let secrets: Vec<Option<String>> =
        chosen.iter().map(|_| if phone_home { crate::auth::new_secret().ok() } else { None }).collect();
    let ids: Vec<InstanceId> = chosen.iter().map(|_| InstanceId::new()).collect();
    let profiles = model.profile_names();
    let deployment = model.deployment_id;
    let made = held
        .write(Hold::Exclusive, move |conn| {
            let row = Deployment::find(conn, deployment)?;
            let members = Deployment::members(conn, &[deployment])?;
            let Some(member) = members.iter().find(|m| m.cloud_config_id == cc) else {
                return Err(diesel::result::Error::NotFound);
            };
            let shared = members.iter().filter(|m| m.namespace == member.namespace).count() > 1;
            let prefix = crate::placement::name_prefix(&row.name, &member.namespace, &member.name, shared);
            let hosts = Host::all(conn)?;
            let mut ordinal = Instance::max_ordinal(conn, deployment, cc)?;
            let mut rows = Vec::new();
            let mut items = Vec::new();
            for ((at, id), secret) in chosen.iter().zip(&ids).zip(&secrets) {
                ordinal += 1;
                let name = format!("{prefix}-{ordinal}");
                let host_name =
                    hosts.iter().find(|h| h.id == at.0).map(|h| h.name.clone()).unwrap_or_default();
                items.push(new_item(job, *id, &name, at.0, &host_name));
                rows.push(NewInstance {
                    id: *id,
                    deployment_id: deployment,
                    cloud_config_id: cc,
                    revision,
                    host_id: at.0,
                    location: at.1.clone(),
                    name,
                    ordinal,
                    profiles: profiles.clone(),
                    state: Lifecycle::Pending,
                    phone_home_secret: secret.clone(),
                });
            }
            Instance::insert(conn, &rows)?;
            Rollout::add_items(conn, job, &items)?;
            ids.iter().map(|id| Instance::find(conn, *id)).collect::<Result<Vec<_>, _>>()
        })
        .await?;
    state.jobs.changed(job);
    Ok(made)
}

fn new_item(job: mosaic_types::JobId, id: InstanceId, name: &str, host: HostId, host_name: &str) -> JobItem {
    JobItem {
        job_id: job,
        instance_id: id,
        instance_name: name.to_owned(),
        host_id: host,
        host_name: host_name.to_owned(),
        step: JobStep::Queued,
        finished: false,
        error: None,
        updated_at: Utc::now(),
        progress: None,
    }
}

/// Makes sure the job has an item for each of `rows` (an instance the rollout acts on is shown in
/// its progress), then loads the job's context for them, with its step writer running.
async fn with_items(state: &AppState, held: &Arc<Held>, rows: &[Instance]) -> Result<Working, Error> {
    let job = held.claim.job;
    let hosts = db::query(&state.pool, Host::all).await?;
    let items: Vec<JobItem> = rows
        .iter()
        .map(|r| {
            let host_name =
                hosts.iter().find(|h| h.id == r.host_id).map(|h| h.name.clone()).unwrap_or_default();
            new_item(job, r.id, &r.name, r.host_id, &host_name)
        })
        .collect();
    let items = held
        .write(Hold::Exclusive, move |c| {
            Rollout::add_items(c, job, &items)?;
            Job::items(c, job)
        })
        .await?;
    let ctx = Arc::new(run::load(state, held.clone()).await?);
    let writer = tokio::spawn(run::write_steps(ctx.clone()));
    Ok(Working { ctx, items: items.into_iter().map(|i| (i.instance_id, i)).collect(), writer })
}

/// A job context loaded for one step, with its step writer (stopped when the step is done: every
/// item it worked has its outcome by then).
struct Working {
    ctx: Arc<JobContext>,
    items: HashMap<InstanceId, JobItem>,
    writer: tokio::task::JoinHandle<()>,
}

impl Drop for Working {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

impl Working {
    fn item(&self, id: InstanceId) -> Result<JobItem, Error> {
        self.items
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::Gone("the instance is not part of the rollout".into()))
    }
}

/// Re-lists every host so the overview shows what the rollout did by the time it reports.
async fn refresh_hosts(state: &AppState) {
    if let Ok(hosts) = db::query(&state.pool, Host::all).await {
        state.cache.refresh(state, &hosts).await;
    }
    state.cache.poke();
}

fn as_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
