//! What every HAProxy should serve, computed from the database and the host cache alone (pure
//! functions: no query, no LXD or HAProxy call happens here).
//!
//! One service (frontend + backend) per exposed port. Its frontend listens while any instance of
//! the member is started, so a stopped deployment's frontend goes after its last instance left.
//! Each instance of the member is planned as one of:
//! - not a server: it does not run, or it is held out of rotation (before a stop, a removal, a
//!   replacement);
//! - unreachable for now: it runs, but HAProxy has no way in yet (its proxy device's host port
//!   is being allocated, or a bridged instance has no IPv4 address yet);
//! - a server at an address, *admitted* (may be put in rotation once its health check passes)
//!   when its cloud-config applied — or when the image has no cloud-init, where the health check
//!   alone judges. A server that is not admitted waits in maintenance with its checks running,
//!   so it enters rotation the moment it becomes ready.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Utc};
use mosaic_db::models::instances::Instance;
use mosaic_db::models::routing::{ExposedPort, InstancePort, RotationHold};
use mosaic_types::instances::{Lifecycle, Readiness};
use mosaic_types::routing::{HostReach, PortProtocol};
use mosaic_types::{ExposedPortId, HostId, InstanceId};

use crate::cache::Snapshot;
use crate::overview::Snapshots;

/// Prefix of the proxy devices Mosaic adds for exposed ports (`mosaic-port-<target port>`).
pub const DEVICE_PREFIX: &str = "mosaic-port-";

/// The proxy device of an exposed port's target port.
pub fn device_name(target_port: u16) -> String {
    format!("{DEVICE_PREFIX}{target_port}")
}

/// The HAProxy name (frontend and backend) of an exposed port: stable across renames.
pub fn service_name(id: ExposedPortId) -> haproxy::Name {
    // 37 characters of [a-z0-9-], always a valid name.
    haproxy::Name::new(format!("port-{}", id.0.simple())).unwrap_or_else(|_| unreachable_name())
}

#[expect(clippy::panic, reason = "only reachable if a UUID's hex were not [0-9a-f]")]
fn unreachable_name() -> haproxy::Name {
    panic!("a UUID's simple form is a valid HAProxy name")
}

/// Mosaic's exposed-port proxy devices among an instance's devices: name → `listen`.
pub fn proxies_of(devices: &HashMap<String, HashMap<String, String>>) -> HashMap<String, String> {
    devices
        .iter()
        .filter(|(name, d)| name.starts_with(DEVICE_PREFIX) && d.get("type").is_some_and(|t| t == "proxy"))
        .map(|(name, d)| (name.clone(), d.get("listen").cloned().unwrap_or_default()))
        .collect()
}

/// A proxy device Mosaic wants on an instance: LXD listens on `listen` (on the host) and connects
/// to `target` on the instance's loopback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceSpec {
    /// The instance.
    pub instance: InstanceId,
    /// Its LXD name.
    pub instance_name: String,
    /// Its host.
    pub host_id: HostId,
    /// The exposed port it serves.
    pub port: ExposedPortId,
    /// The device's name.
    pub name: String,
    /// Where LXD listens, on the host.
    pub listen: SocketAddr,
    /// The port inside the instance.
    pub target: u16,
}

impl DeviceSpec {
    /// LXD's `listen` value.
    pub fn listen_value(&self) -> String {
        format!("tcp:{}", self.listen)
    }

    /// The device as LXD's map.
    pub fn to_device(&self) -> std::collections::BTreeMap<String, String> {
        lxd::ProxyDevice::tcp_to_instance(self.listen, SocketAddr::from(([127, 0, 0, 1], self.target)))
            .to_device()
    }
}

/// What to do with one instance of an exposed port's member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// It does not run: not a server.
    Stopped,
    /// It is held out of rotation: not a server (drained first if it is one).
    Held,
    /// It runs, but HAProxy has no way in yet; why.
    Unreachable(String),
    /// A server at `addr`; put in rotation once its checks pass when `admit`.
    Server {
        /// Where HAProxy connects.
        addr: SocketAddr,
        /// Whether it may be in rotation (its cloud-config applied, or cannot be judged).
        admit: bool,
        /// The proxy device it needs first, for hosts reached through proxy devices.
        device: Option<DeviceSpec>,
    },
}

