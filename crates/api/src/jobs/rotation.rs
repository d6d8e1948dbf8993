//! Taking an instance out of the load balancers' rotation, and putting it back: what a job does
//! before it stops, removes, deletes or replaces an instance, and after it started one.
//!
//! Taking out is a fenced write (the instance is held out of rotation in the database) followed by
//! a wait until every live Mosaic process's HAProxy has confirmed that it drained the instance
//! (no new requests; current sessions finished or cut at the drain timeout; server deleted). Only
//! then does the caller touch LXD, so a stop or a deletion never drops a request. Putting back
//! clears the hold; each reconciler re-adds the instance and admits it once its health check
//! passes.

use std::time::Duration;

use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Hold;
use mosaic_db::models::routing::{ExposedPort, RotationHold};
use mosaic_types::InstanceId;
use mosaic_types::jobs::JobStep;

use super::Error;
use super::run::JobContext;
use crate::db;
use crate::routing::Drained;

/// Takes `instance` out of rotation on every load balancer and waits until each live one has
/// drained it (bounded by the drain timeout plus a few reconciler passes; a load balancer that
/// does not confirm in time is logged and the job goes on). `reason` is recorded with the hold
/// (`stop`, `delete`, `remove`, `replace`, …). An instance whose member exposes no port is in no
/// rotation: nothing is written and nothing waited for.
///
/// The item shows the `draining` step while this waits. Call it before the LXD call that takes
/// the instance away; the hold stays until [`put_in`] (a start does it) or the instance is deleted.
pub async fn take_out(ctx: &JobContext, row: &Instance, reason: &'static str) -> Result<Drained, Error> {
    let (deployment, cc, id) = (row.deployment_id, row.cloud_config_id, row.id);
    let routed =
        db::query(&ctx.state.pool, move |conn| ExposedPort::exists_for(conn, deployment, cc)).await?;
    if !routed {
        return Ok(Drained::NotRouted);
    }
    ctx.step(id, JobStep::Draining);
    ctx.held.write(Hold::Shared, move |conn| RotationHold::hold(conn, id, reason)).await?;
    let drained = ctx.state.routing.wait_drained(&ctx.state.pool, id).await?;
    match &drained {
        Drained::TimedOut { missing } => tracing::warn!(
            instance = %row.name, ?missing,
            "load balancers did not confirm the drain in time; going on (their health checks take the instance out)"
        ),
        Drained::Everywhere { nodes, after } => {
            tracing::info!(instance = %row.name, nodes, after_ms = after.as_millis() as u64, "drained")
        }
        Drained::NotRouted => {}
    }
    Ok(drained)
}

/// Puts `instance` back into rotation (clears its hold) and, with `wait`, waits up to that long
/// until this process's HAProxy has it UP behind every port its member exposes; answers whether
/// it got there (`false` without `wait`). Each load balancer admits it only once its health check
/// passes — and only if its cloud-config applied (or cannot be judged).
pub async fn put_in(ctx: &JobContext, instance: InstanceId, wait: Option<Duration>) -> Result<bool, Error> {
    ctx.held.write(Hold::Shared, move |conn| RotationHold::release(conn, &[instance]).map(drop)).await?;
    ctx.state.routing.wake();
    Ok(match wait {
        Some(timeout) => ctx.state.routing.wait_serving(instance, timeout).await,
        None => false,
    })
}
