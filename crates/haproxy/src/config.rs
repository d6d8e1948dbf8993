//! The typed model of Mosaic's HAProxy configuration and its rendering to `haproxy.cfg`.
//!
//! One [`Service`] is one frontend (a bind address and a mode) and one backend of the same name
//! (round robin over its servers, one health check). The model is validated as a whole before a
//! line is written: names are [`Name`]s, paths and payloads are checked or hex-encoded, so nothing a
//! caller passes can change the meaning of the file. `haproxy -c` is still run on every rendered
//! file before HAProxy loads it (see `process`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::Name;
use crate::paths::Paths;

/// The whole configuration of one HAProxy: process settings, timeouts, the services, and an
/// optional metrics listener.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Process-wide settings (`global`).
    pub global: Global,
    /// Timeouts for every proxy (`defaults`).
    pub timeouts: Timeouts,
    /// One frontend + backend pair each, in the order given.
    pub services: Vec<Service>,
    /// A loopback listener serving HAProxy's built-in Prometheus exporter at `/metrics`; `None`
    /// renders no such listener.
    pub metrics: Option<SocketAddr>,
}

/// Process-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Maximum concurrent connections of the process (`maxconn`); HAProxy's own default derives
    /// from `ulimit -n`, which varies by machine, so it is always set.
    pub maxconn: u32,
    /// How long an old worker may keep finishing connections after a reload (`hard-stop-after`).
    /// `None` (the default) never cuts a connection, at the price of old workers that live as long
    /// as their longest connection.
    pub hard_stop_after: Option<Duration>,
}

impl Default for Global {
    fn default() -> Self {
        Self { maxconn: 4096, hard_stop_after: None }
    }
}

/// Timeouts applied to every proxy (`defaults`). HAProxy warns and behaves badly (infinite
/// timeouts) without the first three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection to a server (`timeout connect`).
    pub connect: Duration,
    /// Client inactivity (`timeout client`).
    pub client: Duration,
    /// Server inactivity (`timeout server`).
    pub server: Duration,
    /// Waiting for a health check's answer once connected (`timeout check`); without it a check
    /// to a port that accepts and never answers would wait a whole check interval.
    pub check: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            client: Duration::from_secs(60),
            server: Duration::from_secs(60),
            check: Duration::from_secs(2),
        }
    }
}

/// How a frontend and its backend treat traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// HTTP/1.1 and HTTP/2 parsed per request: each request is balanced on its own, so draining a
    /// server takes effect at the next request even on kept-alive client connections; `show stat`
    /// counts requests and responses.
    Http,
    /// Plain TCP, balanced per connection.
    Tcp,
}

impl Mode {
    fn keyword(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
        }
    }
}

/// A service: a frontend bound to `bind` and a backend of the same name with `servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Name of both the frontend and the backend (HAProxy keeps them in separate namespaces).
    pub name: Name,
    /// Address and port the frontend listens on.
    pub bind: SocketAddr,
    /// HTTP or TCP.
    pub mode: Mode,
    /// The health check every server of the backend gets, including dynamic ones added later
    /// through the runtime API (HAProxy 2.6 applies the backend's check rules to them).
    pub check: HealthCheck,
    /// Check interval and thresholds; also passed on every runtime `add server`, because dynamic
    /// servers do not inherit `default-server` settings.
    pub timing: CheckTiming,
    /// Servers written into the file. After a reload only these exist (dynamic servers are lost),
    /// so the supervisor writes every server the runtime already has; see
    /// `Haproxy::reload`.
    pub servers: Vec<Server>,
}

/// One backend server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    /// Name, unique within the backend.
    pub name: Name,
    /// Where HAProxy connects.
    pub addr: SocketAddr,
}

/// A health check that speaks the service's protocol.
///
/// There is deliberately no "TCP connect" check: an LXD proxy device accepts the connection on
/// the host before it dials the container, so a connect check says UP whenever the instance runs,
/// even with nothing listening inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// Send an HTTP request, expect a status.
    Http(HttpCheck),
    /// Send bytes, expect bytes in the answer.
    Tcp(TcpCheck),
}

/// An HTTP health check: `option httpchk` + `http-check send` + `http-check expect status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// The request method.
    pub method: HttpMethod,
    /// The request path, starting with `/` (a query string is allowed).
    pub path: String,
    /// The exact status that means healthy.
    pub expect_status: u16,
}

