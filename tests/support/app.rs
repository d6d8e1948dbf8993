//! `spawn_app`: the real Mosaic server on a free port, against a fresh database.

use std::net::SocketAddr;

use diesel::{Connection, PgConnection, RunQueryDsl};
use std::time::Duration;

use mosaic_api::config::{Allowed, Settings};
use mosaic_api::startup::Application;
use mosaic_api::state::AppState;
use reqwest::{Method, RequestBuilder, Response};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{env, http};

/// A running server with an admin token.
pub struct TestApp {
    /// Where it listens.
    pub address: SocketAddr,
    /// Where its metrics listener listens.
    pub metrics_address: SocketAddr,
    /// The first admin's token.
    pub token: String,
    /// The server's state (database pool, identity) to look behind the API.
    pub state: AppState,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The database's name.
    pub database: String,
    /// Its data directory (client certificate, and its HAProxy's files in `haproxy/`).
    pub data_dir: std::path::PathBuf,
    server: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// The URL of `path` (e.g. `/api/v1/hosts`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A request with the admin token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(&self.token)
    }

    /// `GET` as admin.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("request")
    }

    /// The items of a list's first page (`GET` as admin, answered 200).
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Vec<T> {
        expect_json::<mosaic_types::page::Page<T>>(self.get(path).await, 200).await.items
    }

    /// Every item of a list, `limit` at a time: follows `next_cursor` until the last page,
    /// checking that no page holds more than `limit` items and only the last is short.
    pub async fn list_all<T: DeserializeOwned>(&self, path: &str, limit: usize) -> Vec<T> {
        let join = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{path}{join}limit={limit}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: mosaic_types::page::Page<T> = expect_json(self.get(&url).await, 200).await;
            assert!(page.items.len() <= limit, "{url}: more than {limit} items");
            let count = page.items.len();
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => {
                    assert_eq!(count, limit, "{url}: a short page before the last");
                    cursor = Some(next);
                }
                None => return all,
            }
        }
    }

    /// Checks a list's paging and returns its items (one page of up to 500): read `limit` at a
    /// time it holds every item exactly once, in the same order (compared by `key`, since figures
    /// such as data ages may change between reads), and it holds more than one such page. A bad
    /// limit or cursor is a 400 with the error envelope.
    pub async fn check_paging(&self, path: &str, key: &str, limit: usize) -> Vec<serde_json::Value> {
        let join = if path.contains('?') { '&' } else { '?' };
        let all: Vec<serde_json::Value> = self.list(&format!("{path}{join}limit=500")).await;
        let paged: Vec<serde_json::Value> = self.list_all(path, limit).await;
        let keys = |items: &[serde_json::Value]| items.iter().map(|i| i[key].to_string()).collect::<Vec<_>>();
        assert!(all.len() > limit, "{path}: {} items fit one page of {limit}", all.len());
        assert_eq!(keys(&paged), keys(&all), "{path}: paged differently");
        let mut unique = keys(&all);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{path}: an item twice");
        for bad in ["limit=0", "limit=501", "limit=-1", "limit=x", "cursor=bm9wZQ", "cursor=%21%21"] {
            let body: serde_json::Value =
                expect_json(self.get(&format!("{path}{join}{bad}")).await, 400).await;
            assert!(
                body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                "{bad}: {body}"
            );
        }
        all
    }

    /// `POST` JSON as admin.
    pub async fn post<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Response {
        self.request(Method::POST, path).json(body).send().await.expect("request")
    }

    /// `PATCH` JSON as admin.
    pub async fn patch<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Response {
        self.request(Method::PATCH, path).json(body).send().await.expect("request")
    }

    /// Gives cloud-config `cc` a new revision with `user_data`; returns its number.
    pub async fn revise(&self, cc: &str, user_data: &str) -> i64 {
        let path = format!("/api/v1/cloud-configs/{cc}");
        let revised: serde_json::Value =
            expect_json(self.patch(&path, &serde_json::json!({"user_data": user_data})).await, 200).await;
        revised["revision"].as_i64().expect("a revision number")
    }

    /// `PUT` JSON as admin.
    pub async fn put<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Response {
        self.request(Method::PUT, path).json(body).send().await.expect("request")
    }

    /// `DELETE` as admin.
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.expect("request")
    }
}

