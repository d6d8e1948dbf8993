//! Typed settings, layered: defaults, then a TOML file (`MOSAIC_CONFIG`), then `MOSAIC_*`
//! variables (figment does the layering).
//!
//! Each setting is written once, as a field of [`Settings`]: its key in the file is the field's
//! name (or its `rename`), its variable the same in upper case behind `MOSAIC_`, its default in
//! [`Settings::default`]. Durations are given in seconds (fractions allowed). A test checks that
//! the README names every variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where LXD hosts may be: an IP network (HTTPS hosts at an address inside it) or a unix socket
/// path (hosts reached through exactly that socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// HTTPS hosts at IP literals inside this network.
    Network(IpNet),
    /// A unix socket path.
    Socket(PathBuf),
}

impl std::str::FromStr for Allowed {
    type Err = anyhow::Error;

    /// An absolute path is a socket; anything else must be a network in CIDR notation, or a bare
    /// address meaning that one host.
    fn from_str(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.starts_with('/') {
            return Ok(Allowed::Socket(PathBuf::from(text)));
        }
        let net = match text.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => IpNet::from(text.parse::<std::net::IpAddr>().with_context(|| {
                format!("{text:?} is neither a network (CIDR), an address nor a socket path")
            })?),
        };
        Ok(Allowed::Network(net))
    }
}