/// Methods a health check may use: safe ones only, since checks repeat forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
}

impl HttpMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
        }
    }
}

/// A TCP health check: connect, send `send` (if any), and expect `expect` to appear in what the
/// server answers before `timeout check`. Rendered as `tcp-check send-binary`/`expect binary`
/// (hex), so any bytes are safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpCheck {
    /// Bytes to send once connected; empty for protocols where the server speaks first.
    pub send: Vec<u8>,
    /// Bytes that must appear in the answer; never empty (that would be a bare connect check).
    pub expect: Vec<u8>,
}

/// Check interval and the consecutive results needed to change state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckTiming {
    /// Time between checks (`inter`).
    pub interval: Duration,
    /// Consecutive successes to go UP (`rise`).
    pub rise: u32,
    /// Consecutive failures to go DOWN (`fall`).
    pub fall: u32,
}

impl Default for CheckTiming {
    fn default() -> Self {
        Self { interval: Duration::from_secs(1), rise: 2, fall: 2 }
    }
}

impl CheckTiming {
    /// The server keywords for this timing, as used on both `server` lines and `add server`.
    pub(crate) fn server_keywords(&self) -> String {
        format!("check inter {}ms rise {} fall {}", self.interval.as_millis(), self.rise, self.fall)
    }
}

/// Limits on what the model accepts.
const MAX_PATH_LEN: usize = 512;
const MAX_TCP_PAYLOAD: usize = 1024;
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
const MAX_RISE_FALL: u32 = 100;
/// Name of the metrics frontend; starts with `_`, which [`Name`] refuses, so no service collides.
pub(crate) const METRICS_PROXY: &str = "_metrics";

/// Why a [`Config`] cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Two services share a name.
    #[error("two services are named '{0}'")]
    DuplicateService(Name),
    /// Two listeners (services or metrics) bind the same address.
    #[error("two listeners bind {0}")]
    DuplicateBind(SocketAddr),
    /// A bind or server port is 0.
    #[error("port 0 is not usable for {what}")]
    PortZero {
        /// What had port 0.
        what: String,
    },
    /// Two servers of one backend share a name.
    #[error("backend '{backend}' has two servers named '{server}'")]
    DuplicateServer {
        /// The backend.
        backend: Name,
        /// The repeated server name.
        server: Name,
    },
    /// The HTTP check path is unusable.
    #[error("service '{service}': health check path {path:?} {reason}")]
    BadCheckPath {
        /// The service.
        service: Name,
        /// The rejected path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The expected HTTP status is not a status code.
    #[error("service '{service}': expected status {status} is not between 100 and 599")]
    BadExpectStatus {
        /// The service.
        service: Name,
        /// The rejected status.
        status: u16,
    },
    /// The TCP check expects nothing, or sends/expects too much.
    #[error("service '{service}': {reason}")]
    BadTcpCheck {
        /// The service.
        service: Name,
        /// What is wrong.
        reason: String,
    },
    /// Check timing outside sane bounds.
    #[error("service '{service}': {reason}")]
    BadTiming {
        /// The service.
        service: Name,
        /// What is wrong.
        reason: String,
    },
    /// A timeout or limit is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The metrics listener is not on loopback (it serves internals to anyone who can reach it).
    #[error("the metrics listener must bind a loopback address, not {0}")]
    MetricsNotLoopback(SocketAddr),
    /// A file path contains characters that would split or comment a config line.
    #[error("path {0:?} contains whitespace, a quote, '#' or a backslash; HAProxy would misread it")]
    UnsafePath(String),
}