impl Drop for TestApp {
    /// Stops the server and cleans up after the test, whether it passed or failed: every
    /// container of this server's deployments still on a test host is deleted, and this server's
    /// certificate is taken out of the hosts' trust stores. (Done on a thread of its own with its
    /// own runtime: a drop cannot await, and may run while the test's runtime unwinds.)
    fn drop(&mut self) {
        // Stop the workers so their database connections close; the command is sent at once.
        drop(self.server.stop(false));
        // HAProxy outlives Mosaic by design: stop reconciling, then stop the HAProxy this server
        // may have started (by its pidfile; nothing when it never started one).
        self.state.routing.close();
        stop_haproxy(&self.data_dir);
        let (pool, fingerprint) = (self.state.pool.clone(), self.state.identity.fingerprint());
        let swept = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(sweep(pool, fingerprint))
        })
        .join();
        match swept {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("test cleanup: {e:#}"),
            Err(_) => eprintln!("test cleanup panicked"),
        }
    }
}

/// Stops the HAProxy of a Mosaic data directory, if one runs, and waits until it is gone.
pub fn stop_haproxy(data_dir: &std::path::Path) {
    let dir = data_dir.join("haproxy");
    if let Ok(Some(pid)) = haproxy::terminate(&dir) {
        let start = std::time::Instant::now();
        while haproxy::alive(pid) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A fresh data directory for a test server: short, because HAProxy's unix sockets live in it
/// and their paths are limited to 107 bytes.
pub fn test_data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]))
}

/// Deletes the containers of every deployment this server's database knows (and untrusts its
/// certificate) on every test host.
async fn sweep(pool: mosaic_db::DbPool, fingerprint: lxd::Fingerprint) -> anyhow::Result<()> {
    let deployments: std::collections::HashSet<String> = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use mosaic_db::schema::{deployments, instances};
        let mut conn = pool.get()?;
        let mut ids: Vec<uuid::Uuid> = deployments::table.select(deployments::id).load(&mut conn)?;
        ids.extend(instances::table.select(instances::deployment_id).load::<uuid::Uuid>(&mut conn)?);
        Ok::<_, anyhow::Error>(ids.into_iter().map(|id| id.to_string()).collect())
    })
    .await??;
    let mut admins: Vec<lxd::Client> = env().hosts.iter().map(|h| h.admin()).collect();
    if let Some(cluster) = &env().cluster {
        admins.push(cluster.admin());
    }
    let filter = lxd::InstanceFilter::config_eq("user.mosaic.managed", "true")?;
    for admin in admins {
        if !deployments.is_empty() {
            for container in admin.instances(Some(&filter)).await? {
                let ours =
                    container.config.get("user.mosaic.deployment").is_some_and(|d| deployments.contains(d));
                if ours && let Ok(name) = lxd::InstanceName::parse(&container.name) {
                    crate::remove_instance(&admin, &name).await;
                }
            }
        }
        match admin.delete_certificate(&fingerprint).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads a JSON body after checking the status, showing the body when the status is wrong.
pub async fn expect_json<T: DeserializeOwned>(response: Response, status: u16) -> T {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not the expected JSON ({e}): {text}"))
}

/// Checks an error answer: the status and the envelope's code; returns the message.
pub async fn expect_error(response: Response, status: u16, code: &str) -> String {
    let body: serde_json::Value = expect_json(response, status).await;
    assert_eq!(body["error"]["code"], code, "unexpected error: {body}");
    body["error"]["message"].as_str().expect("a message").to_owned()
}

/// Shortens the job engine's and host cache's intervals, so crashes and retries are noticed
/// within seconds.
pub fn quick(settings: &mut Settings) {
    settings.job_poll_interval = Duration::from_millis(500);
    settings.job_stale_after = Duration::from_secs(4);
    settings.stop_timeout = Duration::from_secs(20);
    settings.readiness_timeout = Duration::from_secs(180);
    settings.cache_interval = Duration::from_secs(1);
    settings.delete_retry_interval = Duration::from_secs(1);
    settings.shutdown_grace = Duration::from_secs(5);
}

/// Where `scripts/build-frontend.sh` puts the built app.
pub fn frontend_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist")
}

