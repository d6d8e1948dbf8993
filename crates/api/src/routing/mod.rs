//! Routing: each Mosaic process runs its own HAProxy in front of the instances of deployments
//! that expose ports, and keeps it in agreement with the database.
//!
//! - [`desired`] computes, from the database and the host cache alone (pure functions), what each
//!   HAProxy should serve: a frontend + backend per exposed port, and per instance whether it is
//!   a server, at which address, and whether it may be in rotation.
//! - [`reconciler`] is the per-process task that converges HAProxy on that: one seamless reload
//!   when frontends change, runtime API calls (add, admit, drain, delete) for membership, proxy
//!   devices on the LXD hosts, and confirmations of drains. It runs on every relevant change and
//!   on a short interval, so a lost signal, an out-of-band change or a restart heals itself.
//! - [`Routing`] is the handle the rest of Mosaic uses: wake the reconciler, read what HAProxy
//!   last said (the API never calls HAProxy per request), and wait for an instance to be drained
//!   everywhere ([`Routing::wait_drained`]) or to serve ([`Routing::wait_serving`]); jobs take
//!   instances out of rotation and put them back through [`crate::jobs::rotation`].
//! - [`view`] turns rows and what HAProxy said into the wire types the API returns.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use mosaic_db::DbPool;
use mosaic_db::models::routing::{RotationHold, RoutingNode};
use mosaic_types::routing::{BackendState, FrontendState};
use mosaic_types::{ExposedPortId, InstanceId};
use serde::{Deserialize, Deserializer};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db;

pub mod allocate;
pub mod desired;
pub mod reconciler;
pub mod view;

/// A range of TCP ports, `first-last` inclusive (settings give it as text: `30000-30999`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// The first port.
    pub first: u16,
    /// The last port (inclusive).
    pub last: u16,
}

impl PortRange {
    /// The range `first..=last` (swapped if given the wrong way round).
    pub const fn new(first: u16, last: u16) -> Self {
        if first <= last { PortRange { first, last } } else { PortRange { first: last, last: first } }
    }

    /// How many ports it holds.
    pub fn len(&self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    /// Never empty: a range holds at least its first port.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `port` is inside.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let port = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{s:?} is not a port (1 to 65535)"))
        };
        let (first, last) = match text.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => (port(text)?, port(text)?),
        };
        if first > last {
            return Err(format!("port range {text:?} ends before it starts"));
        }
        Ok(PortRange { first, last })
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Text(String),
            One(u16),
        }
        match Given::deserialize(d)? {
            Given::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Given::One(p) => format!("{p}").parse().map_err(serde::de::Error::custom),
        }
    }
}

/// What the load balancer does with one instance behind one exposed port, as the reconciler last
/// saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendView {
    /// Where HAProxy reaches it, once known.
    pub address: Option<SocketAddr>,
    /// Its state.
    pub state: BackendState,
    /// Current sessions.
    pub sessions: u64,
    /// Requests (HTTP) or connections (TCP) since it was added.
    pub requests: u64,
    /// The last check, in HAProxy's words.
    pub last_check: Option<String>,
}

/// One exposed port as the reconciler last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortView {
    /// Whether its frontend listens.
    pub frontend: FrontendState,
    /// Why it cannot, when it cannot.
    pub error: Option<String>,
    /// Each instance of the member that the reconciler knows about.
    pub backends: HashMap<InstanceId, BackendView>,
}

/// Everything the reconciler last saw, for the API to read without calling HAProxy.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// When it was taken (`None` before the first pass).
    pub at: Option<Instant>,
    /// Per exposed port.
    pub ports: HashMap<ExposedPortId, PortView>,
    /// Frontends HAProxy listens on.
    pub frontends: u32,
    /// Servers in its backends.
    pub servers: u32,
}