impl Config {
    /// Checks the whole model; [`Config::render`] calls this first.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.global.maxconn == 0 {
            return Err(ConfigError::Zero("maxconn"));
        }
        if self.global.hard_stop_after.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::Zero("hard-stop-after"));
        }
        for (what, d) in [
            ("timeout connect", self.timeouts.connect),
            ("timeout client", self.timeouts.client),
            ("timeout server", self.timeouts.server),
            ("timeout check", self.timeouts.check),
        ] {
            if d.as_millis() == 0 {
                return Err(ConfigError::Zero(what));
            }
        }
        let mut names = HashSet::new();
        let mut binds = HashSet::new();
        if let Some(addr) = self.metrics {
            if !addr.ip().is_loopback() {
                return Err(ConfigError::MetricsNotLoopback(addr));
            }
            if addr.port() == 0 {
                return Err(ConfigError::PortZero { what: "the metrics listener".into() });
            }
            binds.insert(addr);
        }
        for service in &self.services {
            if !names.insert(&service.name) {
                return Err(ConfigError::DuplicateService(service.name.clone()));
            }
            if service.bind.port() == 0 {
                return Err(ConfigError::PortZero { what: format!("service '{}'", service.name) });
            }
            if !binds.insert(service.bind) {
                return Err(ConfigError::DuplicateBind(service.bind));
            }
            service.validate()?;
        }
        Ok(())
    }

    /// Renders `haproxy.cfg` for a process whose files are at `paths`.
    pub fn render(&self, paths: &Paths) -> Result<String, ConfigError> {
        self.validate()?;
        for path in [&paths.admin_socket, &paths.pidfile, &paths.state_file] {
            check_path(path)?;
        }
        let mut out = String::new();
        // `write!` to a String cannot fail; the results are ignored on purpose below.
        let _ = writeln!(
            out,
            "# Rendered by Mosaic (crates/haproxy). Do not edit: it is rewritten on every change."
        );
        let _ = writeln!(out, "global");
        let _ = writeln!(out, "    master-worker");
        let _ = writeln!(
            out,
            "    stats socket {} mode 600 level admin expose-fd listeners",
            paths.admin_socket.display()
        );
        let _ = writeln!(out, "    pidfile {}", paths.pidfile.display());
        // Without SO_REUSEPORT a port another process holds fails the bind, instead of the two
        // silently sharing its connections (Linux lets two listeners of one user share a port
        // when both ask for it, and HAProxy asks by default). Reloads are unaffected: the new
        // worker takes the old one's listeners through the admin socket (`expose-fd listeners`).
        let _ = writeln!(out, "    noreuseport");
        let _ = writeln!(out, "    maxconn {}", self.global.maxconn);
        let _ = writeln!(out, "    server-state-file {}", paths.state_file.display());
        if let Some(d) = self.global.hard_stop_after {
            let _ = writeln!(out, "    hard-stop-after {}ms", d.as_millis());
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "defaults");
        let _ = writeln!(out, "    timeout connect {}ms", self.timeouts.connect.as_millis());
        let _ = writeln!(out, "    timeout client {}ms", self.timeouts.client.as_millis());
        let _ = writeln!(out, "    timeout server {}ms", self.timeouts.server.as_millis());
        let _ = writeln!(out, "    timeout check {}ms", self.timeouts.check.as_millis());
        // A connection that fails to a server is retried on another one instead of failing.
        let _ = writeln!(out, "    option redispatch");
        // Restores drain/maint states and check results dumped before a reload.
        let _ = writeln!(out, "    load-server-state-from-file global");
        for service in &self.services {
            service.render(&mut out);
        }
        if let Some(addr) = self.metrics {
            let _ = writeln!(out);
            let _ = writeln!(out, "frontend {METRICS_PROXY}");
            let _ = writeln!(out, "    mode http");
            let _ = writeln!(out, "    bind {addr}");
            let _ = writeln!(out, "    http-request use-service prometheus-exporter if {{ path /metrics }}");
            let _ = writeln!(out, "    http-request return status 404");
        }
        Ok(out)
    }

    /// The bind addresses this config listens on (services and metrics).
    pub fn binds(&self) -> Vec<SocketAddr> {
        self.services.iter().map(|s| s.bind).chain(self.metrics).collect()
    }

    /// The same config keeping only the servers `keep` accepts; returns it and the servers left
    /// out, as `(backend, server)`. The supervisor writes into the file only servers the running
    /// worker already has (their state then carries over), and adds the others at runtime, where
    /// they wait in maintenance until their checks pass.
    pub fn split_servers(
        &self,
        mut keep: impl FnMut(&Name, &Server) -> bool,
    ) -> (Config, Vec<(Name, Server)>) {
        let mut config = self.clone();
        let mut left_out = Vec::new();
        for service in &mut config.services {
            let servers = std::mem::take(&mut service.servers);
            for server in servers {
                if keep(&service.name, &server) {
                    service.servers.push(server);
                } else {
                    left_out.push((service.name.clone(), server));
                }
            }
        }
        (config, left_out)
    }

    /// The service named `name`.
    pub fn service(&self, name: &Name) -> Option<&Service> {
        self.services.iter().find(|s| &s.name == name)
    }
}

