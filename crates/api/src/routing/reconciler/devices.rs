//! Proxy devices: the LXD side of routing through a host port. A started instance of an exposed
//! port on a host reached through proxy devices gets a port allocated on that host, then a
//! `proxy` device listening there and connecting to the service inside (added in the background;
//! LXD applies it at once); a device of a port no longer exposed is removed once every HAProxy
//! has dropped its frontend.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::routing::InstancePort;
use mosaic_types::{ExposedPortId, HostId, InstanceId};
use tokio::task::JoinHandle;

use super::Reconciler;
use crate::db;
use crate::overview::Snapshots;
use crate::routing::allocate;
use crate::routing::desired::{Desired, DeviceSpec, Plan};

/// A proxy device seen on an instance after Mosaic added it is trusted; one the host cache does not
/// show this long after it was added is added again.
const DEVICE_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// A proxy device being added, or added.
pub(super) enum Ensure {
    /// `add_device` is running.
    InFlight { listen: String, task: JoinHandle<Result<(), String>> },
    /// LXD took it at `at`.
    Done { listen: String, at: DateTime<Utc> },
}

/// A proxy device of a port no longer exposed: since when, and its removal once under way.
pub(super) type Stale = (Instant, Option<JoinHandle<()>>);

impl Reconciler {
    /// Allocates host ports for proxy devices: free in the database (across hosts, since test
    /// hosts share a machine) and, on a host that is this machine, free right now.
    pub(super) async fn allocate(
        &mut self,
        wanted: &[(InstanceId, ExposedPortId, HostId)],
        addresses: &HashMap<HostId, IpAddr>,
    ) {
        let range = self.state.settings.proxy_ports;
        let probes: HashMap<HostId, Option<IpAddr>> =
            addresses.iter().map(|(id, ip)| (*id, Some(*ip).filter(|ip| allocate::is_local(*ip)))).collect();
        let wanted = wanted.to_vec();
        let made = db::run(&self.state.pool, move |conn| {
            let mut taken: HashSet<u16> =
                InstancePort::all(conn)?.iter().filter_map(|a| u16::try_from(a.host_port).ok()).collect();
            let mut made = 0;
            for (instance, port, host) in wanted {
                let probe = probes.get(&host).copied().flatten();
                let Some(host_port) = allocate::free_port(range, &taken, probe) else {
                    tracing::warn!(%range, "routing: no free proxy port left in MOSAIC_PROXY_PORTS");
                    break;
                };
                taken.insert(host_port);
                let new = InstancePort {
                    instance_id: instance,
                    exposed_port_id: port,
                    host_id: host,
                    host_port: host_port.into(),
                };
                if InstancePort::allocate(conn, &new)? {
                    made += 1;
                }
            }
            Ok::<_, db::Error>(made)
        })
        .await;
        match made {
            Ok(n) if n > 0 => {
                tracing::info!(allocated = n, "routing: allocated proxy device ports");
                self.woken = true;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "routing: cannot allocate proxy device ports"),
        }
    }

