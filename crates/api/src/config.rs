//! Typed settings: defaults, then a TOML file (`MOSAIC_CONFIG`), then `MOSAIC_*` variables.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// An IP network in CIDR notation (`127.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `ADDR/PREFIX` (a bare address means a single host).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.parse().with_context(|| format!("{text:?} is not an IP network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .with_context(|| format!("bad prefix in {text:?}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    /// Whether `ip` lies inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (the tests do this).
    pub listen: SocketAddr,
    /// PostgreSQL URL; `None` runs a private cluster in `data_dir/postgres`.
    pub database_url: Option<SecretString>,
    /// Where Mosaic keeps its client certificate (and its own PostgreSQL cluster if it runs one).
    pub data_dir: PathBuf,
    /// Log line format.
    pub log_format: LogFormat,
    /// The first admin's token; random (and printed once) when not set.
    pub admin_token: Option<SecretString>,
    /// If set, LXD hosts may only be registered at IP literals inside these networks. No DNS
    /// lookups are made then, so Mosaic never sends traffic outside them.
    pub host_allowlist: Option<Vec<IpNet>>,
    /// Connections in the database pool.
    pub db_pool_size: u32,
    /// Seconds to wait for an LXD host before calling it offline.
    pub lxd_probe_timeout_secs: u64,
    /// Directory of PostgreSQL's `initdb` and `pg_ctl` for the embedded cluster.
    pub pg_bin_dir: Option<PathBuf>,
    /// A local LXD daemon's unix socket: registered as host `local` at start-up when it answers
    /// and no host uses it yet.
    pub local_lxd_socket: Option<PathBuf>,
    /// The job engine and host cache.
    pub jobs: JobSettings,
    /// The built single-page app (`index.html`, the wasm and JS); served at `/` when present.
    pub frontend_dir: PathBuf,
}

/// How jobs run. The defaults suit production; tests shorten the intervals.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Concurrent LXD calls per host, across all jobs of this server.
    pub per_host_concurrency: usize,
    /// Most instances one deploy request may create.
    pub max_instances_per_deploy: u32,
    /// How often to look for jobs queued by other server processes.
    pub poll_interval: Duration,
    /// A running job whose server has not sent a heartbeat for this long is taken over.
    pub stale_after: Duration,
    /// Seconds a clean stop may take before the container is killed.
    pub stop_timeout: Duration,
    /// How long to wait for cloud-init to finish when checking readiness.
    pub readiness_timeout: Duration,
    /// How often the host cache polls every host.
    pub cache_interval: Duration,
    /// How often to retry deleting deployments stuck on an offline host.
    pub delete_retry_interval: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            per_host_concurrency: 8,
            max_instances_per_deploy: 100,
            poll_interval: Duration::from_secs(1),
            stale_after: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(30),
            readiness_timeout: Duration::from_secs(300),
            cache_interval: Duration::from_secs(5),
            delete_retry_interval: Duration::from_secs(15),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: default_data_dir(),
            log_format: LogFormat::Pretty,
            admin_token: None,
            host_allowlist: None,
            db_pool_size: 10,
            lxd_probe_timeout_secs: 3,
            pg_bin_dir: None,
            local_lxd_socket: None,
            jobs: JobSettings::default(),
            frontend_dir: PathBuf::from("frontend/dist"),
        }
    }
}

/// The keys a configuration file may set; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    admin_token: Option<String>,
    host_allowlist: Option<Vec<String>>,
    db_pool_size: Option<u32>,
    lxd_probe_timeout_secs: Option<u64>,
    pg_bin_dir: Option<PathBuf>,
    local_lxd_socket: Option<PathBuf>,
    per_host_concurrency: Option<usize>,
    max_instances_per_deploy: Option<u32>,
    job_stale_after_secs: Option<u64>,
    stop_timeout_secs: Option<u64>,
    readiness_timeout_secs: Option<u64>,
    cache_interval_secs: Option<u64>,
    frontend_dir: Option<PathBuf>,
}

