//! A claimed job as this process holds it: writes fenced by the claim, retried through passing
//! database failures, the heartbeat, and the signal that stops the work once the claim is lost.
//!
//! A job belongs to whichever process holds its current claim (worker and attempt). Every write
//! the job makes first locks the job row on the condition that the claim is still current, in the
//! same transaction: once another process has taken the job over (this one's heartbeat looked
//! dead), nothing this one writes lands, and the first refused write — or a heartbeat that finds
//! the claim gone — cancels the work, so the two never carry on side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::PgConnection;
use mosaic_db::DbPool;
use mosaic_db::models::jobs::{Claim, Hold};
use tokio_util::sync::CancellationToken;

use super::Error;
use crate::db;
use crate::state::AppState;

/// Longest pause between two tries of a write.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A claim this process holds.
#[derive(Debug)]
pub struct Held {
    /// The claim.
    pub claim: Claim,
    pool: DbPool,
    control: DbPool,
    lost: CancellationToken,
    retry_for: Duration,
}

impl Held {
    /// Holds `claim` with the server's pools: writes go through the main pool, the heartbeat
    /// through the small control pool, so request traffic cannot starve it.
    pub fn new(state: &AppState, claim: Claim) -> Self {
        Held {
            claim,
            pool: state.pool.clone(),
            control: state.control_pool.clone(),
            lost: CancellationToken::new(),
            retry_for: state.settings.db_retry_for,
        }
    }

    /// Cancelled once the claim is known to be lost.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Writes while the claim is current, in one transaction (progress durability, see
    /// [`db::progress`]). A passing database failure (PostgreSQL restarting, a connection
    /// dropped, a deadlock victim) is retried with back-off for up to the configured bound; a
    /// lost claim is never retried: it cancels the job's work and answers [`Error::ClaimLost`].
    pub async fn write<T, F>(&self, hold: Hold, work: F) -> Result<T, Error>
    where
        F: Fn(&mut PgConnection) -> diesel::QueryResult<T> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let work = Arc::new(work);
        let deadline = Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(100);
        loop {
            let (claim, work) = (self.claim.clone(), work.clone());
            let written = db::progress(&self.pool, move |conn| {
                if !claim.hold(conn, hold)? {
                    return Err(Error::ClaimLost);
                }
                Ok(work(conn)?)
            })
            .await;
            match written {
                Err(Error::ClaimLost) => {
                    self.lost.cancel();
                    return Err(Error::ClaimLost);
                }
                Err(e) if e.is_transient() && Instant::now() + pause < deadline => {
                    tracing::warn!(job = %self.claim.job, error = %e, "a job write failed; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// Runs a bookkeeping statement of the claim itself (finish, release) with the same retries
    /// as [`Held::write`]; `false` means the claim was lost.
    pub async fn settle<F>(&self, what: F) -> Result<bool, Error>
    where
        F: Fn(&Claim, &mut PgConnection) -> diesel::QueryResult<bool> + Send + Sync + 'static,
    {
        let what = Arc::new(what);
        let deadline = Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(100);
        loop {
            let (claim, what) = (self.claim.clone(), what.clone());
            let settled: Result<bool, Error> =
                db::transaction(&self.control, move |conn| Ok(what(&claim, conn)?)).await;
            match settled {
                Err(e) if e.is_transient() && Instant::now() + pause < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// Keeps the heartbeat fresh every `every` until the claim is lost (then cancels the work and
    /// returns). A failed heartbeat is only logged: if the database stays away long enough,
    /// another process takes the job and the next heartbeat says so.
    pub async fn beat(self: Arc<Self>, every: Duration) {
        loop {
            tokio::select! {
                () = self.lost.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let claim = self.claim.clone();
            let beat: Result<bool, db::Error> =
                db::query(&self.control, move |conn| claim.heartbeat(conn)).await;
            match beat {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job = %self.claim.job, "another server took this job over; stopping");
                    self.lost.cancel();
                    return;
                }
                Err(e) => tracing::warn!(job = %self.claim.job, error = %e, "heartbeat failed"),
            }
        }
    }
}
