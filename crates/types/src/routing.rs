//! Routing: a deployment member's ports served through Mosaic's HAProxy, and what the load
//! balancer says about each instance behind them.
//!
//! A deployment member (one of its cloud-configs) *exposes* a port of its instances: HAProxy gets a
//! frontend on Mosaic's machine and a backend whose servers are the member's instances that run,
//! whose cloud-config applied, and that pass a health check speaking the port's protocol.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CloudConfigId, DeploymentId, ExposedPortId, HostId, InstanceId};

crate::stored::stored_enum! {
    /// How HAProxy treats a port's traffic.
    pub enum PortProtocol {
        /// HTTP: each request is balanced on its own (a drain takes effect at the next request,
        /// even on kept-alive connections) and requests are counted.
        Http = "http",
        /// Plain TCP, balanced per connection.
        Tcp = "tcp",
    }
}

crate::stored::stored_enum! {
    /// How HAProxy reaches the instances of a host.
    pub enum HostReach {
        /// Through a proxy device Mosaic adds to each instance: LXD listens on a port Mosaic
        /// allocates on the host's address and connects to the target port inside the instance.
        /// Works for hosts whose instances have no network Mosaic can route to (the default).
        ProxyDevice = "proxy_device",
        /// At the instance's own IPv4 address and the target port: for bridged hosts (`lxdbr0`)
        /// whose instance network Mosaic's machine can reach.
        Address = "address",
    }
}

/// A health check that speaks the port's protocol. There is no bare TCP-connect check: an LXD
/// proxy device accepts a connection on the host before it dials the container, so a connect
/// check would pass whenever the instance runs, even with nothing listening inside.
///
/// Its schema is written by hand ([`crate::schemas::health_check`]): the derived one for an
/// internally tagged enum cannot say that neither variant takes other keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HealthCheck {
    /// `GET path`, healthy when the answer has exactly `expect_status`.
    Http {
        /// The request path, starting with `/` (a query string is allowed).
        path: String,
        /// The status that means healthy (default 200).
        #[serde(default = "default_status", deserialize_with = "crate::lenient::i32")]
        expect_status: i32,
    },
    /// Connect, send `send` (may be empty for protocols where the server speaks first), and
    /// expect `expect` to appear in the answer.
    Tcp {
        /// Text to send once connected.
        #[serde(default)]
        send: String,
        /// Text that must appear in the answer; never empty.
        expect: String,
    },
}

impl utoipa::PartialSchema for HealthCheck {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::OneOf(crate::schemas::health_check()))
    }
}

impl ToSchema for HealthCheck {}

fn default_status() -> i32 {
    200
}

fn http() -> PortProtocol {
    PortProtocol::Http
}

/// `POST /api/v1/deployments/{id}/ports`: expose a port of one member's instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposePort {
    /// The member (a cloud-config of the deployment) whose instances serve the port.
    pub cloud_config_id: CloudConfigId,
    /// The port the service listens on inside each instance.
    #[serde(deserialize_with = "crate::lenient::i32")]
    #[schema(minimum = 1, maximum = 65535)]
    pub target_port: i32,
    /// `http` (default) or `tcp`.
    #[serde(default = "http")]
    pub protocol: PortProtocol,
    /// How HAProxy tells that an instance serves; default for `http`: `GET /` expecting 200.
    /// Required for `tcp`.
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    /// The frontend's port on Mosaic's machine; allocated from Mosaic's frontend port range when
    /// omitted. Must be free: no other exposed port, and nothing listening there.
    #[serde(default, deserialize_with = "crate::lenient::opt_i32")]
    #[schema(minimum = 1, maximum = 65535)]
    pub frontend_port: Option<i32>,
}

/// What the load balancer does with one instance of an exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackendState {
    /// In rotation: its checks pass and it gets traffic.
    Up,
    /// Admitted, but its health check fails: no traffic until it passes again.
    Down,
    /// Being taken out: finishing its current sessions, no new traffic.
    Drain,
    /// In maintenance by someone else than Mosaic (or out of rotation, e.g. before a stop).
    Maint,
    /// Running, but not in rotation yet: its cloud-config has not finished (or failed), or its
    /// health check has not passed yet.
    NotReady,
    /// Not running (stopped, not created, or on a host that does not answer): not a backend.
    Stopped,
}

/// One instance behind an exposed port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Backend {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its LXD name (also its server name in HAProxy).
    pub instance_name: String,
    /// Its host.
    pub host_id: HostId,
    /// The host's name.
    pub host_name: String,
    /// Where HAProxy reaches it (`address:port`), once known.
    pub address: Option<String>,
    /// What the load balancer does with it.
    pub state: BackendState,
    /// Its current sessions (HAProxy's `scur`).
    pub sessions: u64,
    /// Requests it answered (HTTP; `show stat`'s `req_tot`), or connections (TCP; `stot`), since
    /// it was added to this HAProxy.
    pub requests: u64,
    /// The last health check's result, as HAProxy reports it (e.g. `L7OK 200`, `L7STS 404 Layer7
    /// wrong status`, `L4CON Connection refused`).
    pub last_check: Option<String>,
}