    /// Makes sure running servers' proxy devices exist; returns the ones that do. A device the
    /// host cache shows with the right address exists; one Mosaic added recently is trusted until
    /// a later snapshot says otherwise; anything else is added now (in the background).
    pub(super) async fn ensure_devices(
        &mut self,
        desired: &Desired,
        hosts: &[Host],
        snapshots: &Snapshots,
    ) -> HashSet<(InstanceId, String)> {
        let mut ready = HashSet::new();
        let wanted: Vec<DeviceSpec> = desired
            .services
            .iter()
            .flat_map(|s| s.members.iter())
            .filter_map(|m| match &m.plan {
                Plan::Server { device: Some(d), .. } => Some(d.clone()),
                _ => None,
            })
            .collect();
        let mut released = Vec::new();
        for spec in wanted {
            let key = (spec.instance, spec.name.clone());
            let listen = spec.listen_value();
            let snapshot = snapshots.get(&spec.host_id);
            let seen = snapshot
                .and_then(|s| s.instances.as_ref().ok())
                .and_then(|i| i.get(&spec.instance_name))
                .and_then(|o| o.proxies.get(&spec.name));
            if seen == Some(&listen) {
                ready.insert(key);
                continue;
            }
            match self.devices.remove(&key) {
                Some(Ensure::Done { listen: done, at }) if done == listen => {
                    let disproved = snapshot.is_some_and(|s| s.taken_at > at + DEVICE_GRACE);
                    if !disproved {
                        ready.insert(key.clone());
                        self.devices.insert(key, Ensure::Done { listen: done, at });
                        continue;
                    }
                }
                Some(Ensure::InFlight { listen: running, task }) if running == listen => {
                    if !task.is_finished() {
                        self.devices.insert(key, Ensure::InFlight { listen: running, task });
                        continue;
                    }
                    match task.await {
                        Ok(Ok(())) => {
                            ready.insert(key.clone());
                            self.devices.insert(key, Ensure::Done { listen, at: Utc::now() });
                            continue;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(instance = %spec.instance_name, device = %spec.name, error = %e, "routing: LXD did not take the proxy device");
                            if e.contains("address already in use") {
                                released.push(spec.clone());
                            }
                            continue;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "routing: a proxy device task panicked");
                            continue;
                        }
                    }
                }
                _ => {}
            }
            let Some(host) = hosts.iter().find(|h| h.id == spec.host_id) else { continue };
            let client = match self.state.hosts.get(host, &self.state.identity) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(host = %host.name, error = %e, "routing: no LXD client for the host");
                    continue;
                }
            };
            let (routing, spec2) = (self.state.routing.clone(), spec.clone());
            let task = tokio::spawn(async move {
                let added = async {
                    let name = lxd::InstanceName::parse(&spec2.instance_name).map_err(|e| e.to_string())?;
                    client.add_device(&name, &spec2.name, &spec2.to_device()).await.map_err(|e| e.to_string())
                }
                .await;
                routing.wake();
                added
            });
            self.devices.insert(key, Ensure::InFlight { listen, task });
        }
        // Forget what is no longer wanted.
        self.devices.retain(|key, _| desired.devices.contains_key(key));
        if !released.is_empty() {
            // Another listener holds the port on the host: allocate another.
            let released: Vec<(InstanceId, ExposedPortId, i32)> =
                released.iter().map(|s| (s.instance, s.port, i32::from(s.listen.port()))).collect();
            let done = db::run(&self.state.pool, move |conn| {
                for (instance, port, host_port) in &released {
                    InstancePort::release(conn, *instance, *port, *host_port)?;
                }
                Ok::<_, db::Error>(())
            })
            .await;
            if let Err(e) = done {
                tracing::warn!(error = %e, "routing: cannot release a proxy device port");
            }
        }
        ready
    }

    /// Removes proxy devices of ports no longer exposed, once they have been stale for a few
    /// passes (every HAProxy has dropped the frontend by then). Only on this database's
    /// instances: an LXD host may be shared with other Mosaic installations (or test servers),
    /// whose containers carry Mosaic's keys and devices too — removing their devices cut their
    /// services off.
    pub(super) async fn collect_stale_devices(
        &mut self,
        desired: &Desired,
        hosts: &[Host],
        snapshots: &Snapshots,
    ) {
        let grace = self.state.settings.routing_interval * 3;
        let mut seen_stale = HashSet::new();
        let candidates: Vec<InstanceId> = snapshots
            .values()
            .filter_map(|s| s.instances.as_ref().ok())
            .flat_map(|instances| instances.values())
            .filter_map(|o| {
                let id = o.instance.parse::<InstanceId>().ok()?;
                o.proxies.keys().any(|d| !desired.exposed.contains(&(id, d.clone()))).then_some(id)
            })
            .collect();
        let known: HashSet<InstanceId> = if candidates.is_empty() {
            HashSet::new()
        } else {
            // Not known for sure (the database did not answer): nothing is removed this pass.
            db::query(&self.state.pool, move |c| Instance::known(c, &candidates))
                .await
                .map(|ids| ids.into_iter().collect())
                .unwrap_or_default()
        };
        for (host_id, snapshot) in snapshots {
            let Ok(instances) = &snapshot.instances else { continue };
            for (name, observed) in instances {
                let Ok(instance) = observed.instance.parse::<InstanceId>() else { continue };
                if !known.contains(&instance) {
                    continue;
                }
                for device in observed.proxies.keys() {
                    let key = (instance, device.clone());
                    if desired.exposed.contains(&key) {
                        continue;
                    }
                    seen_stale.insert(key.clone());
                    let entry = self.stale.entry(key).or_insert((Instant::now(), None));
                    // A held instance is about to be stopped, deleted or replaced by a job whose
                    // LXD calls a removal would collide with: its devices go with it, or wait.
                    if entry.0.elapsed() < grace || entry.1.is_some() || desired.held.contains(&instance) {
                        continue;
                    }
                    let Some(host) = hosts.iter().find(|h| h.id == *host_id) else { continue };
                    let Ok(client) = self.state.hosts.get(host, &self.state.identity) else { continue };
                    let (name, device) = (name.clone(), device.clone());
                    entry.1 = Some(tokio::spawn(async move {
                        let Ok(instance) = lxd::InstanceName::parse(&name) else { return };
                        let removed = match client.remove_device(&instance, &device).await {
                            Ok(Some(op)) => op.wait(Duration::from_secs(60)).await.map(drop),
                            Ok(None) => Ok(()),
                            Err(e) => Err(e),
                        };
                        match removed {
                            Ok(()) => {
                                tracing::info!(instance = %name, device, "routing: removed a proxy device of a port no longer exposed")
                            }
                            Err(e) => {
                                tracing::warn!(instance = %name, device, error = %e, "routing: cannot remove a stale proxy device")
                            }
                        }
                    }));
                }
            }
        }
        // A device no longer seen stale (removed, or wanted again) is forgotten; a finished
        // removal that the cache still shows is retried after the grace period.
        self.stale.retain(|key, (since, task)| {
            if !seen_stale.contains(key) {
                return false;
            }
            if task.as_ref().is_some_and(JoinHandle::is_finished) {
                *since = Instant::now();
                *task = None;
            }
            true
        });
    }
}