/// Everything the server needs to start. See the module documentation for how each field is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address of the API and web app; port 0 picks a free port (the tests do this).
    pub listen: SocketAddr,
    /// Address of the phone-home listener, which serves nothing but phone-home. Containers'
    /// phone-home proxies lead here, so keep it stable across restarts; port 0 picks one.
    pub phone_home_listen: SocketAddr,
    /// Address of the metrics listener (`GET /metrics`, Prometheus' text format, no token: keep
    /// it on loopback or a private network); port 0 picks a free port.
    pub metrics_listen: SocketAddr,
    /// PostgreSQL URL; unset runs a private cluster in `data_dir/postgres`.
    #[serde(deserialize_with = "secret")]
    pub database_url: Option<SecretString>,
    /// Where Mosaic keeps its client certificate (and its own PostgreSQL cluster if it runs one).
    pub data_dir: PathBuf,
    /// Log line format: `pretty` or `json`.
    pub log_format: LogFormat,
    /// The first admin's token (at least 32 characters); random, and printed once, when unset.
    #[serde(deserialize_with = "secret")]
    pub admin_token: Option<SecretString>,
    /// If set, LXD hosts may only be registered at IP literals inside these networks or through
    /// these socket paths (comma-separated in the variable). No DNS lookups are made then, so
    /// Mosaic never sends traffic outside them.
    #[serde(deserialize_with = "allowlist")]
    pub host_allowlist: Option<Vec<Allowed>>,
    /// Connections in the database pool for requests and job writes.
    pub db_pool_size: u32,
    /// How long a job keeps trying to record an outcome through database failures (a
    /// PostgreSQL restart), seconds.
    #[serde(rename = "db_retry_secs", deserialize_with = "seconds")]
    pub db_retry_for: Duration,
    /// Seconds to wait for an LXD host before calling it offline.
    #[serde(rename = "lxd_probe_timeout_secs", deserialize_with = "seconds")]
    pub lxd_probe_timeout: Duration,
    /// Directory of PostgreSQL's `initdb` and `pg_ctl` for the embedded cluster.
    pub pg_bin_dir: Option<PathBuf>,
    /// A local LXD daemon's unix socket: registered as host `local` at start-up when it answers
    /// and no host uses it yet.
    pub local_lxd_socket: Option<PathBuf>,
    /// Concurrent LXD calls per host, across all jobs of this server.
    pub per_host_concurrency: usize,
    /// Most instances one deploy request may create.
    pub max_instances_per_deploy: u32,
    /// Most jobs this server process runs at once; more wait in the queue (or for another
    /// server).
    pub max_running_jobs: usize,
    /// Most job event streams one user may have open at once.
    pub max_event_streams_per_user: usize,
    /// How often to look for jobs queued by other server processes, seconds.
    #[serde(rename = "job_poll_interval_secs", deserialize_with = "seconds")]
    pub job_poll_interval: Duration,
    /// A running job whose server has not sent a heartbeat for this long is taken over, seconds.
    #[serde(rename = "job_stale_after_secs", deserialize_with = "seconds")]
    pub job_stale_after: Duration,
    /// On shutdown, how long running job steps may take before their jobs go back to the queue
    /// for another server, seconds.
    #[serde(rename = "shutdown_grace_secs", deserialize_with = "seconds")]
    pub shutdown_grace: Duration,
    /// How long a clean stop may take before the container is killed, seconds.
    #[serde(rename = "stop_timeout_secs", deserialize_with = "seconds")]
    pub stop_timeout: Duration,
    /// How long to wait for cloud-init to finish when checking readiness, seconds.
    #[serde(rename = "readiness_timeout_secs", deserialize_with = "seconds")]
    pub readiness_timeout: Duration,
    /// How often the host cache polls every host, seconds.
    #[serde(rename = "cache_interval_secs", deserialize_with = "seconds")]
    pub cache_interval: Duration,
    /// How long healing waits before trying an instance a second time, seconds; each further try
    /// waits twice as long as the one before (at most an hour).
    #[serde(rename = "heal_backoff_secs", deserialize_with = "seconds")]
    pub heal_backoff: Duration,
    /// How often to retry deleting deployments stuck on an offline host (and to look for
    /// instances to heal), seconds.
    #[serde(rename = "delete_retry_interval_secs", deserialize_with = "seconds")]
    pub delete_retry_interval: Duration,
    /// The built single-page app (`index.html`, the wasm and JS); served at `/` when present.
    pub frontend_dir: PathBuf,
    /// The HAProxy binary Mosaic runs as its load balancer; without one, Mosaic runs and reports
    /// routing unavailable.
    pub haproxy_bin: PathBuf,
    /// The address exposed ports' frontends listen on.
    pub frontend_bind: std::net::IpAddr,
    /// Ports allocated to frontends when an exposed port names none (`first-last`).
    pub frontend_ports: crate::routing::PortRange,
    /// Ports allocated on LXD hosts for the proxy devices through which HAProxy reaches instances
    /// (`first-last`).
    pub proxy_ports: crate::routing::PortRange,
    /// How long an instance taken out of rotation may finish its sessions before they are cut,
    /// seconds.
    #[serde(rename = "drain_timeout_secs", deserialize_with = "seconds")]
    pub drain_timeout: Duration,
    /// How often the load balancer is compared with the database even when nothing announced a
    /// change, seconds.
    #[serde(rename = "routing_interval_secs", deserialize_with = "seconds")]
    pub routing_interval: Duration,
    /// How often HAProxy checks each instance's health, seconds.
    #[serde(rename = "health_check_interval_secs", deserialize_with = "seconds")]
    pub health_check_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            phone_home_listen: SocketAddr::from(([127, 0, 0, 1], 8738)),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            database_url: None,
            data_dir: default_data_dir(),
            log_format: LogFormat::Pretty,
            admin_token: None,
            host_allowlist: None,
            db_pool_size: 10,
            db_retry_for: Duration::from_secs(60),
            lxd_probe_timeout: Duration::from_secs(3),
            pg_bin_dir: None,
            local_lxd_socket: None,
            per_host_concurrency: 8,
            max_instances_per_deploy: 100,
            max_running_jobs: 8,
            max_event_streams_per_user: 64,
            job_poll_interval: Duration::from_secs(1),
            job_stale_after: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            stop_timeout: Duration::from_secs(30),
            readiness_timeout: Duration::from_secs(300),
            cache_interval: Duration::from_secs(5),
            heal_backoff: Duration::from_secs(30),
            delete_retry_interval: Duration::from_secs(15),
            frontend_dir: PathBuf::from("frontend/dist"),
            haproxy_bin: PathBuf::from("/usr/sbin/haproxy"),
            frontend_bind: std::net::IpAddr::from([127, 0, 0, 1]),
            frontend_ports: crate::routing::PortRange::new(30000, 30999),
            proxy_ports: crate::routing::PortRange::new(31000, 32767),
            drain_timeout: Duration::from_secs(10),
            routing_interval: Duration::from_secs(1),
            health_check_interval: Duration::from_millis(500),
        }
    }
}