/// Instances by what they do for the service: the deployment's badge and counts.
///
/// Only running instances are counted. An instance *serves* when it is in rotation behind every
/// port its member exposes (for a member without exposed ports: when its cloud-config applied).
/// It is *pending* while its cloud-config runs or its first health checks have not passed,
/// *failing* when its cloud-config failed or its health check fails, and *cannot be judged* when
/// nothing can tell (an image without cloud-init and no health check, because the member exposes
/// no port or routing is unavailable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServingCounts {
    /// In rotation (or ready, without exposed ports).
    pub serving: u32,
    /// Not yet: cloud-init running, or health checks not passed yet.
    pub pending: u32,
    /// cloud-config failed, or the health check fails.
    pub failing: u32,
    /// Nothing can tell (no cloud-init and no health check).
    pub cannot_judge: u32,
}

/// The badge of a deployment, from its [`ServingCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Every running instance serves.
    Serving,
    /// Some serve; others are pending, failing or cannot be judged.
    Partial,
    /// None serves yet; some are pending.
    Pending,
    /// None serves and none is pending: they fail.
    Failing,
    /// Every running instance is one that nothing can judge.
    CannotJudge,
    /// No instance runs.
    Stopped,
}

impl ServiceState {
    /// The badge for these counts.
    pub fn of(counts: &ServingCounts) -> Self {
        let running = counts.serving + counts.pending + counts.failing + counts.cannot_judge;
        if running == 0 {
            ServiceState::Stopped
        } else if counts.serving == running {
            ServiceState::Serving
        } else if counts.serving > 0 {
            ServiceState::Partial
        } else if counts.pending > 0 {
            ServiceState::Pending
        } else if counts.failing > 0 {
            ServiceState::Failing
        } else {
            ServiceState::CannotJudge
        }
    }
}

/// What a deployment serves, for its overview card and badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceSummary {
    /// The badge.
    pub state: ServiceState,
    /// Running instances by what they do for the service.
    pub counts: ServingCounts,
    /// The frontend address (`address:port`) of each exposed port.
    pub addresses: Vec<String>,
    /// Whether this Mosaic server runs a load balancer (see `routing_detail` when not).
    pub routing_available: bool,
    /// Why routing is unavailable, when it is.
    pub routing_detail: Option<String>,
}

/// Whether an exposed port's frontend listens on this Mosaic server's HAProxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrontendState {
    /// HAProxy listens on the frontend address.
    Listening,
    /// Not yet applied (within a second of a change).
    Pending,
    /// No instance of the member is started, so there is no frontend (a stopped deployment's
    /// frontend is taken down after its last instance left).
    Down,
    /// It cannot listen: routing is unavailable, or the address is taken (see `frontend_error`).
    Unavailable,
}

/// An exposed port, with its frontend and every instance behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExposedPort {
    /// Its ID.
    pub id: ExposedPortId,
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// The member whose instances serve it.
    pub cloud_config_id: CloudConfigId,
    /// `namespace/name` of that cloud-config.
    pub cloud_config: String,
    /// The port inside each instance.
    pub target_port: u16,
    /// `http` or `tcp`.
    pub protocol: PortProtocol,
    /// The health check.
    pub health_check: HealthCheck,
    /// The frontend's port.
    pub frontend_port: u16,
    /// Where clients connect: this Mosaic server's frontend address and the port.
    pub frontend_address: String,
    /// Whether the frontend listens.
    pub frontend: FrontendState,
    /// Why it cannot listen, when it cannot.
    pub frontend_error: Option<String>,
    /// The member's running instances by what they do for this port.
    pub counts: ServingCounts,
    /// Every instance of the member, by name.
    pub backends: Vec<Backend>,
    /// When it was exposed.
    pub created_at: DateTime<Utc>,
}

/// `PUT /api/v1/routing/hosts/{host_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetHostReach {
    /// How HAProxy reaches the host's instances.
    pub reach: HostReach,
}

/// How HAProxy reaches one host's instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostRouting {
    /// The host.
    pub host_id: HostId,
    /// Its name.
    pub host_name: String,
    /// Proxy devices (default) or the instances' addresses.
    pub reach: HostReach,
    /// With proxy devices: the address LXD listens on (the host's address), when known.
    pub listen_address: Option<String>,
}

