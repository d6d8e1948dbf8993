//! The job runner of one server process: claims jobs, runs them, and retries deployments whose
//! deletion waits on an offline host.

use std::collections::HashSet;
use std::time::Instant;

use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Job;
use mosaic_types::jobs::JobKind;

use super::{Target, run};
use crate::db;
use crate::state::AppState;

/// Runs forever: claims every claimable job, then sleeps until woken or the poll interval ends.
pub async fn run(state: AppState) {
    let settings = state.settings.jobs.clone();
    let mut last_sweep = Instant::now();
    loop {
        loop {
            let worker = state.worker.clone();
            let stale = settings.stale_after.as_secs_f64();
            match db::run(&state.pool, move |conn| Ok(Job::claim(conn, &worker, stale)?)).await {
                Ok(Some(id)) => {
                    tracing::info!(job = %id, worker = %state.worker, "claimed job");
                    tokio::spawn(run::execute(state.clone(), id));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "job runner: cannot claim jobs");
                    break;
                }
            }
        }
        if last_sweep.elapsed() >= settings.delete_retry_interval {
            last_sweep = Instant::now();
            if let Err(e) = retry_deletions(&state).await {
                tracing::warn!(error = ?e, "job runner: cannot retry deletions");
            }
        }
        tokio::select! {
            _ = state.jobs.wake.notified() => {}
            _ = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}

/// Queues a delete job for every deployment left `deleting` whose remaining instances' hosts all
/// answer again (per the host cache), so a deletion that waited on an offline host completes by
/// itself once the host is back.
async fn retry_deletions(state: &AppState) -> Result<(), crate::error::ApiError> {
    let snapshots = state.cache.all();
    let online: HashSet<_> =
        snapshots.iter().filter(|(_, s)| s.instances.is_ok()).map(|(id, _)| *id).collect();
    let queued = db::transaction(&state.pool, move |conn| {
        let mut queued = 0;
        for deployment in Deployment::deleting(conn)? {
            if Job::active_for(conn, deployment.id)?.is_some() {
                continue;
            }
            let rows = Instance::for_deployments(conn, &[deployment.id])?;
            if !rows.iter().all(|r| online.contains(&r.host_id)) {
                continue;
            }
            let hosts = mosaic_db::models::hosts::Host::all(conn)?;
            let targets: Vec<Target> =
                rows.iter().map(|r| Target::new(r.id, &r.name, r.host_id, &hosts)).collect();
            super::enqueue(conn, &deployment, JobKind::Delete, &targets, "mosaic (retry)", false)?;
            queued += 1;
        }
        Ok(queued)
    })
    .await?;
    if queued > 0 {
        tracing::info!(queued, "retrying deletions whose hosts are back");
        state.jobs.wake.notify_one();
    }
    Ok(())
}
