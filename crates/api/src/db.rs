//! Running database work off the async runtime.

use actix_web::web;
use anyhow::Context;
use diesel::{Connection, PgConnection, RunQueryDsl};
use mosaic_db::DbPool;

use crate::error::ApiError;

/// Runs `work` with a pooled connection on actix's blocking thread pool: diesel is synchronous,
/// and a query must never hold up the async workers (nor be held across an `.await`).
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        let mut conn = pool.get().context("Failed to get a database connection")?;
        work(&mut conn)
    })
    .await
    .context("Database task panicked")?
}

/// Like [`run`], inside one transaction: either all of `work` is written, or none of it.
pub async fn transaction<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    run(pool, move |conn| conn.transaction(work)).await
}

/// Like [`transaction`], for a job's progress: the commit does not wait for the disk
/// (`synchronous_commit = off`), so a job's many small writes do not queue behind the fsyncs of a
/// disk that LXD is busy unpacking containers onto. What a crash of PostgreSQL itself can lose is
/// the last fraction of a second of progress, in commit order; every job step is idempotent, so an
/// item whose outcome was lost is run again and finds in LXD what it did.
pub async fn progress<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    transaction(pool, move |conn| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
        work(conn)
    })
    .await
}