/// `GET /api/v1/routing`: this Mosaic server's load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoutingStatus {
    /// Whether this server runs a load balancer (HAProxy is installed and usable).
    pub available: bool,
    /// Why not, or what went wrong last, in HAProxy's words where it spoke.
    pub detail: Option<String>,
    /// This load balancer's name among Mosaic's (machine and HAProxy directory).
    pub node: String,
    /// HAProxy's version, when known.
    pub haproxy_version: Option<String>,
    /// The HAProxy master's process ID, while one runs.
    pub master_pid: Option<u32>,
    /// The address frontends bind on.
    pub frontend_bind: String,
    /// The range frontend ports are allocated from (`first-last`).
    pub frontend_ports: String,
    /// Frontends HAProxy listens on now.
    pub frontends: u32,
    /// Servers in HAProxy's backends now.
    pub servers: u32,
    /// Milliseconds since the reconciler last brought HAProxy in line with the database.
    pub reconciled_ms_ago: Option<u64>,
    /// How each host's instances are reached.
    pub hosts: Vec<HostRouting>,
}

/// Longest health check path accepted.
pub const MAX_CHECK_PATH: usize = 512;
/// Longest TCP check payload accepted (send or expect), in characters: at most 1 KiB once
/// encoded, HAProxy's own bound.
pub const MAX_TCP_PAYLOAD: usize = 256;

/// Checks a port number: 1 to 65535.
pub fn port(what: &str, value: i32) -> Result<u16, String> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{what} {value} is out of range: ports are 1 to 65535"))
}

/// Checks a health check: an HTTP path starting with `/` made of URL characters HAProxy's
/// configuration parser does not treat specially, a status between 100 and 599; a TCP check
/// that expects something.
pub fn health_check(check: &HealthCheck) -> Result<(), String> {
    match check {
        HealthCheck::Http { path, expect_status } => {
            if !path.starts_with('/') {
                return Err(format!("health check path {path:?} must start with '/'"));
            }
            if path.len() > MAX_CHECK_PATH {
                return Err(format!("health check path is longer than {MAX_CHECK_PATH} bytes"));
            }
            let allowed = |c: char| c.is_ascii_alphanumeric() || "/-._~!&()*+,;=:@?%".contains(c);
            if let Some(c) = path.chars().find(|c| !allowed(*c)) {
                return Err(format!(
                    "health check path {path:?} contains {c:?}; use letters, digits and -._~!&()*+,;=:@?%/"
                ));
            }
            if !(100..=599).contains(expect_status) {
                return Err(format!("expected status {expect_status} is not an HTTP status (100 to 599)"));
            }
        }
        HealthCheck::Tcp { send, expect } => {
            if expect.is_empty() {
                return Err(
                    "a TCP health check must expect some text: a bare connect proves nothing behind \
                            an LXD proxy device"
                        .into(),
                );
            }
            for (what, text) in [("send", send), ("expect", expect)] {
                if text.chars().count() > MAX_TCP_PAYLOAD {
                    return Err(format!(
                        "the TCP check's {what} is longer than {MAX_TCP_PAYLOAD} characters"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_checks_are_validated() {
        assert_eq!(port("target_port", 8080), Ok(8080));
        assert!(port("target_port", 0).is_err());
        assert!(port("target_port", 65536).unwrap_err().contains("out of range"));
        let http = |path: &str, status| HealthCheck::Http { path: path.into(), expect_status: status };
        assert!(health_check(&http("/health?x=1", 200)).is_ok());
        assert!(health_check(&http("health", 200)).unwrap_err().contains("must start with '/'"));
        assert!(health_check(&http("/a b", 200)).is_err());
        assert!(health_check(&http("/", 99)).is_err());
        let tcp = |send: &str, expect: &str| HealthCheck::Tcp { send: send.into(), expect: expect.into() };
        assert!(health_check(&tcp("PING\r\n", "+PONG")).is_ok());
        assert!(health_check(&tcp("PING", "")).unwrap_err().contains("bare connect"));
    }

    #[test]
    fn the_badge_follows_the_counts() {
        let c = |serving, pending, failing, cannot_judge| ServingCounts {
            serving,
            pending,
            failing,
            cannot_judge,
        };
        assert_eq!(ServiceState::of(&c(0, 0, 0, 0)), ServiceState::Stopped);
        assert_eq!(ServiceState::of(&c(3, 0, 0, 0)), ServiceState::Serving);
        assert_eq!(ServiceState::of(&c(2, 1, 0, 0)), ServiceState::Partial);
        assert_eq!(ServiceState::of(&c(0, 1, 1, 0)), ServiceState::Pending);
        assert_eq!(ServiceState::of(&c(0, 0, 1, 1)), ServiceState::Failing);
        assert_eq!(ServiceState::of(&c(0, 0, 0, 3)), ServiceState::CannotJudge);
    }

    #[test]
    fn a_health_check_reads_its_defaults() {
        let check: HealthCheck = serde_json::from_str(r#"{"type": "http", "path": "/"}"#).unwrap();
        assert_eq!(check, HealthCheck::Http { path: "/".into(), expect_status: 200 });
        assert!(serde_json::from_str::<HealthCheck>(r#"{"type": "connect"}"#).is_err());
    }
}