/// Whether this process can route, and what went wrong last.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Why routing is unavailable (no HAProxy, a socket path too long, HAProxy will not start);
    /// `None` while it works.
    pub unavailable: Option<String>,
    /// The last error of a pass that otherwise carried on (a reload HAProxy refused, a port it
    /// cannot bind), for the status endpoint.
    pub last_error: Option<String>,
    /// HAProxy's version.
    pub version: Option<String>,
    /// The master's pid, while attached.
    pub master_pid: Option<u32>,
}

/// How waiting for a drain ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// The instance serves no exposed port: there was nothing to drain.
    NotRouted,
    /// Every live load balancer confirmed that it no longer has the instance.
    Everywhere {
        /// How many load balancers confirmed.
        nodes: usize,
        /// How long it took.
        after: Duration,
    },
    /// Not every live load balancer confirmed in time; the caller goes on (health checks take
    /// the instance out where the drain did not).
    TimedOut {
        /// The load balancers that had not confirmed.
        missing: Vec<String>,
    },
}

/// The handle on this process's routing, shared by the reconciler, the API and jobs.
#[derive(Debug)]
pub struct Routing {
    node: String,
    wake: Notify,
    view: RwLock<Arc<View>>,
    health: RwLock<Health>,
    /// Seconds of heartbeat age after which a node no longer counts as alive.
    live_window: f64,
    /// Longest a drain may take on a node: the drain timeout, plus HAProxy's purge of idle
    /// connections, plus passes of the reconciler.
    drain_bound: Duration,
    /// Signalled after every pass (waiters on the view use it).
    passed: tokio::sync::watch::Sender<u64>,
    /// Set once this process stops routing: the reconciler ends and starts nothing more.
    closed: std::sync::atomic::AtomicBool,
    /// The runtime API of the HAProxy the reconciler holds, while it holds one (for metrics).
    runtime: RwLock<Option<haproxy::RuntimeApi>>,
}

impl Routing {
    /// The handle for a process with these settings. The node name is the machine and the
    /// HAProxy directory: a restarted Mosaic on the same data directory is the same node.
    pub fn new(settings: &Settings) -> Self {
        let dir = std::path::absolute(haproxy_dir(settings)).unwrap_or_else(|_| haproxy_dir(settings));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        let interval = settings.routing_interval.as_secs_f64();
        Routing {
            node: format!("{host}:{}", dir.display()),
            wake: Notify::new(),
            view: RwLock::default(),
            health: RwLock::default(),
            live_window: (interval * 5.0).max(5.0),
            drain_bound: settings.drain_timeout + settings.routing_interval * 3 + Duration::from_secs(8),
            passed: tokio::sync::watch::channel(0).0,
            closed: std::sync::atomic::AtomicBool::new(false),
            runtime: RwLock::default(),
        }
    }