/// One instance of an exposed port's member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The instance.
    pub instance: InstanceId,
    /// Its server name in HAProxy (its LXD name, unique within the member).
    pub server: haproxy::Name,
    /// Its host.
    pub host_id: HostId,
    /// Its readiness.
    pub readiness: Readiness,
    /// What to do with it.
    pub plan: Plan,
}

/// One exposed port as HAProxy should serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    /// The exposed port.
    pub port: ExposedPortId,
    /// Frontend and backend, without servers.
    pub service: haproxy::Service,
    /// Whether the frontend should listen (some instance of the member is started).
    pub listen: bool,
    /// Every instance of the member, by name.
    pub members: Vec<Member>,
}

/// Everything every HAProxy should have, and the bookkeeping the reconciler owes first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// One per exposed port.
    pub services: Vec<DesiredService>,
    /// Every proxy device Mosaic wants, by instance and device name (also on stopped instances,
    /// so a restart brings its way in back with it).
    pub devices: HashMap<(InstanceId, String), DeviceSpec>,
    /// Started instances reached through proxy devices that have no host port yet.
    pub allocate: Vec<(InstanceId, ExposedPortId, HostId)>,
    /// Instances held out of rotation.
    pub held: HashSet<InstanceId>,
    /// The proxy devices of every exposed port's instances, whether or not their spec can be
    /// made yet (a host whose address is not known after a restart, a port not yet allocated):
    /// only a device outside this set is stale. Judging by `devices` alone removed live devices
    /// while a host's address was being resolved, colliding with jobs' LXD calls.
    pub exposed: HashSet<(InstanceId, String)>,
}

/// What [`compute`] works from, loaded in one go by the reconciler.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Every exposed port.
    pub ports: Vec<ExposedPort>,
    /// The instances of deployments with exposed ports.
    pub instances: Vec<Instance>,
    /// How each host's instances are reached (absent: proxy devices).
    pub reach: HashMap<HostId, HostReach>,
    /// Host ports of proxy devices.
    pub allocations: Vec<InstancePort>,
    /// Instances held out of rotation.
    pub holds: Vec<RotationHold>,
}

/// Settings the computation needs.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The address frontends bind on.
    pub frontend_bind: IpAddr,
    /// Health check timing of every server.
    pub timing: haproxy::CheckTiming,
}

/// Computes what every HAProxy should serve. `host_addresses` is where each host's proxy devices
/// listen (the host's own address; absent when not known).
pub fn compute(
    inputs: &Inputs,
    snapshots: &Snapshots,
    host_addresses: &HashMap<HostId, IpAddr>,
    params: Params,
) -> Desired {
    let held: HashSet<InstanceId> = inputs.holds.iter().map(|h| h.instance_id).collect();
    let allocations: HashMap<(InstanceId, ExposedPortId), &InstancePort> =
        inputs.allocations.iter().map(|a| ((a.instance_id, a.exposed_port_id), a)).collect();
    let mut desired = Desired { held: held.clone(), ..Desired::default() };
    for port in &inputs.ports {
        let Some(service) = service_of(port, params) else { continue };
        let target = u16::try_from(port.target_port).unwrap_or_default();
        let mut members = Vec::new();
        let mut listen = false;
        // Every instance of the member keeps its device while it exists (one being deleted too:
        // the device goes with it, and removing it meanwhile would race the deletion in LXD);
        // only created instances are members.
        let rows = inputs
            .instances
            .iter()
            .filter(|i| i.deployment_id == port.deployment_id && i.cloud_config_id == port.cloud_config_id);
        for row in rows {
            let Ok(server) = haproxy::Name::new(row.name.clone()) else { continue };
            let snapshot = snapshots.get(&row.host_id).map(|s| &**s);
            let reach = inputs.reach.get(&row.host_id).copied().unwrap_or(HostReach::ProxyDevice);
            desired.exposed.insert((row.id, device_name(target)));
            let device = match reach {
                HostReach::Address => None,
                HostReach::ProxyDevice => {
                    match (allocations.get(&(row.id, port.id)), host_addresses.get(&row.host_id)) {
                        (Some(a), Some(ip)) => {
                            let spec = DeviceSpec {
                                instance: row.id,
                                instance_name: row.name.clone(),
                                host_id: row.host_id,
                                port: port.id,
                                name: device_name(target),
                                listen: SocketAddr::new(*ip, u16::try_from(a.host_port).unwrap_or_default()),
                                target,
                            };
                            desired.devices.insert((row.id, spec.name.clone()), spec.clone());
                            Some(spec)
                        }
                        _ => None,
                    }
                }
            };
            if row.state != Lifecycle::Created {
                continue;
            }
            let running = is_running(row, snapshot);
            listen |= running || started(row);
            let plan = if !running {
                Plan::Stopped
            } else if held.contains(&row.id) {
                Plan::Held
            } else {
                let admit = matches!(row.readiness, Readiness::Ready | Readiness::Unknown);
                match reach {
                    HostReach::Address => match instance_ipv4(row, snapshot) {
                        Some(ip) => Plan::Server { addr: SocketAddr::new(ip, target), admit, device: None },
                        None => Plan::Unreachable("the instance has no IPv4 address yet".into()),
                    },
                    HostReach::ProxyDevice => match device {
                        Some(spec) => Plan::Server { addr: spec.listen, admit, device: Some(spec) },
                        None if !host_addresses.contains_key(&row.host_id) => {
                            Plan::Unreachable("the host's address is not known".into())
                        }
                        None => {
                            desired.allocate.push((row.id, port.id, row.host_id));
                            Plan::Unreachable("allocating the proxy device's port".into())
                        }
                    },
                }
            };
            members.push(Member {
                instance: row.id,
                server,
                host_id: row.host_id,
                readiness: row.readiness,
                plan,
            });
        }
        members.sort_by(|a, b| a.server.cmp(&b.server));
        desired.services.push(DesiredService { port: port.id, service, listen, members });
    }
    desired
}

