//! The reconciler: one task per Mosaic process that keeps its own HAProxy in agreement with the
//! database.
//!
//! Every pass compares what should be ([`desired::compute`] over the database and the host cache)
//! with what is (`show servers state`, `show stat`, the proxy devices the host cache saw) and
//! converges:
//! - frontends: a set of listening services that differs from what HAProxy was given is applied
//!   with one seamless reload (`Haproxy::reload`, which carries the running servers and their
//!   states over); HAProxy is started the first time there is something to serve, and attached to
//!   when Mosaic starts (it outlives Mosaic);
//! - membership, without reloads: a missing server is added in maintenance with its checks on; an
//!   admitted server whose checks pass is put in rotation (`state ready`); a server that should not
//!   be there (stopped, held, moved) is drained — drain, wait for its sessions, maint, delete — in a
//!   task of its own, so one slow drain holds nothing else up;
//! - proxy devices ([`devices`]): a host port is allocated for a started instance reached through
//!   one, the device is added to the instance (LXD applies it at once), and devices of ports no
//!   longer exposed are removed;
//! - drains: an instance held out of rotation that this HAProxy no longer has is confirmed in the
//!   database under this node's name, which is what a job waits for before it stops the instance.
//!
//! It runs when woken (a request that changed routing; a job that started an instance, recorded
//! its readiness or takes it out of rotation), and otherwise every
//! `routing_interval`; while a server waits for its checks to pass it looks at `show stat` every
//! 100 ms without re-reading the database, which is what puts a newly ready instance in rotation
//! within a fraction of a second. Nothing is remembered across passes that the next pass could not
//! find out again: a lost wake-up, an out-of-band `del server` or a Mosaic restart is healed by
//! the next full pass.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use haproxy::{Config, Haproxy, Name, Rejection, ServerStateRow, ServerStatus, StatRow};
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::routing::{ExposedPort, HostRoutingRow, InstancePort, RotationHold, RoutingNode};
use mosaic_types::hosts::HostTransport;
use mosaic_types::routing::{BackendState, FrontendState};
use mosaic_types::{DeploymentId, ExposedPortId, HostId, InstanceId};
use tokio::task::JoinHandle;

use super::desired::{self, Desired, Inputs, Params, Plan};
use super::{BackendView, PortView, View, allocate};
use crate::db;
use crate::state::AppState;

mod devices;

use devices::{Ensure, Stale};

