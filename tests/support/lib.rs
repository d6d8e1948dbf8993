//! The test kit: what the integration tests and benchmarks share.
//!
//! Everything here talks to the real test environment brought up by `scripts/testenv.sh up`:
//! two LXD daemons on loopback, their images, a client certificate they trust, and a private
//! PostgreSQL cluster. The environment is described by a `KEY=VALUE` file whose path is
//! `MOSAIC_TESTENV_FILE` (default `/var/lib/mosaic-testenv/env`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lxd::{Client, Fingerprint, Identity, InstanceName};
use url::Url;

mod app;
pub mod bench;
mod frontend;
mod lifecycle;
mod metrics;
pub use app::{
    TestApp, create_database, expect_error, expect_json, frontend_dir, quick, spawn_app, spawn_app_in,
    spawn_app_on, spawn_app_with, stop_haproxy, test_data_dir, test_settings,
};
pub use frontend::{FrontendLoad, Outcome};
pub use lifecycle::{JOB_DEADLINE, Relay, eventually};
pub use metrics::Metrics;

/// Where `scripts/testenv.sh` writes the environment file unless told otherwise.
pub const DEFAULT_ENV_FILE: &str = "/var/lib/mosaic-testenv/env";

/// A generous bound for LXD operations in tests: a Debian container boots in seconds, but CI
/// machines are small and shared.
pub const OP_TIMEOUT: Duration = Duration::from_secs(120);

/// One LXD daemon of the test environment.
#[derive(Debug, Clone)]
pub struct TestHost {
    /// `a` or `b`.
    pub label: &'static str,
    /// Its HTTPS address.
    pub url: Url,
    /// Its unix socket.
    pub socket: PathBuf,
    /// SHA-256 of its server certificate.
    pub fingerprint: Fingerprint,
}

impl TestHost {
    /// An HTTPS client presenting the test client certificate (trusted on both hosts).
    pub fn client(&self) -> Client {
        Client::https(&self.url, self.fingerprint, Some(&env().identity)).expect("HTTPS client")
    }

    /// An HTTPS client presenting `identity` (e.g. a fresh, untrusted one).
    pub fn client_as(&self, identity: &Identity) -> Client {
        Client::https(&self.url, self.fingerprint, Some(identity)).expect("HTTPS client")
    }

    /// A client over the unix socket: fully trusted, for arranging and cleaning up.
    pub fn admin(&self) -> Client {
        Client::unix(&self.socket).expect("unix socket client")
    }
}

/// The two-member LXD cluster of the test environment (`MOSAIC_TEST_CLUSTER_*`).
#[derive(Debug, Clone)]
pub struct TestCluster {
    /// The members' HTTPS addresses, m1 first.
    pub urls: Vec<Url>,
    /// SHA-256 of the cluster certificate, which every member presents.
    pub fingerprint: Fingerprint,
    /// The members' unix sockets, m1 first.
    pub sockets: Vec<PathBuf>,
    /// The members' names (`m1`, `m2`).
    pub members: Vec<String>,
}

impl TestCluster {
    /// An HTTPS client over every member (failing over between them), presenting the test
    /// client certificate.
    pub fn client(&self) -> Client {
        Client::https_cluster(&self.urls, self.fingerprint, Some(&env().identity)).expect("HTTPS client")
    }

    /// A client over the first member's unix socket: fully trusted, for arranging and cleaning up.
    pub fn admin(&self) -> Client {
        Client::unix(&self.sockets[0]).expect("unix socket client")
    }
}

/// The test cluster; panics (failing the test, never passing it vacuously) when the environment
/// has none.
pub fn cluster() -> &'static TestCluster {
    env().cluster.as_ref().unwrap_or_else(|| {
        panic!(
            "cluster not in the test env: MOSAIC_TEST_CLUSTER_URLS is missing; run `scripts/testenv.sh up`"
        )
    })
}

/// A hold on the test cluster's membership (see [`cluster_steady`] and [`cluster_exclusive`]):
/// a file lock, so it also holds against test runs in other processes sharing the environment.
#[derive(Debug)]
pub struct ClusterHold {
    /// The locked file: the lock lasts as long as it is open.
    _file: std::fs::File,
}

async fn hold_cluster(exclusive: bool) -> ClusterHold {
    let path = std::env::var("MOSAIC_TESTENV_FILE").unwrap_or_else(|_| DEFAULT_ENV_FILE.to_owned());
    let path = Path::new(&path).with_file_name("cluster.lock");
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let locked = if exclusive { file.lock() } else { file.lock_shared() };
        locked.unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        ClusterHold { _file: file }
    })
    .await
    .expect("cluster lock task")
}

/// Waits until no test is taking a cluster member away, and keeps it so while held: for tests
/// that expect every member online.
pub async fn cluster_steady() -> ClusterHold {
    hold_cluster(false).await
}