/// The frontend + backend of an exposed port (without servers); `None` for a row the database
/// should never hold (a port out of range).
pub fn service_of(port: &ExposedPort, params: Params) -> Option<haproxy::Service> {
    let frontend = u16::try_from(port.frontend_port).ok()?;
    Some(haproxy::Service {
        name: service_name(port.id),
        bind: SocketAddr::new(params.frontend_bind, frontend),
        mode: match port.protocol {
            PortProtocol::Http => haproxy::Mode::Http,
            PortProtocol::Tcp => haproxy::Mode::Tcp,
        },
        check: check_of(port),
        timing: params.timing,
        servers: Vec::new(),
    })
}

/// The health check of a row, as HAProxy's model.
pub fn check_of(port: &ExposedPort) -> haproxy::HealthCheck {
    match port.check_kind {
        PortProtocol::Http => haproxy::HealthCheck::Http(haproxy::HttpCheck {
            method: haproxy::HttpMethod::Get,
            path: port.check_path.clone().unwrap_or_else(|| "/".into()),
            expect_status: port.check_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
        }),
        PortProtocol::Tcp => haproxy::HealthCheck::Tcp(haproxy::TcpCheck {
            send: port.check_send.clone().unwrap_or_default(),
            expect: port.check_expect.clone().unwrap_or_default(),
        }),
    }
}