/// Creates an empty database in the test cluster; returns its URL.
pub async fn create_database() -> (String, String) {
    let database = format!("mosaic_test_{}", uuid::Uuid::new_v4().simple());
    let admin_url = env().database_url.clone();
    let name = database.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&admin_url).expect("connect to the test cluster");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create database");
    })
    .await
    .expect("create database task");
    let base = env().database_url.rsplit_once('/').map(|(b, _)| b).expect("database URL has a path");
    (format!("{base}/{database}"), database)
}

/// Starts Mosaic on `127.0.0.1:0` against a new, empty database in the test cluster, with a data
/// directory of its own (so a fresh LXD client certificate) and the host allow-list set to
/// loopback.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(quick).await
}

/// Starts another Mosaic server process (in this process) on an existing database, with its own
/// data directory: how several servers share one database.
pub async fn spawn_app_on(url: &str, database: &str, token: &str) -> TestApp {
    spawn_app_in(url, database, token, test_data_dir()).await
}

/// Like [`spawn_app`], with the test settings adjusted by `adjust` after the defaults (benchmarks
/// pass `|_| {}` to measure Mosaic as it runs by default; [`quick`] is what tests use).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, database) = create_database().await;
    let token = format!("mosaic_test_{}", uuid::Uuid::new_v4().simple());
    spawn(&url, &database, &token, test_data_dir(), adjust).await
}

/// Like [`spawn_app_on`], with a given data directory (a restarted server keeps its certificate).
pub async fn spawn_app_in(url: &str, database: &str, token: &str, data_dir: std::path::PathBuf) -> TestApp {
    spawn(url, database, token, data_dir, quick).await
}

/// The settings a test server runs with: its own database and data directory, loopback hosts
/// only, free ports.
pub fn test_settings(url: &str, token: &str, data_dir: std::path::PathBuf) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        phone_home_listen: "127.0.0.1:0".parse().expect("address"),
        metrics_listen: "127.0.0.1:0".parse().expect("address"),
        database_url: Some(SecretString::from(url.to_owned())),
        data_dir,
        admin_token: Some(SecretString::from(token.to_owned())),
        host_allowlist: Some(test_allowlist()),
        db_pool_size: 8,
        lxd_probe_timeout: Duration::from_secs(3),
        frontend_dir: frontend_dir(),
        ..Settings::default()
    }
}

/// Loopback and the test environment's daemons' unix sockets: the allow-list covers socket
/// paths too.
fn test_allowlist() -> Vec<Allowed> {
    let mut allowed = vec!["127.0.0.0/8".parse::<Allowed>().expect("network")];
    let sockets = env().hosts.iter().map(|h| h.socket.clone());
    let members = env().cluster.iter().flat_map(|c| c.sockets.iter().cloned());
    allowed.extend(sockets.chain(members).map(Allowed::Socket));
    allowed
}

async fn spawn(
    url: &str,
    database: &str,
    token: &str,
    data_dir: std::path::PathBuf,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    // `MOSAIC_TEST_LOG=1` shows the servers' logs (a 500's cause, a job's errors) in test output.
    if std::env::var_os("MOSAIC_TEST_LOG").is_some() {
        mosaic_api::telemetry::init(mosaic_api::config::LogFormat::Pretty);
    }
    let mut settings = test_settings(url, token, data_dir.clone());
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("Mosaic starts");
    let address = app.address();
    let metrics_address = app.metrics_address();
    let state = app.state().clone();
    let server = app.server_handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        token: token.to_owned(),
        state,
        http: http(),
        database: database.to_owned(),
        data_dir,
        server,
    }
}