/// How often the reconciler looks at `show stat` while a server waits for its checks.
const FAST: Duration = Duration::from_millis(100);
/// Least time between two passes, however often it is woken (a deploy's readiness verdicts come
/// in bursts).
const MIN_SPACING: Duration = Duration::from_millis(50);
/// How long a missing HAProxy binary is believed before looking again.
const BINARY_RECHECK: Duration = Duration::from_secs(30);
/// How long a host name's address is kept.
const RESOLVE_AGAIN: Duration = Duration::from_secs(60);
/// Unix socket paths are limited to 108 bytes with the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Runs the reconciler of this process until the process ends.
pub async fn run(state: AppState) {
    let mut reconciler = Reconciler::new(state.clone());
    let mut next_full = Instant::now();
    while !state.routing.is_closed() {
        let started = Instant::now();
        if started >= next_full || reconciler.woken {
            reconciler.woken = false;
            reconciler.full_pass().await;
            next_full = Instant::now() + state.settings.routing_interval;
        } else {
            reconciler.light_pass().await;
        }
        let pause =
            if reconciler.busy() { FAST } else { next_full.saturating_duration_since(Instant::now()) };
        tokio::time::sleep(MIN_SPACING.saturating_sub(started.elapsed())).await;
        tokio::select! {
            () = state.routing.woken() => reconciler.woken = true,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

struct Reconciler {
    state: AppState,
    settings: haproxy::Settings,
    params: Params,
    haproxy: Option<Haproxy>,
    /// The services (without servers) HAProxy was last given; `None` forces a reload.
    applied: Option<Vec<haproxy::Service>>,
    drains: HashMap<(Name, Name), JoinHandle<()>>,
    devices: HashMap<(InstanceId, String), Ensure>,
    /// Stale proxy devices: first seen stale, and whether a removal runs.
    stale: HashMap<(InstanceId, String), Stale>,
    host_addresses: HashMap<HostId, (Option<IpAddr>, Instant)>,
    bind_errors: HashMap<ExposedPortId, String>,
    /// What the last full pass computed, for light passes.
    desired: Desired,
    /// Servers that wait for their checks to pass before they go in rotation.
    admitting: HashSet<(Name, Name)>,
    last_beat: Option<Instant>,
    binary_checked: Option<(Instant, Result<String, String>)>,
    woken: bool,
    last_pass: Option<Instant>,
}

impl Reconciler {
    fn new(state: AppState) -> Self {
        let s = &state.settings;
        let settings = haproxy::Settings::new(&s.haproxy_bin, super::haproxy_dir(s));
        let params =
            Params { frontend_bind: s.frontend_bind, timing: super::check_timing(s.health_check_interval) };
        Reconciler {
            state,
            settings,
            params,
            haproxy: None,
            applied: None,
            drains: HashMap::new(),
            devices: HashMap::new(),
            stale: HashMap::new(),
            host_addresses: HashMap::new(),
            bind_errors: HashMap::new(),
            desired: Desired::default(),
            admitting: HashSet::new(),
            last_beat: None,
            binary_checked: None,
            woken: true,
            last_pass: None,
        }
    }

    /// Whether something is under way that the next pass should look at soon.
    fn busy(&mut self) -> bool {
        self.drains.retain(|_, t| !t.is_finished());
        !self.admitting.is_empty()
            || !self.drains.is_empty()
            || self.devices.values().any(|d| matches!(d, Ensure::InFlight { .. }))
    }

    /// Whether HAProxy can be run here: the binary answers `-v` (looked at again every 30 s
    /// while it does not), and the socket paths fit.
    async fn usable(&mut self) -> Result<String, String> {
        if let Some((at, verdict)) = &self.binary_checked
            && (verdict.is_ok() || at.elapsed() < BINARY_RECHECK)
        {
            return verdict.clone();
        }
        let socket = haproxy::Paths::in_dir(super::haproxy_dir(&self.state.settings)).master_socket;
        let socket = std::path::absolute(&socket).unwrap_or(socket);
        let verdict = if socket.as_os_str().len() > MAX_SOCKET_PATH {
            Err(format!(
                "HAProxy's socket path {} is longer than {MAX_SOCKET_PATH} bytes; use a shorter data directory",
                socket.display()
            ))
        } else {
            haproxy::version(&self.settings.binary).await.map_err(|e| match e {
                haproxy::Error::NotInstalled { path } => format!(
                    "HAProxy is not installed at {} (install Debian's `haproxy`, or set MOSAIC_HAPROXY_BIN)",
                    path.display()
                ),
                other => other.to_string(),
            })
        };
        if let Err(reason) = &verdict {
            tracing::warn!(reason, "routing is unavailable");
        }
        self.binary_checked = Some((Instant::now(), verdict.clone()));
        verdict
    }

    async fn full_pass(&mut self) {
        let version = match self.usable().await {
            Ok(v) => v,
            Err(reason) => {
                self.state.routing.update_health(|h| {
                    h.unavailable = Some(reason);
                    h.master_pid = None;
                });
                self.state.routing.set_view(View { at: Some(Instant::now()), ..View::default() });
                return;
            }
        };
        self.state.routing.update_health(|h| h.version = Some(version));
        let loaded = load(&self.state).await;
        let (inputs, hosts) = match loaded {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "routing: cannot read the database");
                self.state
                    .routing
                    .update_health(|h| h.last_error = Some(format!("cannot read the database: {e}")));
                return;
            }
        };
        let snapshots = self.state.cache.all();
        self.resolve_hosts(&hosts).await;
        let addresses: HashMap<HostId, IpAddr> =
            self.host_addresses.iter().filter_map(|(id, (ip, _))| ip.map(|ip| (*id, ip))).collect();
        let desired = desired::compute(&inputs, &snapshots, &addresses, self.params);
        if !desired.allocate.is_empty() {
            self.allocate(&desired.allocate, &addresses).await;
        }
        let ready_devices = self.ensure_devices(&desired, &hosts, &snapshots).await;
        if let Err(e) = self.attach().await {
            tracing::warn!(error = %e, "routing: cannot attach to HAProxy");
        }
        // Servers HAProxy has already stay in the configuration whatever this process knows of
        // their proxy devices (after a restart it knows nothing yet): a reload must not drop them.
        let present: HashSet<(String, String, std::net::SocketAddr)> = match &self.haproxy {
            Some(hx) => hx
                .runtime()
                .show_servers_state(None)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let addr = r.socket_addr();
                    (r.backend, r.server, addr)
                })
                .collect(),
            None => HashSet::new(),
        };
        let config = self.config_for(&desired, &ready_devices, &present);
        match self.apply(&config).await {
            Ok(()) => {
                let master_pid = self.haproxy.as_ref().map(Haproxy::master_pid);
                self.state.routing.update_health(|h| {
                    h.unavailable = None;
                    h.master_pid = master_pid;
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "routing: cannot apply the configuration");
                let running = self.haproxy.is_some();
                self.state.routing.update_health(|h| {
                    if running {
                        h.last_error = Some(e.to_string());
                    } else {
                        h.unavailable = Some(format!("HAProxy cannot be started: {e}"));
                        h.master_pid = None;
                    }
                });
                if matches!(e, haproxy::Error::Io { .. }) {
                    self.lost_haproxy();
                }
                if !running {
                    self.desired = desired;
                    return;
                }
            }
        }
        let observed = self.observe().await;
        let confirmed = match &observed {
            Some((rows, stats)) => {
                self.converge(&desired, &config, rows, stats).await;
                self.drained(&desired, &inputs.holds, Some(rows))
            }
            // No HAProxy runs (nothing to serve): nothing to drain anywhere here.
            None if self.haproxy.is_none() => self.drained(&desired, &inputs.holds, None),
            None => Vec::new(),
        };
        let reached = observed.is_some() || self.haproxy.is_none();
        if reached {
            self.record(&confirmed).await;
        }
        self.collect_stale_devices(&desired, &hosts, &snapshots).await;
        self.publish(&desired, &config, observed.as_ref().map(|(_, s)| s.as_slice()));
        self.desired = desired;
        self.last_pass = Some(Instant::now());
    }

    /// Between full passes: put in rotation what now passes its checks, and refresh the figures.
    async fn light_pass(&mut self) {
        if self.haproxy.is_none() {
            return;
        }
        let Some((rows, stats)) = self.observe().await else { return };
        if !self.admitting.is_empty() {
            self.admit(&rows, &stats).await;
        }
        let config = self.config_for_applied();
        let desired = std::mem::take(&mut self.desired);
        self.publish(&desired, &config, Some(&stats));
        self.desired = desired;
    }

    /// `show servers state` and `show stat`; `None` (and HAProxy forgotten if it is gone) on failure.
    async fn observe(&mut self) -> Option<(Vec<ServerStateRow>, Vec<StatRow>)> {
        let hx = self.haproxy.as_ref()?;
        let runtime = hx.runtime();
        let read = async {
            Ok::<_, haproxy::Error>((runtime.show_servers_state(None).await?, runtime.show_stat().await?))
        };
        match read.await {
            Ok(read) => Some(read),
            Err(e) => {
                tracing::warn!(error = %e, "routing: cannot read HAProxy's state");
                self.state.routing.update_health(|h| h.last_error = Some(e.to_string()));
                if matches!(e, haproxy::Error::Io { .. }) {
                    self.lost_haproxy();
                }
                None
            }
        }
    }

    /// HAProxy stopped answering: attach or start again next pass, and reload then.
    fn lost_haproxy(&mut self) {
        self.state.routing.set_runtime(None);
        if self.haproxy.take().is_some() {
            tracing::warn!("routing: HAProxy stopped answering; attaching or starting it again");
        }
        self.applied = None;
    }

    /// Where each host's proxy devices listen: a unix-socket host is this machine (loopback); an
    /// HTTPS host listens on the address of its URL (a name is resolved, unless hosts are
    /// restricted to networks, where names are refused anyway).
    async fn resolve_hosts(&mut self, hosts: &[Host]) {
        self.host_addresses.retain(|id, _| hosts.iter().any(|h| h.id == *id));
        for host in hosts {
            if let Some((_, at)) = self.host_addresses.get(&host.id)
                && at.elapsed() < RESOLVE_AGAIN
            {
                continue;
            }
            let ip = match host.transport {
                HostTransport::Unix => Some(IpAddr::from([127, 0, 0, 1])),
                HostTransport::Https => {
                    let parsed = host.url.as_deref().and_then(|u| url::Url::parse(u).ok());
                    match parsed.as_ref().and_then(|u| u.host()) {
                        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                        Some(url::Host::Domain(name)) if self.state.settings.host_allowlist.is_none() => {
                            tokio::net::lookup_host((name, 0))
                                .await
                                .ok()
                                .and_then(|mut a| a.next())
                                .map(|a| a.ip())
                        }
                        _ => None,
                    }
                }
            };
            self.host_addresses.insert(host.id, (ip, Instant::now()));
        }
    }

    /// HAProxy's configuration: a service per exposed port whose frontend should listen and can,
    /// with the servers that can be reached now.
    fn config_for(
        &mut self,
        desired: &Desired,
        ready_devices: &HashSet<(InstanceId, String)>,
        present: &HashSet<(String, String, std::net::SocketAddr)>,
    ) -> Config {
        // Addresses HAProxy listens on already cannot be test-bound: after attaching (nothing
        // applied by this process yet), they are those of the running configuration.
        let bound: HashSet<std::net::SocketAddr> = match (&self.applied, &self.haproxy) {
            (Some(applied), _) => applied.iter().map(|s| s.bind).collect(),
            (None, Some(hx)) => running_binds(&hx.paths().config),
            (None, None) => HashSet::new(),
        };
        let mut services = Vec::new();
        for d in desired.services.iter().filter(|d| d.listen) {
            let mut service = d.service.clone();
            if !bound.contains(&service.bind) {
                match allocate::bindable(service.bind) {
                    Ok(()) => {
                        self.bind_errors.remove(&d.port);
                    }
                    Err(e) => {
                        self.bind_errors.insert(d.port, format!("cannot listen on {}: {e}", service.bind));
                        continue;
                    }
                }
            } else {
                self.bind_errors.remove(&d.port);
            }
            let name = service.name.to_string();
            service.servers = d
                .members
                .iter()
                .filter_map(|m| match &m.plan {
                    Plan::Server { addr, device, .. }
                        if device
                            .as_ref()
                            .is_none_or(|d| ready_devices.contains(&(d.instance, d.name.clone())))
                            || present.contains(&(name.clone(), m.server.to_string(), *addr)) =>
                    {
                        Some(haproxy::Server { name: m.server.clone(), addr: *addr })
                    }
                    _ => None,
                })
                .collect();
            services.push(service);
        }
        self.bind_errors.retain(|id, _| desired.services.iter().any(|s| s.port == *id && s.listen));
        Config { services, ..Config::default() }
    }

    /// The configuration HAProxy was last given (for light passes, which do not recompute it).
    fn config_for_applied(&self) -> Config {
        Config { services: self.applied.clone().unwrap_or_default(), ..Config::default() }
    }

    /// Attaches to the HAProxy running in the data directory, if one runs and none is held yet
    /// (after a Mosaic restart, or after HAProxy stopped answering). What it serves is unknown
    /// then, so the next apply reloads it.
    async fn attach(&mut self) -> Result<(), haproxy::Error> {
        if self.haproxy.is_some() {
            return Ok(());
        }
        if let Some(hx) = Haproxy::attach(self.settings.clone()).await? {
            tracing::info!(master_pid = hx.master_pid(), "routing: attached to the running HAProxy");
            self.state.routing.set_runtime(Some(hx.runtime().clone()));
            self.haproxy = Some(hx);
            self.applied = None;
        }
        Ok(())
    }

    /// Attaches to or starts HAProxy as needed, and reloads when the frontends changed.
    async fn apply(&mut self, config: &Config) -> Result<(), haproxy::Error> {
        let services: Vec<haproxy::Service> =
            config.services.iter().map(|s| haproxy::Service { servers: Vec::new(), ..s.clone() }).collect();
        if self.haproxy.is_none() {
            self.attach().await?;
        }
        if self.haproxy.is_none() {
            // Nothing to serve, or a process that stopped routing: start nothing (it would not
            // be looked after).
            if services.is_empty() || self.state.routing.is_closed() {
                return Ok(());
            }
            let hx = Haproxy::start(self.settings.clone(), config).await?;
            tracing::info!(
                master_pid = hx.master_pid(),
                frontends = services.len(),
                "routing: started HAProxy"
            );
            self.state.routing.set_runtime(Some(hx.runtime().clone()));
            self.haproxy = Some(hx);
            self.applied = Some(services);
            return Ok(());
        }
        if self.applied.as_ref() != Some(&services)
            && let Some(hx) = &self.haproxy
        {
            let report = hx.reload(config).await?;
            tracing::info!(
                frontends = services.len(),
                added = report.added.len(),
                "routing: reloaded HAProxy"
            );
            self.applied = Some(services);
        }
        Ok(())
    }

    /// Membership: drain what should not be there, add what is missing, admit what passes.
    async fn converge(
        &mut self,
        desired: &Desired,
        config: &Config,
        rows: &[ServerStateRow],
        stats: &[StatRow],
    ) {
        let Some(hx) = &self.haproxy else { return };
        let runtime = hx.runtime().clone();
        self.drains.retain(|_, t| !t.is_finished());
        self.admitting.clear();
        for service in &config.services {
            let backend = &service.name;
            let wanted: HashMap<&str, &haproxy::Server> =
                service.servers.iter().map(|s| (s.name.as_str(), s)).collect();
            let admit: HashMap<&str, bool> = desired
                .services
                .iter()
                .find(|d| &d.service.name == backend)
                .map(|d| {
                    d.members
                        .iter()
                        .filter_map(|m| match m.plan {
                            Plan::Server { admit, .. } => Some((m.server.as_str(), admit)),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let present: HashMap<&str, &ServerStateRow> = rows
                .iter()
                .filter(|r| r.backend == backend.as_str())
                .map(|r| (r.server.as_str(), r))
                .collect();
            for (name, row) in &present {
                let keep = wanted.get(name).is_some_and(|w| w.addr == row.socket_addr());
                let in_rotation = !row.admin.maint() && !row.admin.drain();
                let admitted = admit.get(name).copied().unwrap_or(false);
                // Waiting in maintenance with its checks off (paused by HAProxy, or `enable
                // health` lost) it could never be admitted: remove it, the next pass adds it anew.
                let unchecked = keep && row.admin.maint() && !row.checks_running();
                if unchecked {
                    tracing::warn!(backend = %backend, server = %name, check_state = row.check_state, "routing: a server waiting for its checks has them off; adding it again");
                }
                if (!keep || unchecked || (in_rotation && !admitted))
                    && let Ok(server) = Name::new(*name)
                {
                    self.drain(&runtime, backend.clone(), server);
                }
            }
            for server in &service.servers {
                let key = (backend.clone(), server.name.clone());
                if self.drains.contains_key(&key) {
                    continue;
                }
                match present.get(server.name.as_str()) {
                    None => {
                        match runtime.add_server(backend, &server.name, server.addr, &service.timing).await {
                            Ok(()) => {
                                tracing::info!(backend = %backend, server = %server.name, addr = %server.addr, "routing: added a server (in maintenance until it is admitted)");
                                if admit.get(server.name.as_str()).copied().unwrap_or(false) {
                                    self.admitting.insert(key);
                                }
                            }
                            Err(e) if e.rejection() == Some(Rejection::AlreadyExists) => {}
                            Err(e) => {
                                tracing::warn!(backend = %backend, server = %server.name, error = %e, "routing: cannot add a server")
                            }
                        }
                    }
                    Some(row) => {
                        let in_rotation = !row.admin.maint() && !row.admin.drain();
                        if !in_rotation && admit.get(server.name.as_str()).copied().unwrap_or(false) {
                            self.admitting.insert(key);
                        }
                    }
                }
            }
        }
        self.admit(rows, stats).await;
    }

    /// Puts in rotation every admitted server whose checks pass; the others keep waiting.
    async fn admit(&mut self, rows: &[ServerStateRow], stats: &[StatRow]) {
        let Some(hx) = &self.haproxy else { return };
        let runtime = hx.runtime();
        let mut still = HashSet::new();
        for (backend, server) in std::mem::take(&mut self.admitting) {
            let row = rows.iter().find(|r| r.backend == backend.as_str() && r.server == server.as_str());
            let Some(row) = row else {
                // Added this pass: its checks have not run yet.
                still.insert((backend, server));
                continue;
            };
            if !row.admin.maint() && !row.admin.drain() {
                continue;
            }
            let passing = stats
                .iter()
                .find(|s| s.proxy == backend.as_str() && s.server == server.as_str())
                .is_some_and(StatRow::checks_passing);
            if !passing {
                still.insert((backend, server));
                continue;
            }
            match runtime.set_state(&backend, &server, haproxy::AdminState::Ready).await {
                Ok(()) => tracing::info!(backend = %backend, server = %server, "routing: in rotation"),
                Err(e) => {
                    tracing::warn!(backend = %backend, server = %server, error = %e, "routing: cannot put a server in rotation");
                    still.insert((backend, server));
                }
            }
        }
        self.admitting = still;
    }

    /// Drains a server in the background (drain, wait for its sessions, maint, delete), unless a
    /// drain of it runs already.
    fn drain(&mut self, runtime: &haproxy::RuntimeApi, backend: Name, server: Name) {
        let key = (backend.clone(), server.clone());
        if self.drains.get(&key).is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.admitting.remove(&key);
        let (runtime, routing, timeout) =
            (runtime.clone(), self.state.routing.clone(), self.state.settings.drain_timeout);
        tracing::info!(backend = %backend, server = %server, "routing: draining a server");
        let task = tokio::spawn(async move {
            match runtime.drain(&backend, &server, timeout).await {
                Ok(report) => tracing::info!(
                    backend = %backend, server = %server, elapsed_ms = report.elapsed.as_millis() as u64,
                    sessions_cut = report.sessions_left, "routing: server drained and removed"
                ),
                Err(e) => {
                    tracing::warn!(backend = %backend, server = %server, error = %e, "routing: drain failed")
                }
            }
            routing.wake();
        });
        self.drains.insert(key, task);
    }

    /// The held instances this HAProxy has drained: none of their servers is left in any
    /// backend, and no drain of one runs (`rows` is `None` when no HAProxy runs here at all).
    fn drained(
        &self,
        desired: &Desired,
        holds: &[RotationHold],
        rows: Option<&[ServerStateRow]>,
    ) -> Vec<InstanceId> {
        let node = self.state.routing.node();
        holds
            .iter()
            .filter(|h| !h.drained_by(node))
            .filter(|h| {
                // A proxy device being added to it or removed from it is an LXD update the
                // caller's next LXD call (a stop, a deletion) would collide with ("Instance is
                // busy running a update operation"): it must be over too.
                let adding = self.devices.iter().any(|((instance, _), ensure)| {
                    *instance == h.instance_id
                        && matches!(ensure, Ensure::InFlight { task, .. } if !task.is_finished())
                });
                let removing = self.stale.iter().any(|((instance, _), (_, task))| {
                    *instance == h.instance_id && task.as_ref().is_some_and(|t| !t.is_finished())
                });
                let updating = adding || removing;
                if updating {
                    return false;
                }
                let Some(rows) = rows else { return true };
                let names: Vec<(&Name, &Name)> = desired
                    .services
                    .iter()
                    .flat_map(|s| s.members.iter().map(move |m| (&s.service.name, m)))
                    .filter(|(_, m)| m.instance == h.instance_id)
                    .map(|(b, m)| (b, &m.server))
                    .collect();
                names.iter().all(|(b, s)| {
                    !rows.iter().any(|r| r.backend == b.as_str() && r.server == s.as_str())
                        && self.drains.get(&((*b).clone(), (*s).clone())).is_none_or(|t| t.is_finished())
                })
            })
            .map(|h| h.instance_id)
            .collect()
    }

    /// Writes this node's heartbeat (at most once a second) and its drain confirmations.
    async fn record(&mut self, confirmed: &[InstanceId]) {
        let beat = self.last_beat.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        if !beat && confirmed.is_empty() {
            return;
        }
        let node = self.state.routing.node().to_owned();
        let confirmed = confirmed.to_vec();
        let written = db::run(&self.state.pool, move |conn| {
            RoutingNode::beat(conn, &node)?;
            if !confirmed.is_empty() {
                RotationHold::confirm(conn, &confirmed, &node)?;
            }
            Ok::<_, db::Error>(())
        })
        .await;
        match written {
            Ok(()) => self.last_beat = Some(Instant::now()),
            Err(e) => tracing::warn!(error = %e, "routing: cannot record drains"),
        }
    }

    /// Publishes what HAProxy does with each exposed port's instances, for the API.
    fn publish(&self, desired: &Desired, config: &Config, stats: Option<&[StatRow]>) {
        let listening: HashSet<&Name> = self.applied.iter().flatten().map(|s| &s.name).collect();
        let available = self.haproxy.is_some() || config.services.is_empty();
        let mut ports = HashMap::new();
        for d in &desired.services {
            let name = &d.service.name;
            let error = self.bind_errors.get(&d.port).cloned();
            let frontend = if !d.listen {
                FrontendState::Down
            } else if error.is_some() || !available {
                FrontendState::Unavailable
            } else if listening.contains(name) {
                FrontendState::Listening
            } else {
                FrontendState::Pending
            };
            let mut backends = HashMap::new();
            for m in &d.members {
                let row = stats.and_then(|s| {
                    s.iter().find(|r| r.proxy == name.as_str() && r.server == m.server.as_str())
                });
                let (address, admit) = match &m.plan {
                    Plan::Server { addr, admit, .. } => (Some(*addr), *admit),
                    _ => (None, false),
                };
                let state = match (&m.plan, row) {
                    (Plan::Stopped, _) => BackendState::Stopped,
                    (_, Some(row)) => backend_state(row, admit),
                    (Plan::Held, None) => BackendState::Maint,
                    (_, None) => BackendState::NotReady,
                };
                backends.insert(
                    m.instance,
                    BackendView {
                        address: address
                            .or_else(|| row.and_then(|r| r.addr.as_deref()).and_then(|a| a.parse().ok())),
                        state,
                        sessions: row.map(|r| r.scur).unwrap_or(0),
                        requests: row.map(|r| r.req_tot.unwrap_or(r.stot)).unwrap_or(0),
                        last_check: row.filter(|r| r.check_status.is_some()).map(StatRow::last_check),
                    },
                );
            }
            ports.insert(d.port, PortView { frontend, error, backends });
        }
        let frontends = u32::try_from(listening.len()).unwrap_or(u32::MAX);
        let servers = stats
            .map(|s| s.iter().filter(|r| r.kind == haproxy::RowKind::Server).count())
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        self.state.routing.set_view(View { at: Some(Instant::now()), ports, frontends, servers });
    }
}

/// What a server's `show stat` row means for the operator; `admit` is whether Mosaic wants it in
/// rotation (a server Mosaic keeps in maintenance because its instance is not ready is "not
/// ready", one whose checks fail is "down").
pub fn backend_state(row: &StatRow, admit: bool) -> BackendState {
    match &row.status {
        ServerStatus::Up | ServerStatus::NoCheck | ServerStatus::NoLb => BackendState::Up,
        ServerStatus::Down => BackendState::Down,
        ServerStatus::Drain => BackendState::Drain,
        ServerStatus::Maint if admit && checks_failing(row) => BackendState::Down,
        ServerStatus::Maint if admit => BackendState::NotReady,
        ServerStatus::Maint => BackendState::NotReady,
        _ => BackendState::NotReady,
    }
}

/// Whether the last health check failed (as opposed to not having run yet).
fn checks_failing(row: &StatRow) -> bool {
    !row.checks_passing()
        && row
            .check_status
            .as_deref()
            .is_some_and(|s| !matches!(s, "INI" | "L4OK" | "L6OK" | "L7OK" | "L7OKC" | "UNK" | "SOCKERR"))
}

/// The addresses a running HAProxy's configuration file binds (the file is rendered by the
/// `haproxy` crate: one `    bind <address>` line per frontend).
fn running_binds(config: &std::path::Path) -> HashSet<std::net::SocketAddr> {
    std::fs::read_to_string(config)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("    bind "))
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// Reads what the computation needs, in one go.
async fn load(state: &AppState) -> Result<(Inputs, Vec<Host>), db::Error> {
    db::query(&state.pool, |conn| {
        let ports = ExposedPort::all(conn)?;
        let holds = RotationHold::all(conn)?;
        let hosts = Host::all(conn)?;
        if ports.is_empty() {
            // Nothing exposed (the usual case for many installations): nothing else to read.
            return Ok((Inputs { holds, ..Inputs::default() }, hosts));
        }
        let mut deployments: Vec<DeploymentId> = ports.iter().map(|p| p.deployment_id).collect();
        deployments.dedup();
        let instances = Instance::for_deployments(conn, &deployments)?;
        let reach = HostRoutingRow::all(conn)?.into_iter().map(|r| (r.host_id, r.reach)).collect();
        let allocations = InstancePort::all(conn)?;
        Ok((Inputs { ports, instances, reach, allocations, holds }, hosts))
    })
    .await
}
