//! Running database work off the async runtime.

use actix_web::web;
use anyhow::Context;
use diesel::{Connection, PgConnection};
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
