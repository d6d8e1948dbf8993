//! The background tasks every registered host gets: its event stream ([`super::events`]) and its
//! state reader ([`super::state`]). Started when a host is registered, restarted when how it is
//! reached changes, ended when it is removed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use tokio_util::task::AbortOnDropHandle;

use super::HostCache;
use crate::db;
use crate::hosts::{Address, address};
use crate::state::AppState;

/// Longest a newly registered host waits for its tasks to be started.
const RECONCILE: Duration = Duration::from_secs(2);

/// One host's running tasks. Each holds the cache and the state (its database pools) alive, so
/// they are aborted when this is dropped: when the host is removed or the server stops.
struct Running {
    /// How the host was reached when they started: a change restarts them.
    started_for: Address,
    stream: AbortOnDropHandle<()>,
    reader: AbortOnDropHandle<()>,
}

impl Running {
    fn is_current(&self, host: &Host) -> bool {
        self.started_for == address(host) && !self.stream.is_finished() && !self.reader.is_finished()
    }
}

impl HostCache {
    /// Keeps each registered host's tasks running: starts them for new hosts, restarts them for
    /// hosts whose address or name changed, stops those of removed hosts. Looks at the hosts every
    /// `interval` (the cache interval) or every 2 s, whichever is shorter: a host's status should
    /// be live soon after it is registered, however seldom it is listed.
    pub async fn follow_hosts(self: Arc<Self>, state: AppState, interval: Duration) {
        let interval = interval.min(RECONCILE);
        let mut tasks = HashMap::new();
        loop {
            match db::query(&state.pool, Host::all).await {
                Ok(hosts) => self.reconcile(&state, hosts, &mut tasks),
                Err(e) => tracing::warn!(error = ?e, "host cache: cannot read the hosts"),
            }
            tokio::time::sleep(interval).await;
        }
    }

    fn reconcile(self: &Arc<Self>, state: &AppState, hosts: Vec<Host>, tasks: &mut HashMap<HostId, Running>) {
        tasks.retain(|id, _| {
            let kept = hosts.iter().any(|h| h.id == *id);
            if !kept {
                self.forget_stream(*id);
            }
            kept
        });
        for host in hosts {
            if tasks.get(&host.id).is_some_and(|running| running.is_current(&host)) {
                continue;
            }
            let running = Running {
                started_for: address(&host),
                stream: spawn(self.clone().subscribe(state.clone(), host.clone())),
                reader: spawn(self.clone().read_states(state.clone(), host.clone())),
            };
            // Replacing older tasks drops (ends) them.
            tasks.insert(host.id, running);
        }
    }
}

fn spawn(task: impl Future<Output = ()> + Send + 'static) -> AbortOnDropHandle<()> {
    AbortOnDropHandle::new(tokio::spawn(task))
}
