//! Running database work off the async runtime, and what can go wrong with it.
//!
//! The helpers are generic over the caller's error type: a request handler gets an
//! [`ApiError`](crate::error::ApiError), the job engine a [`jobs::Error`](crate::jobs::Error),
//! each converting a database failure its own way.

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::web;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, QueryResult, RunQueryDsl};
use mosaic_db::DbPool;

use crate::error::ApiError;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection could be had (PostgreSQL down or the pool exhausted).
    #[error("no database connection: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A query failed.
    #[error(transparent)]
    Query(#[from] DieselError),
    /// The blocking task running the work panicked.
    #[error("a database task panicked")]
    Panicked,
}

impl Error {
    /// Whether trying again later may succeed: the connection or server went away, or
    /// PostgreSQL resolved a conflict by aborting this transaction.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Pool(_) => true,
            Error::Panicked => false,
            Error::Query(DieselError::BrokenTransactionManager) => true,
            Error::Query(DieselError::DatabaseError(kind, info)) => {
                let message = info.message();
                matches!(kind, DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure)
                    // Reported as `Unknown` kinds with PostgreSQL's or libpq's words.
                    || message.contains("deadlock detected")
                    || message.contains("terminating connection")
                    || message.contains("server closed the connection")
                    || message.contains("no connection to the server")
            }
            Error::Query(_) => false,
        }
    }
}

/// Callers of [`run`] waiting for a pooled connection now, in this process (all pools). Counted
/// here because r2d2 counts no waiters and a pool carries no data of ours; a server process has
/// one pool for requests and jobs, and the runner's small one.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// How many callers wait for a database connection now (a metric: a pool too small for the load
/// shows here before requests time out).
pub fn waiting() -> usize {
    WAITING.load(Ordering::Relaxed)
}

/// Runs `work` with a pooled connection on actix's blocking thread pool: diesel is synchronous,
/// and a query must never hold up the async workers (nor be held across an `.await`).
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        WAITING.fetch_add(1, Ordering::Relaxed);
        let conn = pool.get();
        WAITING.fetch_sub(1, Ordering::Relaxed);
        let mut conn = conn.map_err(Error::Pool)?;
        work(&mut conn)
    })
    .await
    .map_err(|_| Error::Panicked)?
}

/// Like [`run`], for work whose only failure is the database's (most reads).
pub async fn query<T, F>(pool: &DbPool, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    T: Send + 'static,
{
    run(pool, move |conn| Ok(work(conn)?)).await
}

/// Like [`run`], inside one transaction: either all of `work` is written, or none of it.
pub async fn transaction<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + From<DieselError> + Send + 'static,
{
    run(pool, move |conn| conn.transaction(work)).await
}

/// Like [`transaction`], for a job's progress: the commit does not wait for the disk
/// (`synchronous_commit = off`), so a job's many small writes do not queue behind the fsyncs of a
/// disk that LXD is busy unpacking containers onto. What a crash of PostgreSQL itself can lose is
/// the last fraction of a second of progress, in commit order; every job step is idempotent, so an
/// item whose outcome was lost is run again and finds in LXD what it did.
pub async fn progress<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + From<DieselError> + Send + 'static,
{
    transaction(pool, move |conn| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
        work(conn)
    })
    .await
}

/// Turns the two expected query failures into the API's answers, so a handler says in one call
/// what a missing row or a taken name means to the caller.
pub trait QueryResultExt<T> {
    /// A missing row (`diesel::NotFound`) is a 404 with `code` and the message `what` gives.
    fn or_not_found(self, code: &'static str, what: impl FnOnce() -> String) -> Result<T, ApiError>;

    /// A unique violation is a 409 with `code` and the message `what` gives.
    fn or_conflict(self, code: &'static str, what: impl FnOnce() -> String) -> Result<T, ApiError>;
}

impl<T> QueryResultExt<T> for QueryResult<T> {
    fn or_not_found(self, code: &'static str, what: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            DieselError::NotFound => ApiError::NotFound { code, message: what() },
            other => other.into(),
        })
    }

    fn or_conflict(self, code: &'static str, what: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::Conflict { code, message: what() }
            }
            other => other.into(),
        })
    }
}
