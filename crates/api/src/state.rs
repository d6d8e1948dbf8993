//! What every handler and job shares.

use std::net::SocketAddr;
use std::sync::Arc;

use mosaic_db::DbPool;

use crate::cache::HostCache;
use crate::config::Settings;
use crate::hosts::HostClients;
use crate::jobs::JobSignals;

/// Application state, cloned into each worker and job (everything inside is shared).
#[derive(Clone)]
pub struct AppState {
    /// The database pool for requests and job writes.
    pub pool: DbPool,
    /// A small pool of its own for the job runner's claims and heartbeats, so request traffic
    /// can never starve them (a starved heartbeat gets a running job taken over).
    pub control_pool: DbPool,
    /// Settings the server started with.
    pub settings: Arc<Settings>,
    /// Mosaic's LXD client certificate.
    pub identity: Arc<lxd::Identity>,
    /// One LXD client per registered host.
    pub hosts: Arc<HostClients>,
    /// The per-host (on a cluster, per-member) bound on concurrent LXD calls, shared by every job
    /// of this server.
    pub limiter: Arc<lxd::HostLimiter<crate::placement::Slot>>,
    /// Wakes the job runner and tells event streams about progress.
    pub jobs: Arc<JobSignals>,
    /// What LXD last said about Mosaic's containers, per host.
    pub cache: Arc<HostCache>,
    /// What this server has learnt about images (whether they have cloud-init).
    pub image_facts: Arc<crate::jobs::readiness::ImageFacts>,
    /// The rendered deployments overview, shared by concurrent readers.
    pub overview: Arc<crate::overview_memo::OverviewMemo>,
    /// Prometheus metrics (`GET /metrics` on the metrics listener).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Open job event streams, per user.
    pub streams: Arc<crate::routes::jobs::events::StreamCounts>,
    /// This server process's name in `jobs.claimed_by`.
    pub worker: Arc<str>,
    /// This process's load balancer: what its HAProxy does, and waits for drains.
    pub routing: Arc<crate::routing::Routing>,
    /// The address the phone-home listener is bound to (containers' phone-home proxies connect
    /// to its port).
    pub phone_home_address: SocketAddr,
}