impl Settings {
    /// Defaults, overridden by the file named in `MOSAIC_CONFIG` (if any), then by `MOSAIC_*`
    /// variables: `MOSAIC_LISTEN`, `MOSAIC_DATABASE_URL`, `MOSAIC_DATA_DIR`, `MOSAIC_LOG_FORMAT`,
    /// `MOSAIC_ADMIN_TOKEN`, `MOSAIC_HOST_ALLOWLIST` (comma-separated CIDRs),
    /// `MOSAIC_DB_POOL_SIZE`, `MOSAIC_LXD_PROBE_TIMEOUT_SECS`, `MOSAIC_PG_BIN_DIR`,
    /// `MOSAIC_LOCAL_LXD_SOCKET`, `MOSAIC_PER_HOST_CONCURRENCY`, `MOSAIC_MAX_INSTANCES_PER_DEPLOY`,
    /// `MOSAIC_JOB_STALE_AFTER_SECS`, `MOSAIC_STOP_TIMEOUT_SECS`, `MOSAIC_READINESS_TIMEOUT_SECS`,
    /// `MOSAIC_CACHE_INTERVAL_SECS`, `MOSAIC_FRONTEND_DIR`.
    pub fn load() -> anyhow::Result<Self> {
        let file = match std::env::var_os("MOSAIC_CONFIG") {
            Some(path) => read_file(Path::new(&path))?,
            None => FileSettings::default(),
        };
        let env = |key: &str| std::env::var(format!("MOSAIC_{key}")).ok();
        let file_list = file.host_allowlist.map(|v| v.join(","));
        Settings::default().merge(FileSettings {
            listen: env("LISTEN").or(file.listen),
            database_url: env("DATABASE_URL").or(file.database_url),
            data_dir: env("DATA_DIR").map(PathBuf::from).or(file.data_dir),
            log_format: match env("LOG_FORMAT") {
                Some(f) => Some(parse_log_format(&f)?),
                None => file.log_format,
            },
            admin_token: env("ADMIN_TOKEN").or(file.admin_token),
            host_allowlist: env("HOST_ALLOWLIST").or(file_list).map(|s| vec![s]),
            db_pool_size: env("DB_POOL_SIZE")
                .map(|v| v.parse())
                .transpose()
                .context("MOSAIC_DB_POOL_SIZE")?
                .or(file.db_pool_size),
            lxd_probe_timeout_secs: env("LXD_PROBE_TIMEOUT_SECS")
                .map(|v| v.parse())
                .transpose()
                .context("MOSAIC_LXD_PROBE_TIMEOUT_SECS")?
                .or(file.lxd_probe_timeout_secs),
            pg_bin_dir: env("PG_BIN_DIR").map(PathBuf::from).or(file.pg_bin_dir),
            local_lxd_socket: env("LOCAL_LXD_SOCKET").map(PathBuf::from).or(file.local_lxd_socket),
            per_host_concurrency: number(env("PER_HOST_CONCURRENCY"), "PER_HOST_CONCURRENCY")?
                .or(file.per_host_concurrency),
            max_instances_per_deploy: number(env("MAX_INSTANCES_PER_DEPLOY"), "MAX_INSTANCES_PER_DEPLOY")?
                .or(file.max_instances_per_deploy),
            job_stale_after_secs: number(env("JOB_STALE_AFTER_SECS"), "JOB_STALE_AFTER_SECS")?
                .or(file.job_stale_after_secs),
            stop_timeout_secs: number(env("STOP_TIMEOUT_SECS"), "STOP_TIMEOUT_SECS")?
                .or(file.stop_timeout_secs),
            readiness_timeout_secs: number(env("READINESS_TIMEOUT_SECS"), "READINESS_TIMEOUT_SECS")?
                .or(file.readiness_timeout_secs),
            cache_interval_secs: number(env("CACHE_INTERVAL_SECS"), "CACHE_INTERVAL_SECS")?
                .or(file.cache_interval_secs),
            frontend_dir: env("FRONTEND_DIR").map(PathBuf::from).or(file.frontend_dir),
        })
    }