impl Service {
    fn validate(&self) -> Result<(), ConfigError> {
        let service = || self.name.clone();
        match &self.check {
            HealthCheck::Http(http) => {
                if let Some(reason) = check_path_problem(&http.path) {
                    return Err(ConfigError::BadCheckPath {
                        service: service(),
                        path: http.path.clone(),
                        reason,
                    });
                }
                if !(100..=599).contains(&http.expect_status) {
                    return Err(ConfigError::BadExpectStatus {
                        service: service(),
                        status: http.expect_status,
                    });
                }
            }
            HealthCheck::Tcp(tcp) => {
                if tcp.expect.is_empty() {
                    return Err(ConfigError::BadTcpCheck {
                        service: service(),
                        reason: "a TCP check must expect some bytes: a bare connect proves nothing \
                                 behind an LXD proxy device"
                            .into(),
                    });
                }
                for (what, bytes) in [("send", &tcp.send), ("expect", &tcp.expect)] {
                    if bytes.len() > MAX_TCP_PAYLOAD {
                        return Err(ConfigError::BadTcpCheck {
                            service: service(),
                            reason: format!(
                                "the TCP check's {what} is {} bytes; at most {MAX_TCP_PAYLOAD}",
                                bytes.len()
                            ),
                        });
                    }
                }
            }
        }
        let t = &self.timing;
        if t.interval < MIN_INTERVAL || t.interval > MAX_INTERVAL {
            return Err(ConfigError::BadTiming {
                service: service(),
                reason: format!(
                    "check interval {:?} is outside {MIN_INTERVAL:?}..={MAX_INTERVAL:?}",
                    t.interval
                ),
            });
        }
        for (what, n) in [("rise", t.rise), ("fall", t.fall)] {
            if n == 0 || n > MAX_RISE_FALL {
                return Err(ConfigError::BadTiming {
                    service: service(),
                    reason: format!("check {what} {n} is outside 1..={MAX_RISE_FALL}"),
                });
            }
        }
        let mut servers = HashSet::new();
        for server in &self.servers {
            if !servers.insert(&server.name) {
                return Err(ConfigError::DuplicateServer { backend: service(), server: server.name.clone() });
            }
            if server.addr.port() == 0 {
                return Err(ConfigError::PortZero {
                    what: format!("server '{}/{}'", self.name, server.name),
                });
            }
        }
        Ok(())
    }

    fn render(&self, out: &mut String) {
        let name = &self.name;
        let mode = self.mode.keyword();
        let _ = writeln!(out);
        let _ = writeln!(out, "frontend {name}");
        let _ = writeln!(out, "    mode {mode}");
        let _ = writeln!(out, "    bind {}", self.bind);
        if self.mode == Mode::Http {
            // On a reload the old worker would close idle kept-alive client connections at
            // once, racing a client that is just sending on one (it sees the connection cut):
            // instead it answers their next request with `Connection: close`.
            let _ = writeln!(out, "    option idle-close-on-response");
        }
        let _ = writeln!(out, "    default_backend {name}");
        let _ = writeln!(out);
        let _ = writeln!(out, "backend {name}");
        let _ = writeln!(out, "    mode {mode}");
        // Dynamic servers (`add server`) require a dynamic algorithm; roundrobin is one.
        let _ = writeln!(out, "    balance roundrobin");
        match &self.check {
            HealthCheck::Http(http) => {
                let _ = writeln!(out, "    option httpchk");
                let _ = writeln!(out, "    http-check send meth {} uri {}", http.method.as_str(), http.path);
                let _ = writeln!(out, "    http-check expect status {}", http.expect_status);
            }
            HealthCheck::Tcp(tcp) => {
                let _ = writeln!(out, "    option tcp-check");
                let _ = writeln!(out, "    tcp-check connect");
                if !tcp.send.is_empty() {
                    let _ = writeln!(out, "    tcp-check send-binary {}", hex(&tcp.send));
                }
                let _ = writeln!(out, "    tcp-check expect binary {}", hex(&tcp.expect));
            }
        }
        for server in &self.servers {
            let _ =
                writeln!(out, "    server {} {} {}", server.name, server.addr, self.timing.server_keywords());
        }
    }
}

