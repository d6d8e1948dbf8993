//! The job runner of one server process: claims jobs (at most a bounded number at once), runs
//! them, retries deployments whose deletion waits on an offline host, and on shutdown stops
//! claiming and lets running jobs wind down.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Job;
use mosaic_types::JobId;
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
    let running: Arc<Mutex<HashSet<JobId>>> = Arc::default();
    let mut last_sweep = Instant::now();
    while !shutdown.is_cancelled() {
        while let Ok(slot) = slots.clone().try_acquire_owned() {
            let worker = state.worker.to_string();
            let stale = state.settings.job_stale_after.as_secs_f64();
            let exclude: Vec<JobId> =
                running.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
            let claimed: Result<_, db::Error> =
                db::query(&state.control_pool, move |conn| Job::claim(conn, &worker, stale, &exclude)).await;
            match claimed {
                Ok(Some(claim)) => {
                    tracing::info!(job = %claim.job, attempt = claim.attempt, worker = %state.worker, "claimed job");
                    let id = claim.job;
                    running.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
                    let (state, running, shutdown) = (state.clone(), running.clone(), shutdown.clone());
                    jobs.spawn(async move {
                        run::execute(state, claim, shutdown).await;
                        running.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
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
        }
        tokio::select! {
            () = state.jobs.wake.notified() => {}
            () = tokio::time::sleep(state.settings.job_poll_interval) => {}
            () = shutdown.cancelled() => {}
        }
    }
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
