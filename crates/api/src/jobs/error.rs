//! What can stop a job's work on one instance, or the whole job.

/// A job failure. Its text is what the job item records for the operator, so LXD's own words
/// come through unchanged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// LXD refused, failed or could not be reached.
    #[error(transparent)]
    Lxd(#[from] lxd::Error),
    /// The database could not record what happened.
    #[error("cannot record the result: {0}")]
    Database(#[from] crate::db::Error),
    /// Something the job works on no longer exists (the instance, its host, its revision).
    #[error("{0}")]
    Gone(String),
    /// The work cannot be done in the state things are in (e.g. starting what was never created).
    #[error("{0}")]
    Refused(String),
    /// Another server holds the job now: this one stops at once and writes nothing more.
    #[error("another server took this job over")]
    ClaimLost,
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Database(crate::db::Error::Query(e))
    }
}

impl Error {
    /// Whether trying the write again later may succeed (see [`crate::db::Error::is_transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Database(e) if e.is_transient())
    }
}
