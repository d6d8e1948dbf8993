//! What every handler shares.

use std::sync::Arc;

use mosaic_db::DbPool;

use crate::config::Settings;
use crate::hosts::HostClients;

/// Application state, cloned into each worker (everything inside is shared).
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// Settings the server started with.
    pub settings: Arc<Settings>,
    /// Mosaic's LXD client certificate.
    pub identity: Arc<lxd::Identity>,
    /// One LXD client per registered host.
    pub hosts: Arc<HostClients>,
}