/// Waits until no other test uses the cluster, and keeps it so while held: for a test that takes
/// a member offline (and must bring it back before letting go).
pub async fn cluster_exclusive() -> ClusterHold {
    hold_cluster(true).await
}

/// The whole test environment.
#[derive(Debug)]
pub struct TestEnv {
    /// The two LXD hosts.
    pub hosts: [TestHost; 2],
    /// The two-member cluster, when the environment has one.
    pub cluster: Option<TestCluster>,
    /// The trust password set on both hosts.
    pub trust_password: String,
    /// The client certificate both hosts trust.
    pub identity: Identity,
    /// A PostgreSQL URL for the private test cluster's maintenance database.
    pub database_url: String,
    /// Alias of the busybox image (fast lifecycle tests).
    pub image_busybox: String,
    /// Alias of the Debian image with cloud-init.
    pub image_cloudinit: String,
}

/// The test environment, loaded once per process.
///
/// Panics with instructions when it is missing: a test that cannot reach the real thing must
/// fail, not pass vacuously.
pub fn env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var("MOSAIC_TESTENV_FILE").unwrap_or_else(|_| DEFAULT_ENV_FILE.to_owned());
        load(Path::new(&path)).unwrap_or_else(|e| {
            panic!("cannot load the test environment from {path}: {e:#}\nrun `scripts/testenv.sh up` first")
        })
    })
}

fn load(path: &Path) -> anyhow::Result<TestEnv> {
    let text = std::fs::read_to_string(path)?;
    let vars: HashMap<&str, &str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let var = |k: &str| vars.get(k).map(|v| v.to_string()).ok_or_else(|| anyhow::anyhow!("{k} is missing"));
    let host = |label: &'static str, key: &str| -> anyhow::Result<TestHost> {
        Ok(TestHost {
            label,
            url: var(&format!("MOSAIC_TEST_LXD_{key}_URL"))?.parse()?,
            socket: var(&format!("MOSAIC_TEST_LXD_{key}_SOCKET"))?.into(),
            fingerprint: var(&format!("MOSAIC_TEST_LXD_{key}_FINGERPRINT"))?.parse()?,
        })
    };
    let list = |k: &str| -> anyhow::Result<Vec<String>> {
        Ok(var(k)?.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
    };
    let cluster = match vars.contains_key("MOSAIC_TEST_CLUSTER_URLS") {
        false => None,
        true => Some(TestCluster {
            urls: list("MOSAIC_TEST_CLUSTER_URLS")?.iter().map(|u| u.parse()).collect::<Result<_, _>>()?,
            fingerprint: var("MOSAIC_TEST_CLUSTER_FINGERPRINT")?.parse()?,
            sockets: list("MOSAIC_TEST_CLUSTER_SOCKETS")?.into_iter().map(PathBuf::from).collect(),
            members: list("MOSAIC_TEST_CLUSTER_MEMBERS")?,
        }),
    };
    let cert = std::fs::read_to_string(var("MOSAIC_TEST_CLIENT_CERT")?)?;
    let key = std::fs::read_to_string(var("MOSAIC_TEST_CLIENT_KEY")?)?;
    Ok(TestEnv {
        hosts: [host("a", "A")?, host("b", "B")?],
        cluster,
        trust_password: var("MOSAIC_TEST_LXD_TRUST_PASSWORD")?,
        identity: Identity::from_pem(&cert, &key)?,
        database_url: var("MOSAIC_TEST_DATABASE_URL")?,
        image_busybox: var("MOSAIC_TEST_IMAGE_BUSYBOX")?,
        image_cloudinit: var("MOSAIC_TEST_IMAGE_CLOUDINIT")?,
    })
}

/// A fresh instance name, unique across tests and runs: `t-<what>-<suffix>`.
///
/// Test containers all start with `t-` so `scripts/testenv.sh up` can sweep away any left by a
/// crashed run.
pub fn unique_name(what: &str) -> InstanceName {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let suffix = format!("{:x}{:x}{n}", std::process::id() % 0xfff, nanos % 0xfffff);
    InstanceName::parse(&format!("t-{what}-{suffix}")).expect("test names are valid")
}

/// Stops (forcibly) and deletes an instance if it exists; for cleanup, so errors are ignored
/// except a failure to delete an instance that still exists.
pub async fn remove_instance(client: &Client, name: &InstanceName) {
    if let Ok(op) = client.stop_instance(name, None).await {
        let _ = op.wait(OP_TIMEOUT).await;
    }
    if let Ok(op) = client.delete_instance(name).await {
        let _ = op.wait(OP_TIMEOUT).await;
    }
    if let Ok(Some(_)) = client.instance_opt(name).await {
        panic!("cleanup could not delete {name}");
    }
}

/// A plain HTTP client for talking to the Mosaic server under test.
///
/// The workspace builds reqwest without a bundled crypto provider (the LXD client hands it a
/// complete rustls configuration), so a client built from defaults needs a process-wide provider.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().expect("HTTP client")
}