/// Whether the database says the instance was started and not stopped since.
pub fn started(row: &Instance) -> bool {
    match (row.last_started_at, row.last_stopped_at) {
        (Some(start), Some(stop)) => start >= stop,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether the instance runs, by the newest word: the host cache's snapshot when it was taken
/// after the last start or stop Mosaic recorded, else the database (a job that just started or
/// stopped it knows better than an older snapshot). A host that does not answer leaves the
/// database's word: its health checks judge such instances.
pub fn is_running(row: &Instance, snapshot: Option<&Snapshot>) -> bool {
    let recorded: Option<DateTime<Utc>> = row.last_started_at.max(row.last_stopped_at);
    match snapshot {
        Some(s) if recorded.is_none_or(|t| s.taken_at > t) => match &s.instances {
            Ok(seen) => seen.get(&row.name).is_some_and(|o| o.status_code == lxd::StatusCode::RUNNING),
            Err(_) => started(row),
        },
        _ => started(row),
    }
}

/// The instance's first IPv4 address the host cache saw (neither loopback nor link-local).
pub fn instance_ipv4(row: &Instance, snapshot: Option<&Snapshot>) -> Option<IpAddr> {
    let seen = snapshot?.instances.as_ref().ok()?.get(&row.name)?;
    seen.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()).find(
        |ip| matches!(ip, IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified()),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use chrono::Utc;
    use mosaic_types::{CloudConfigId, DeploymentId};

    use super::*;
    use crate::cache::Observed;

    fn port(deployment: DeploymentId, cc: CloudConfigId) -> ExposedPort {
        ExposedPort {
            id: ExposedPortId::new(),
            deployment_id: deployment,
            cloud_config_id: cc,
            target_port: 8080,
            protocol: PortProtocol::Http,
            check_kind: PortProtocol::Http,
            check_path: Some("/health".into()),
            check_status: Some(200),
            check_send: None,
            check_expect: None,
            frontend_port: 30001,
            created_at: Utc::now(),
        }
    }

    fn instance(
        name: &str,
        deployment: DeploymentId,
        cc: CloudConfigId,
        host: HostId,
        readiness: Readiness,
    ) -> Instance {
        let started = Utc::now() - chrono::Duration::seconds(60);
        Instance {
            id: InstanceId::new(),
            deployment_id: deployment,
            cloud_config_id: cc,
            revision: 1,
            host_id: host,
            name: name.into(),
            ordinal: 1,
            profiles: vec![],
            state: Lifecycle::Created,
            last_error: None,
            readiness,
            readiness_detail: None,
            phone_home_secret: None,
            phoned_home_at: None,
            created_at: started,
            first_started_at: Some(started),
            last_started_at: Some(started),
            last_stopped_at: None,
            heal_attempts: 0,
            heal_not_before: None,
            image_fingerprint: None,
            location: None,
        }
    }

    fn snapshot(running: &[(&str, &[&str])]) -> Arc<Snapshot> {
        let instances = running
            .iter()
            .map(|(name, addresses)| {
                let observed = Observed {
                    status_code: lxd::StatusCode::RUNNING,
                    memory: 0,
                    addresses: addresses.iter().map(|a| a.to_string()).collect(),
                    state_read: None,
                    deployment: String::new(),
                    instance: String::new(),
                    proxies: HashMap::new(),
                    location: String::new(),
                };
                (name.to_string(), observed)
            })
            .collect();
        Arc::new(Snapshot {
            taken: Instant::now(),
            taken_at: Utc::now(),
            server: None,
            instances: Ok(instances),
            members: None,
            offline_since: None,
        })
    }

    fn params() -> Params {
        Params {
            frontend_bind: IpAddr::from([127, 0, 0, 1]),
            timing: haproxy::CheckTiming { interval: Duration::from_millis(500), rise: 2, fall: 2 },
        }
    }

    #[test]
    fn proxy_device_hosts_get_a_device_and_an_allocation_first() {
        let (d, cc, host) = (DeploymentId::new(), CloudConfigId::new(), HostId::new());
        let p = port(d, cc);
        let ready = instance("site-web-1", d, cc, host, Readiness::Ready);
        let pending = instance("site-web-2", d, cc, host, Readiness::Pending);
        let unknown = instance("site-web-3", d, cc, host, Readiness::Unknown);
        let stopped = instance("site-web-4", d, cc, host, Readiness::Ready);
        let held = instance("site-web-5", d, cc, host, Readiness::Ready);
        let unallocated = instance("site-web-6", d, cc, host, Readiness::Ready);
        let allocations = [&ready, &pending, &unknown, &stopped, &held]
            .iter()
            .enumerate()
            .map(|(n, i)| InstancePort {
                instance_id: i.id,
                exposed_port_id: p.id,
                host_id: host,
                host_port: 31000 + i32::try_from(n).unwrap(),
            })
            .collect();
        let inputs = Inputs {
            ports: vec![p.clone()],
            instances: vec![
                ready.clone(),
                pending.clone(),
                unknown.clone(),
                stopped.clone(),
                held.clone(),
                unallocated.clone(),
            ],
            reach: HashMap::new(),
            allocations,
            holds: vec![RotationHold {
                instance_id: held.id,
                reason: "stop".into(),
                created_at: Utc::now(),
                drained_by: vec![],
            }],
        };
        let running: Vec<(&str, &[&str])> =
            ["site-web-1", "site-web-2", "site-web-3", "site-web-5", "site-web-6"]
                .iter()
                .map(|n| (*n, &[][..]))
                .collect();
        let snapshots = HashMap::from([(host, snapshot(&running))]);
        let addresses = HashMap::from([(host, IpAddr::from([127, 0, 0, 1]))]);
        let desired = compute(&inputs, &snapshots, &addresses, params());

        let service = &desired.services[0];
        assert!(service.listen);
        assert_eq!(service.service.name.as_str(), format!("port-{}", p.id.0.simple()));
        assert_eq!(service.service.bind, "127.0.0.1:30001".parse().unwrap());
        let plan =
            |name: &str| service.members.iter().find(|m| m.server.as_str() == name).unwrap().plan.clone();
        match plan("site-web-1") {
            Plan::Server { addr, admit: true, device: Some(device) } => {
                assert_eq!(addr, "127.0.0.1:31000".parse().unwrap());
                assert_eq!(device.name, "mosaic-port-8080");
                assert_eq!(device.to_device()["connect"], "tcp:127.0.0.1:8080");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(plan("site-web-2"), Plan::Server { admit: false, .. }),
            "pending: checks run, not admitted"
        );
        assert!(
            matches!(plan("site-web-3"), Plan::Server { admit: true, .. }),
            "no cloud-init: health alone judges"
        );
        assert_eq!(plan("site-web-4"), Plan::Stopped);
        assert_eq!(plan("site-web-5"), Plan::Held);
        assert!(matches!(plan("site-web-6"), Plan::Unreachable(_)));
        assert_eq!(desired.allocate, vec![(unallocated.id, p.id, host)]);
        // The stopped instance keeps its device: a restart brings its way in back.
        assert!(desired.devices.contains_key(&(stopped.id, "mosaic-port-8080".into())));
        assert_eq!(desired.devices.len(), 5);
        assert_eq!(desired.exposed.len(), 6, "the unallocated instance's device is not stale");

        // The host's address not known yet (a restart): no device can be specified, yet none
        // of the instances' devices is stale.
        let desired = compute(&inputs, &snapshots, &HashMap::new(), params());
        assert!(desired.devices.is_empty());
        for i in [&ready, &pending, &unknown, &stopped, &held, &unallocated] {
            assert!(desired.exposed.contains(&(i.id, "mosaic-port-8080".into())), "{}", i.name);
        }
    }

    #[test]
    fn bridged_hosts_use_the_instances_address_and_a_stopped_member_has_no_frontend() {
        let (d, cc, host) = (DeploymentId::new(), CloudConfigId::new(), HostId::new());
        let p = port(d, cc);
        let with_address = instance("site-web-1", d, cc, host, Readiness::Ready);
        let without = instance("site-web-2", d, cc, host, Readiness::Ready);
        let inputs = Inputs {
            ports: vec![p.clone()],
            instances: vec![with_address, without],
            reach: HashMap::from([(host, HostReach::Address)]),
            ..Inputs::default()
        };
        let snapshots = HashMap::from([(
            host,
            snapshot(&[("site-web-1", &["fe80::1", "10.1.2.3"]), ("site-web-2", &["fe80::2"])]),
        )]);
        let desired = compute(&inputs, &snapshots, &HashMap::new(), params());
        let members = &desired.services[0].members;
        assert_eq!(
            members[0].plan,
            Plan::Server { addr: "10.1.2.3:8080".parse().unwrap(), admit: true, device: None }
        );
        assert!(matches!(members[1].plan, Plan::Unreachable(_)));
        assert!(desired.devices.is_empty() && desired.allocate.is_empty());

        // Every instance stopped (and recorded so after the snapshot): no frontend.
        let mut inputs = inputs;
        for i in &mut inputs.instances {
            i.last_stopped_at = Some(Utc::now() + chrono::Duration::seconds(1));
        }
        let desired = compute(&inputs, &snapshots, &HashMap::new(), params());
        assert!(!desired.services[0].listen);
        assert!(desired.services[0].members.iter().all(|m| m.plan == Plan::Stopped));
    }

    #[test]
    fn the_newest_word_on_running_wins() {
        let (d, cc, host) = (DeploymentId::new(), CloudConfigId::new(), HostId::new());
        let mut row = instance("site-web-1", d, cc, host, Readiness::Ready);
        let old = snapshot(&[]);
        // Started after the snapshot, which did not see it running: the database's word.
        row.last_started_at = Some(Utc::now() + chrono::Duration::seconds(1));
        assert!(is_running(&row, Some(&old)));
        // A snapshot after the start that does not see it running: stopped behind Mosaic's back.
        row.last_started_at = Some(Utc::now() - chrono::Duration::seconds(5));
        assert!(!is_running(&row, Some(&snapshot(&[]))));
        // A host that does not answer: the database's word.
        let down = Snapshot {
            taken: Instant::now(),
            taken_at: Utc::now(),
            server: None,
            instances: Err("down".into()),
            members: None,
            offline_since: None,
        };
        assert!(is_running(&row, Some(&down)));
    }
}