    fn merge(mut self, f: FileSettings) -> anyhow::Result<Self> {
        if let Some(listen) = f.listen {
            self.listen = listen.parse().with_context(|| format!("listen={listen:?} is not an address"))?;
        }
        if let Some(url) = f.database_url.filter(|u| !u.is_empty()) {
            self.database_url = Some(SecretString::from(url));
        }
        if let Some(dir) = f.data_dir {
            self.data_dir = dir;
        }
        if let Some(format) = f.log_format {
            self.log_format = format;
        }
        if let Some(token) = f.admin_token.filter(|t| !t.is_empty()) {
            self.admin_token = Some(SecretString::from(token));
        }
        if let Some(list) = f.host_allowlist {
            let nets = list
                .iter()
                .flat_map(|s| s.split(','))
                .filter(|s| !s.trim().is_empty())
                .map(IpNet::parse)
                .collect::<anyhow::Result<Vec<_>>>()?;
            self.host_allowlist = Some(nets);
        }
        if let Some(n) = f.db_pool_size {
            self.db_pool_size = n.max(1);
        }
        if let Some(t) = f.lxd_probe_timeout_secs {
            self.lxd_probe_timeout_secs = t.max(1);
        }
        if let Some(dir) = f.pg_bin_dir {
            self.pg_bin_dir = Some(dir);
        }
        if let Some(socket) = f.local_lxd_socket.filter(|p| !p.as_os_str().is_empty()) {
            self.local_lxd_socket = Some(socket);
        }
        if let Some(n) = f.per_host_concurrency {
            self.jobs.per_host_concurrency = n.max(1);
        }
        if let Some(n) = f.max_instances_per_deploy {
            self.jobs.max_instances_per_deploy = n.max(1);
        }
        if let Some(s) = f.job_stale_after_secs {
            self.jobs.stale_after = Duration::from_secs(s.max(2));
        }
        if let Some(s) = f.stop_timeout_secs {
            self.jobs.stop_timeout = Duration::from_secs(s.max(1));
        }
        if let Some(s) = f.readiness_timeout_secs {
            self.jobs.readiness_timeout = Duration::from_secs(s.max(1));
        }
        if let Some(s) = f.cache_interval_secs {
            self.jobs.cache_interval = Duration::from_secs(s.max(1));
        }
        if let Some(dir) = f.frontend_dir {
            self.frontend_dir = dir;
        }
        Ok(self)
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

fn number<T: std::str::FromStr>(value: Option<String>, key: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value.map(|v| v.parse::<T>()).transpose().with_context(|| format!("MOSAIC_{key} is not a number"))
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("Invalid configuration in {}", path.display()))
}

fn parse_log_format(text: &str) -> anyhow::Result<LogFormat> {
    match text {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        other => bail!("MOSAIC_LOG_FORMAT={other:?}: expected pretty or json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_file_overrides_the_defaults() {
        let path = std::env::temp_dir().join(format!("mosaic-config-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9090\"\ndatabase_url = \"postgres://db/mosaic\"\nlog_format = \"json\"\n\
             host_allowlist = [\"10.0.0.0/8\", \"127.0.0.1\"]\nper_host_concurrency = 3\n",
        )
        .unwrap();
        let settings = Settings::default().merge(read_file(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(settings.listen.port(), 9090);
        assert!(settings.database_url.is_some());
        assert_eq!(settings.log_format, LogFormat::Json);
        assert_eq!(settings.host_allowlist.unwrap().len(), 2);
        assert_eq!(settings.jobs.per_host_concurrency, 3);

        let unknown = std::env::temp_dir().join(format!("mosaic-config-bad-{}.toml", std::process::id()));
        std::fs::write(&unknown, "lissen = \"x\"\n").unwrap();
        let err = read_file(&unknown).unwrap_err();
        std::fs::remove_file(&unknown).unwrap();
        assert!(format!("{err:#}").contains("lissen"), "{err:#}");
    }

    #[test]
    fn networks_contain_what_they_should() {
        let lo = IpNet::parse("127.0.0.0/8").unwrap();
        assert!(lo.contains("127.0.0.1".parse().unwrap()));
        assert!(lo.contains("127.255.0.9".parse().unwrap()));
        assert!(!lo.contains("10.0.0.1".parse().unwrap()));
        assert!(!lo.contains("::1".parse().unwrap()));
        let one = IpNet::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(IpNet::parse("127.0.0.0/33").is_err());
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }
}