impl Settings {
    /// Defaults, overridden by the file named in `MOSAIC_CONFIG` (if any), then by `MOSAIC_*`
    /// variables naming a setting (other `MOSAIC_*` variables, e.g. the test environment's, are
    /// not settings and are left alone).
    pub fn load() -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        if let Some(path) = std::env::var_os("MOSAIC_CONFIG") {
            let path = PathBuf::from(path);
            if !path.is_file() {
                bail!("MOSAIC_CONFIG names {}, which is not a file", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let keys = serde_aux::serde_introspection::serde_introspect::<Settings>();
        let env = Env::prefixed("MOSAIC_").filter(move |key| keys.iter().any(|k| key == *k));
        Self::extract(figment.merge(env))
    }

    /// Settings from a TOML file alone (over the defaults).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        Self::extract(Figment::new().merge(Toml::file(path)))
    }

    fn extract(figment: Figment) -> anyhow::Result<Self> {
        let settings: Settings = figment.extract().map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.check()?;
        Ok(settings)
    }

    /// Refuses values that cannot work, rather than quietly changing them.
    fn check(&self) -> anyhow::Result<()> {
        let positive = [
            ("db_pool_size", self.db_pool_size as usize),
            ("per_host_concurrency", self.per_host_concurrency),
            ("max_instances_per_deploy", self.max_instances_per_deploy as usize),
            ("max_running_jobs", self.max_running_jobs),
            ("max_event_streams_per_user", self.max_event_streams_per_user),
        ];
        for (key, value) in positive {
            if value == 0 {
                bail!("{key} must be at least 1");
            }
        }
        let durations = [
            ("lxd_probe_timeout_secs", self.lxd_probe_timeout),
            ("job_poll_interval_secs", self.job_poll_interval),
            ("stop_timeout_secs", self.stop_timeout),
            ("readiness_timeout_secs", self.readiness_timeout),
            ("cache_interval_secs", self.cache_interval),
            ("delete_retry_interval_secs", self.delete_retry_interval),
            ("drain_timeout_secs", self.drain_timeout),
            ("routing_interval_secs", self.routing_interval),
        ];
        for (key, value) in durations {
            if value.is_zero() {
                bail!("{key} must be more than 0");
            }
        }
        if !(0.1..=3600.0).contains(&self.health_check_interval.as_secs_f64()) {
            bail!("health_check_interval_secs must be between 0.1 and 3600");
        }
        if self.job_stale_after < Duration::from_secs(2) {
            bail!("job_stale_after_secs must be at least 2 (heartbeats come every quarter of it)");
        }
        Ok(())
    }
}

/// `/var/lib/mosaic` for root (the embedded PostgreSQL runs as `postgres`, which cannot reach into
/// `/root`), `~/.local/share/mosaic` for anyone else.
fn default_data_dir() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    match std::env::var_os("HOME") {
        Some(home) if !root => PathBuf::from(home).join(".local/share/mosaic"),
        _ => PathBuf::from("/var/lib/mosaic"),
    }
}

/// A value given as text, a number or a boolean, as text: figment reads `MOSAIC_X=123` as a
/// number, and a secret that happens to be all digits is still a secret.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextLike {
    Text(String),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Bool(bool),
}