    /// This load balancer's name among Mosaic's.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Asks the reconciler to compare HAProxy with the database now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What the reconciler last saw.
    pub fn view(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether routing works here, and what went wrong last.
    pub fn health(&self) -> Health {
        self.health.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until every live load balancer has confirmed that `instance` — held out of rotation
    /// by [`RotationHold::hold`], written by the caller first — is drained and gone from its
    /// backends, for at most the drain bound (drain timeout + idle-connection purge + a few
    /// reconciler passes). A database failure while waiting is returned.
    pub async fn wait_drained(&self, pool: &DbPool, instance: InstanceId) -> Result<Drained, db::Error> {
        let start = Instant::now();
        self.wake();
        let window = self.live_window;
        loop {
            let (hold, live) = db::query(pool, move |conn| {
                Ok((RotationHold::find(conn, instance)?, RoutingNode::live(conn, window)?))
            })
            .await?;
            let Some(hold) = hold else {
                // Put back (or the instance is gone) meanwhile: nothing to wait for.
                return Ok(Drained::NotRouted);
            };
            let missing: Vec<String> = live.iter().filter(|n| !hold.drained_by(n)).cloned().collect();
            if missing.is_empty() {
                return Ok(Drained::Everywhere { nodes: live.len(), after: start.elapsed() });
            }
            if start.elapsed() >= self.drain_bound {
                return Ok(Drained::TimedOut { missing });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until this process's HAProxy has `instance` in rotation (UP) behind every port its
    /// member exposes, for at most `timeout`; `false` if it did not get there (not ready, checks
    /// failing, or held out of rotation). An instance of a member without exposed ports is never
    /// in rotation.
    pub async fn wait_serving(&self, instance: InstanceId, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut passed = self.passed.subscribe();
        self.wake();
        loop {
            let view = self.view();
            let states: Vec<BackendState> =
                view.ports.values().filter_map(|p| p.backends.get(&instance)).map(|b| b.state).collect();
            if !states.is_empty() && states.iter().all(|s| *s == BackendState::Up) {
                return true;
            }
            if tokio::time::timeout_at(deadline.into(), passed.changed()).await.is_err() {
                return false;
            }
        }
    }

    /// Stops this process's reconciling: the reconciler ends at its next step and starts no
    /// HAProxy from then on. HAProxy itself keeps running (it outlives Mosaic by design); whoever
    /// owns it stops it (tests do, through its pidfile).
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake();
    }

    /// Whether [`Routing::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn set_view(&self, view: View) {
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(view);
        self.passed.send_modify(|n| *n += 1);
    }

    pub(crate) fn set_runtime(&self, runtime: Option<haproxy::RuntimeApi>) {
        *self.runtime.write().unwrap_or_else(|e| e.into_inner()) = runtime;
    }

    /// The runtime API of the HAProxy this process holds, while it holds one.
    pub fn runtime(&self) -> Option<haproxy::RuntimeApi> {
        self.runtime.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn update_health(&self, change: impl FnOnce(&mut Health)) {
        change(&mut self.health.write().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// The load balancer's servers for the metrics: those of the HAProxy this process holds (through
/// [`HaproxyBackends`](crate::metrics::backends::HaproxyBackends)), and none while it holds none —
/// HAProxy is started only once a port is exposed, and a scrape before that is not an error.
/// Registered once at startup; it follows the reconciler across restarts of HAProxy.
#[derive(Debug, Clone)]
pub struct RoutingBackends(pub Arc<Routing>);

impl crate::metrics::backends::BackendSource for RoutingBackends {
    fn servers(
        &self,
    ) -> futures::future::BoxFuture<'_, anyhow::Result<Vec<crate::metrics::backends::BackendServer>>> {
        Box::pin(async move {
            match self.0.runtime() {
                Some(runtime) => crate::metrics::backends::HaproxyBackends(runtime).servers().await,
                None => Ok(Vec::new()),
            }
        })
    }
}

/// Health check timing of every server: checks every `interval`; 2 passes in a row put a server
/// up, 3 failures in a row take it down. Three, not two: on a loaded machine one stall of the
/// instance's proxy or of the guest must not take every server down at once (seen in tests with
/// two: all three instances went DOWN together for a moment under a parallel test run).
pub fn check_timing(interval: std::time::Duration) -> haproxy::CheckTiming {
    haproxy::CheckTiming { interval, rise: 2, fall: 3 }
}

/// Where this process's HAProxy keeps its files: `haproxy` in Mosaic's data directory.
pub fn haproxy_dir(settings: &Settings) -> std::path::PathBuf {
    settings.data_dir.join("haproxy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_and_refuse_nonsense() {
        assert_eq!("30000-30999".parse::<PortRange>(), Ok(PortRange::new(30000, 30999)));
        assert_eq!("8080".parse::<PortRange>().map(|r| r.len()), Ok(1));
        assert!("0-10".parse::<PortRange>().is_err());
        assert!("20-10".parse::<PortRange>().is_err());
        assert!("1-70000".parse::<PortRange>().is_err());
        assert_eq!(PortRange::new(31000, 32767).len(), 1768);
        assert!(PortRange::new(1, 2).contains(2));
    }
}