/// Why `path` is not a usable check path, if it is not.
fn check_path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("must start with '/'");
    }
    if path.len() > MAX_PATH_LEN {
        return Some("is longer than 512 bytes");
    }
    // RFC 3986 path and query characters, minus those HAProxy's config parser treats specially
    // (quotes, backslash, '#', '$' and whitespace).
    let ok = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '/' | '-'
                    | '.'
                    | '_'
                    | '~'
                    | '!'
                    | '&'
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | ':'
                    | '@'
                    | '?'
                    | '%'
            )
    };
    if !path.chars().all(ok) {
        return Some("may only contain letters, digits and -._~!&()*+,;=:@?%/");
    }
    None
}

fn check_path(path: &Path) -> Result<(), ConfigError> {
    let s = path.to_string_lossy();
    if s.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '#' | '\\' | '$')) {
        return Err(ConfigError::UnsafePath(s.into_owned()));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `bind` addresses found in a config file this crate rendered (used to tell which listeners
/// a reload adds).
pub(crate) fn rendered_binds(text: &str) -> HashSet<SocketAddr> {
    text.lines().filter_map(|l| l.strip_prefix("    bind ")).filter_map(|a| a.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn http_service(n: &str, port: u16) -> Service {
        Service {
            name: name(n),
            bind: SocketAddr::from(([127, 0, 0, 1], port)),
            mode: Mode::Http,
            check: HealthCheck::Http(HttpCheck {
                method: HttpMethod::Get,
                path: "/health".into(),
                expect_status: 200,
            }),
            timing: CheckTiming { interval: Duration::from_millis(500), rise: 2, fall: 3 },
            servers: vec![
                Server { name: name("i1"), addr: "127.0.0.1:9001".parse().unwrap() },
                Server { name: name("i2"), addr: "[::1]:9002".parse().unwrap() },
            ],
        }
    }

    fn paths() -> Paths {
        Paths::in_dir("/var/lib/mosaic/haproxy")
    }

    #[test]
    fn renders_global_defaults_and_an_http_service() {
        let config = Config { services: vec![http_service("web", 8080)], ..Config::default() };
        let text = config.render(&paths()).unwrap();
        let expected = "\
global
    master-worker
    stats socket /var/lib/mosaic/haproxy/admin.sock mode 600 level admin expose-fd listeners
    pidfile /var/lib/mosaic/haproxy/haproxy.pid
    noreuseport
    maxconn 4096
    server-state-file /var/lib/mosaic/haproxy/server-state

defaults
    timeout connect 5000ms
    timeout client 60000ms
    timeout server 60000ms
    timeout check 2000ms
    option redispatch
    load-server-state-from-file global

frontend web
    mode http
    bind 127.0.0.1:8080
    option idle-close-on-response
    default_backend web

backend web
    mode http
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health
    http-check expect status 200
    server i1 127.0.0.1:9001 check inter 500ms rise 2 fall 3
    server i2 [::1]:9002 check inter 500ms rise 2 fall 3
";
        assert_eq!(text.split_once('\n').unwrap().1, expected);
    }

    #[test]
    fn renders_a_tcp_check_as_hex_and_the_metrics_listener() {
        let mut svc = http_service("db", 5432);
        svc.mode = Mode::Tcp;
        svc.check = HealthCheck::Tcp(TcpCheck { send: b"PING\r\n".to_vec(), expect: b"+PONG".to_vec() });
        svc.servers.clear();
        let config = Config {
            global: Global { maxconn: 100, hard_stop_after: Some(Duration::from_secs(30)) },
            services: vec![svc],
            metrics: Some("127.0.0.1:9101".parse().unwrap()),
            ..Config::default()
        };
        let text = config.render(&paths()).unwrap();
        assert!(text.contains("    maxconn 100\n"), "{text}");
        assert!(text.contains("    hard-stop-after 30000ms\n"), "{text}");
        assert!(
            text.contains(
                "backend db\n    mode tcp\n    balance roundrobin\n    option tcp-check\n    \
                 tcp-check connect\n    tcp-check send-binary 50494e470d0a\n    \
                 tcp-check expect binary 2b504f4e47\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "frontend _metrics\n    mode http\n    bind 127.0.0.1:9101\n    http-request \
                 use-service prometheus-exporter if { path /metrics }\n    http-request return \
                 status 404\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_server_first_tcp_check_sends_nothing() {
        let mut svc = http_service("smtp", 2525);
        svc.check = HealthCheck::Tcp(TcpCheck { send: vec![], expect: b"220 ".to_vec() });
        let text = Config { services: vec![svc], ..Config::default() }.render(&paths()).unwrap();
        assert!(!text.contains("send-binary"), "{text}");
        assert!(text.contains("tcp-check expect binary 32323020\n"), "{text}");
    }

    #[test]
    fn refuses_what_would_be_wrong_or_unsafe() {
        let base = || Config { services: vec![http_service("web", 8080)], ..Config::default() };
        let render = |c: Config| c.render(&paths()).unwrap_err();

        let mut c = base();
        c.services.push(http_service("web", 8081));
        assert_eq!(render(c), ConfigError::DuplicateService(name("web")));

        let mut c = base();
        c.services.push(http_service("api", 8080));
        assert!(matches!(render(c), ConfigError::DuplicateBind(_)));

        let mut c = base();
        c.metrics = Some("0.0.0.0:9101".parse().unwrap());
        assert!(matches!(render(c), ConfigError::MetricsNotLoopback(_)));

        let mut c = base();
        c.metrics = Some("127.0.0.1:8080".parse().unwrap());
        assert!(matches!(render(c), ConfigError::DuplicateBind(_)));

        for (path, reason) in [
            ("health", "must start with '/'"),
            ("/a b", "may only contain"),
            ("/a#b", "may only contain"),
            ("/a\"b", "may only contain"),
            ("/a\nserver x", "may only contain"),
            ("/${HOME}", "may only contain"),
        ] {
            let mut c = base();
            c.services[0].check = HealthCheck::Http(HttpCheck {
                method: HttpMethod::Get,
                path: path.into(),
                expect_status: 200,
            });
            match render(c) {
                ConfigError::BadCheckPath { reason: r, .. } => {
                    assert!(r.starts_with(reason), "{path:?}: {r}")
                }
                other => panic!("{path:?}: {other:?}"),
            }
        }

        let mut c = base();
        c.services[0].check =
            HealthCheck::Http(HttpCheck { method: HttpMethod::Head, path: "/".into(), expect_status: 99 });
        assert!(matches!(render(c), ConfigError::BadExpectStatus { status: 99, .. }));

        let mut c = base();
        c.services[0].check = HealthCheck::Tcp(TcpCheck { send: b"x".to_vec(), expect: vec![] });
        assert!(render(c).to_string().contains("a bare connect proves nothing"));

        let mut c = base();
        c.services[0].timing.rise = 0;
        assert!(matches!(render(c), ConfigError::BadTiming { .. }));

        let mut c = base();
        c.services[0].timing.interval = Duration::from_millis(10);
        assert!(matches!(render(c), ConfigError::BadTiming { .. }));

        let mut c = base();
        let dup = c.services[0].servers[0].clone();
        c.services[0].servers.push(dup);
        assert!(matches!(render(c), ConfigError::DuplicateServer { .. }));

        let mut c = base();
        c.services[0].servers[0].addr.set_port(0);
        assert!(matches!(render(c), ConfigError::PortZero { .. }));

        let mut c = base();
        c.timeouts.check = Duration::ZERO;
        assert_eq!(render(c), ConfigError::Zero("timeout check"));

        assert!(matches!(
            base().render(&Paths::in_dir("/tmp/my dir")).unwrap_err(),
            ConfigError::UnsafePath(_)
        ));
    }

    #[test]
    fn split_servers_keeps_what_the_predicate_accepts() {
        let config = Config { services: vec![http_service("web", 8080)], ..Config::default() };
        let (kept, left_out) = config.split_servers(|_, s| s.name.as_str() == "i2");
        assert_eq!(kept.services[0].servers.len(), 1);
        assert_eq!(kept.services[0].servers[0].name, name("i2"));
        assert_eq!(left_out.len(), 1);
        assert_eq!(left_out[0].0, name("web"));
        assert_eq!(left_out[0].1.name, name("i1"));
    }

    #[test]
    fn finds_the_binds_it_rendered() {
        let config = Config {
            services: vec![http_service("web", 8080), http_service("api", 8081)],
            metrics: Some("127.0.0.1:9101".parse().unwrap()),
            ..Config::default()
        };
        let text = config.render(&paths()).unwrap();
        let binds = rendered_binds(&text);
        assert_eq!(binds, config.binds().into_iter().collect());
        assert_eq!(binds.len(), 3);
    }
}