impl TextLike {
    fn into_text(self) -> String {
        match self {
            TextLike::Text(s) => s,
            TextLike::Signed(n) => n.to_string(),
            TextLike::Unsigned(n) => n.to_string(),
            TextLike::Float(n) => n.to_string(),
            TextLike::Bool(b) => b.to_string(),
        }
    }
}

/// A secret; an empty one is none.
fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let text = Option::<TextLike>::deserialize(d)?.map(TextLike::into_text);
    Ok(text.filter(|t| !t.is_empty()).map(SecretString::from))
}

/// Seconds, whole or fractional.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| serde::de::Error::custom(format!("{secs} is not a duration in seconds")))
}

/// A list in the file, or one comma-separated string (a variable).
fn allowlist<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Allowed>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        Text(String),
    }
    let entries: Vec<String> = match Option::<Given>::deserialize(d)? {
        None => return Ok(None),
        Some(Given::List(list)) => list,
        Some(Given::Text(text)) => text.split(',').map(str::to_owned).collect(),
    };
    entries
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| e.parse::<Allowed>())
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("mosaic-config-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_configuration_file_overrides_the_defaults() {
        let path = write(
            "good",
            "listen = \"127.0.0.1:9090\"\ndatabase_url = \"postgres://db/mosaic\"\nlog_format = \"json\"\n\
             host_allowlist = [\"10.0.0.0/8\", \"127.0.0.1\", \"/var/lib/lxd/unix.socket\"]\n\
             per_host_concurrency = 3\nstop_timeout_secs = 1.5\n",
        );
        let settings = Settings::from_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(settings.listen.port(), 9090);
        assert!(settings.database_url.is_some());
        assert_eq!(settings.log_format, LogFormat::Json);
        let allowed = settings.host_allowlist.unwrap();
        assert_eq!(allowed.len(), 3);
        assert_eq!(allowed[2], Allowed::Socket("/var/lib/lxd/unix.socket".into()));
        assert_eq!(settings.per_host_concurrency, 3);
        assert_eq!(settings.stop_timeout, Duration::from_millis(1500));
        assert_eq!(settings.readiness_timeout, Settings::default().readiness_timeout);
    }

    #[test]
    fn unknown_keys_and_unworkable_values_are_refused() {
        let path = write("unknown", "lissen = \"x\"\n");
        let err = Settings::from_file(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(format!("{err:#}").contains("lissen"), "{err:#}");

        let path = write("zero", "per_host_concurrency = 0\n");
        let err = Settings::from_file(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(format!("{err:#}").contains("per_host_concurrency"), "{err:#}");

        assert!("10.0.0.0/33".parse::<Allowed>().is_err());
        assert!("example.com".parse::<Allowed>().is_err());
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns its own error type")]
    fn variables_are_layered_over_the_file_and_numbers_can_be_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("mosaic.toml", "per_host_concurrency = 3\nlisten = \"127.0.0.1:9090\"\n")?;
            jail.set_env("MOSAIC_CONFIG", "mosaic.toml");
            jail.set_env("MOSAIC_PER_HOST_CONCURRENCY", "5");
            jail.set_env("MOSAIC_HOST_ALLOWLIST", "127.0.0.0/8,::1");
            jail.set_env("MOSAIC_ADMIN_TOKEN", "12345678901234567890123456789012345");
            jail.set_env("MOSAIC_TESTENV_FILE", "/not/a/setting");
            let settings = Settings::load().map_err(|e| e.to_string())?;
            assert_eq!(settings.per_host_concurrency, 5);
            assert_eq!(settings.listen.port(), 9090);
            assert_eq!(settings.host_allowlist.map(|a| a.len()), Some(2));
            assert!(settings.admin_token.is_some());
            Ok(())
        });
    }

    #[test]
    fn the_readme_names_every_variable() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
        for key in serde_aux::serde_introspection::serde_introspect::<Settings>() {
            let variable = format!("MOSAIC_{}", key.to_uppercase());
            assert!(readme.contains(&variable), "README.md does not name {variable}");
        }
    }
}
