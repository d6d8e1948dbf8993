//! The job runner of one server process: claims jobs (at most a bounded number at once), runs
//! them, retries deployments whose deletion waits on an offline host, and on shutdown stops
//! claiming and lets running jobs wind down.

use std::sync::Arc;
use std::time::Instant;

use diesel::Connection;
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Job;
use mosaic_types::JobId;
use mosaic_types::instances::{InstanceStatus, Lifecycle, Readiness};
use mosaic_types::jobs::JobKind;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Target, run};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Runs until `shutdown`: claims every claimable job while a slot is free, then sleeps until
/// woken or the poll interval ends. Every job it starts is tracked by `jobs`, so the caller can
/// wait for them to wind down (they get the grace period, then give their claims back).
pub async fn run(state: AppState, shutdown: CancellationToken, jobs: TaskTracker) {
    let slots = Arc::new(Semaphore::new(state.settings.max_running_jobs));
    let mut last_sweep = Instant::now();
    while !shutdown.is_cancelled() {
        while let Ok(slot) = slots.clone().try_acquire_owned() {
            let worker = state.worker.to_string();
            let stale = state.settings.job_stale_after.as_secs_f64();
            let exclude: Vec<JobId> = state.jobs.running().into_iter().collect();
            let claimed: Result<_, db::Error> =
                db::query(&state.control_pool, move |conn| Job::claim(conn, &worker, stale, &exclude)).await;
            match claimed {
                Ok(Some(claim)) => {
                    tracing::info!(job = %claim.job, attempt = claim.attempt, worker = %state.worker, "claimed job");
                    let id = claim.job;
                    state.jobs.set_running(id, true);
                    let (state, shutdown) = (state.clone(), shutdown.clone());
                    jobs.spawn(async move {
                        run::execute(state.clone(), claim, shutdown).await;
                        state.jobs.set_running(id, false);
                        drop(slot);
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "job runner: cannot claim jobs");
                    break;
                }
            }
        }
        if last_sweep.elapsed() >= state.settings.delete_retry_interval {
            last_sweep = Instant::now();
            if let Err(e) = retry_deletions(&state).await {
                tracing::warn!(error = ?e, "job runner: cannot retry deletions");
            }
            if let Err(e) = heal(&state).await {
                tracing::warn!(error = ?e, "job runner: cannot heal deployments");
            }
            state.jobs.swept();
        }
        tokio::select! {
            () = state.jobs.wake.notified() => {}
            () = tokio::time::sleep(state.settings.job_poll_interval) => {}
            () = shutdown.cancelled() => {}
        }
    }
}

/// Longest healing waits before trying an instance again.
const MAX_HEAL_BACKOFF: std::time::Duration = std::time::Duration::from_secs(3600);

/// Queues a heal job for every deployment with healing on (and no job running) that has
/// instances gone missing (deleted behind Mosaic's back) or failed (creation or cloud-config),
/// on hosts that answer, and whose back-off has passed. Each try doubles the instance's wait.
async fn heal(state: &AppState) -> Result<(), ApiError> {
    let snapshots = state.cache.all();
    let base = state.settings.heal_backoff;
    let queued = db::transaction(&state.pool, move |conn| {
        let mut queued = 0;
        let now = chrono::Utc::now();
        for deployment in Deployment::healing(conn)? {
            if Job::active_for(conn, deployment.id)?.is_some() {
                continue;
            }
            let rows = Instance::for_deployments(conn, &[deployment.id])?;
            let broken: Vec<&Instance> = rows
                .iter()
                .filter(|r| {
                    // Never on a host (or cluster member) that does not answer: its instances are
                    // unknown, not missing.
                    let answered = crate::overview::reachable(r, &snapshots);
                    let due = r.heal_not_before.is_none_or(|t| t <= now);
                    let missing = r.state == Lifecycle::Created
                        && crate::overview::status_of(r, &snapshots).0 == InstanceStatus::Missing;
                    let failed = r.state == Lifecycle::Failed || r.readiness == Readiness::Failed;
                    answered && due && (missing || failed)
                })
                .collect();
            if broken.is_empty() {
                continue;
            }
            let hosts = Host::all(conn)?;
            let targets: Vec<Target> =
                broken.iter().map(|r| Target::new(r.id, &r.name, r.host_id, &hosts)).collect();
            // Another server may have queued one meanwhile: then this one is not needed.
            let queued_here = conn.transaction(|conn| {
                super::enqueue(conn, &deployment, JobKind::Heal, &targets, "mosaic (healing)", false)?;
                for r in &broken {
                    Instance::healing_tried(conn, r.id, base, MAX_HEAL_BACKOFF)?;
                }
                Ok::<_, ApiError>(())
            });
            match queued_here {
                Ok(()) => queued += 1,
                Err(ApiError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok::<_, ApiError>(queued)
    })
    .await?;
    if queued > 0 {
        tracing::info!(queued, "healing deployments");
        state.jobs.wake.notify_one();
    }
    Ok(())
}

/// Queues a delete job for every deployment left `deleting` whose remaining instances' hosts (and
/// cluster members) all answer again (per the host cache), so a deletion that waited on an
/// offline host or member completes by itself once it is back.
async fn retry_deletions(state: &AppState) -> Result<(), ApiError> {
    let snapshots = state.cache.all();
    let queued = db::transaction(&state.pool, move |conn| {
        let mut queued = 0;
        for deployment in Deployment::deleting(conn)? {
            if Job::active_for(conn, deployment.id)?.is_some() {
                continue;
            }
            let rows = Instance::for_deployments(conn, &[deployment.id])?;
            if !rows.iter().all(|r| crate::overview::reachable(r, &snapshots)) {
                continue;
            }
            let hosts = Host::all(conn)?;
            let targets: Vec<Target> =
                rows.iter().map(|r| Target::new(r.id, &r.name, r.host_id, &hosts)).collect();
            super::enqueue(conn, &deployment, JobKind::Delete, &targets, "mosaic (retry)", false)?;
            queued += 1;
        }
        Ok::<_, ApiError>(queued)
    })
    .await?;
    if queued > 0 {
        tracing::info!(queued, "retrying deletions whose hosts are back");
        state.jobs.wake.notify_one();
    }
    Ok(())
}
