//! The per-host state cache: what LXD says about Mosaic's containers, refreshed in the background.
//!
//! Listing instances with state costs LXD about 13 ms per container, so the overview must never ask
//! LXD per request, let alone per container. One task polls every host concurrently — one
//! `recursion=2` call per host per interval, filtered to containers carrying Mosaic's key — and
//! requests read the latest snapshot. LXD's load therefore depends on the number of hosts and the
//! interval, not on how many people are looking; each snapshot carries its time so every figure
//! shown has an age.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use tokio::sync::Notify;

use crate::db;
use crate::state::AppState;

/// The config key every Mosaic container carries, used to list only Mosaic's containers.
pub const MANAGED_KEY: &str = "user.mosaic.managed";
/// The deployment a container belongs to.
pub const DEPLOYMENT_KEY: &str = "user.mosaic.deployment";
/// The instance ID of a container.
pub const INSTANCE_KEY: &str = "user.mosaic.instance";

/// One container as last seen.
#[derive(Debug, Clone)]
pub struct Observed {
    /// LXD's status code.
    pub status_code: lxd::StatusCode,
    /// Memory in use, bytes.
    pub memory: u64,
    /// Addresses.
    pub addresses: Vec<String>,
    /// `user.mosaic.deployment`.
    pub deployment: String,
    /// `user.mosaic.instance`.
    pub instance: String,
}

/// One host as last seen.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was taken.
    pub taken: Instant,
    /// The same, as a time of day.
    pub taken_at: DateTime<Utc>,
    /// Containers by name, or why the host did not answer.
    pub instances: Result<HashMap<String, Observed>, String>,
}

impl Snapshot {
    /// Its age.
    pub fn age(&self) -> Duration {
        self.taken.elapsed()
    }
}

/// The cache.
#[derive(Debug, Default)]
pub struct HostCache {
    snapshots: RwLock<HashMap<HostId, Arc<Snapshot>>>,
    /// Wakes the refresher early.
    wake: Notify,
    /// LXD list calls made so far (the benchmark reports calls per minute).
    calls: std::sync::atomic::AtomicU64,
}

impl HostCache {
    /// The latest snapshot of every host.
    pub fn all(&self) -> HashMap<HostId, Arc<Snapshot>> {
        self.snapshots.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many LXD list calls the cache has made.
    pub fn lxd_calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets a host (after it is removed).
    pub fn forget(&self, id: HostId) {
        self.snapshots.write().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    /// Refreshes the given hosts now, concurrently (jobs call this before reporting that they
    /// finished, so what a finished job did is what the overview shows).
    pub async fn refresh(&self, state: &AppState, hosts: &[Host]) {
        let timeout = Duration::from_secs(state.settings.lxd_probe_timeout_secs);
        let polls = hosts.iter().map(|host| async move {
            let started = Instant::now();
            let result = match state.hosts.get(host, &state.identity) {
                Ok(client) => poll(&client, timeout).await,
                Err(e) => Err(format!("{e:#}")),
            };
            (host.id, Snapshot { taken: started, taken_at: Utc::now(), instances: result })
        });
        let results = futures::future::join_all(polls).await;
        self.calls.fetch_add(results.len() as u64, std::sync::atomic::Ordering::Relaxed);
        {
            let mut snapshots = self.snapshots.write().unwrap_or_else(|e| e.into_inner());
            for (id, snapshot) in results {
                snapshots.insert(id, Arc::new(snapshot));
            }
        }
        state.overview.invalidate();
    }

    /// Asks the background refresher to run now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// The background refresher: every host, every `interval`.
    pub async fn run(self: Arc<Self>, state: AppState, interval: Duration) {
        loop {
            match db::run(&state.pool, |conn| Ok(Host::all(conn)?)).await {
                Ok(hosts) => {
                    self.snapshots
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .retain(|id, _| hosts.iter().any(|h| h.id == *id));
                    self.refresh(&state, &hosts).await;
                }
                Err(e) => tracing::warn!(error = ?e, "host cache: cannot read the hosts"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

async fn poll(client: &lxd::Client, timeout: Duration) -> Result<HashMap<String, Observed>, String> {
    let filter = lxd::InstanceFilter::config_eq(MANAGED_KEY, "true").map_err(|e| e.to_string())?;
    let listed = tokio::time::timeout(timeout * 4, client.instances(Some(&filter)))
        .await
        .map_err(|_| format!("no answer within {} s", (timeout * 4).as_secs()))?
        .map_err(|e| e.to_string())?;
    Ok(listed
        .into_iter()
        .map(|i| {
            let state = i.state.unwrap_or_default();
            let addresses = state
                .network
                .unwrap_or_default()
                .into_iter()
                .filter(|(name, _)| name != "lo")
                .flat_map(|(_, n)| n.addresses.into_iter().map(|a| a.address))
                .collect();
            let observed = Observed {
                status_code: i.status_code,
                memory: state.memory.usage,
                addresses,
                deployment: i.config.get(DEPLOYMENT_KEY).cloned().unwrap_or_default(),
                instance: i.config.get(INSTANCE_KEY).cloned().unwrap_or_default(),
            };
            (i.name, observed)
        })
        .collect())
}
