//! A deployment is a service: Mosaic's own HAProxy in front of its ready instances, against the
//! real HAProxy, real LXD and real cloud-init. Traffic is loopback only; request loops are bounded
//! in count and time.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use haproxy::{Name, RuntimeApi, ServerStatus};
use lxd::{ExecRequest, InstanceFilter, InstanceName};
use mosaic_testkit::{
    FrontendLoad, OP_TIMEOUT, create_database, env, eventually, expect_error, expect_json, spawn_app_in,
    spawn_app_with, stop_haproxy, test_data_dir,
};
use reqwest::{Method, Response};
use serde_json::{Value, json};

/// Serves a page naming the instance on 8080 with `/health`, started during cloud-init: it
/// answers health checks seconds before cloud-init is done, so a request before readiness would be
/// seen.
const SITE: &str = "#cloud-config
write_files:
  - path: /srv/www/health
    content: \"ok\\n\"
runcmd:
  - [sh, -c, \"hostname > /srv/www/index.html\"]
  - [systemd-run, --unit=web, python3, -m, http.server, --directory, /srv/www, \"8080\"]
  - [sh, -c, \"sleep 4\"]
";

/// Its cloud-config applies, but its service is broken: `/health` is missing (404).
const BROKEN: &str = "#cloud-config
runcmd:
  - [sh, -c, \"mkdir -p /srv/www && hostname > /srv/www/index.html\"]
  - [systemd-run, --unit=web, python3, -m, http.server, --directory, /srv/www, \"8080\"]
";

/// A Mosaic server reached over HTTP: the real `mosaic` binary, or one in this process.
#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: String, token: &str) -> Self {
        Api { base, token: token.to_owned(), http: mosaic_testkit::http() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    async fn get(&self, path: &str) -> Value {
        expect_json(self.call(Method::GET, path, None).await, 200).await
    }

    async fn post(&self, path: &str, body: &Value) -> Response {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Posts, expects 202, and waits for the job to finish.
    async fn job(&self, path: &str, body: &Value) -> Value {
        let job: Value = expect_json(self.post(path, body).await, 202).await;
        let id = job["id"].as_str().unwrap().to_owned();
        eventually(mosaic_testkit::JOB_DEADLINE, "the job to finish", || async {
            // A passing failure (the shared database dropping a connection) is asked again.
            let response = self.call(Method::GET, &format!("/api/v1/jobs/{id}"), None).await;
            let job: Value = response.json().await.ok()?;
            matches!(job["state"].as_str(), Some("succeeded" | "failed")).then_some(job)
        })
        .await
    }

    async fn ports(&self, deployment: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/deployments/{deployment}/ports")).await.as_array().unwrap().clone()
    }
}

/// Cleans up when the test ends, also when it fails: the deployment's containers on both hosts,
/// and the HAProxy of the data directory.
struct Cleanup {
    data_dir: std::path::PathBuf,
    deployment: Arc<Mutex<Option<String>>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let deployment = self.deployment.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(id) = deployment {
            // Its own thread and runtime: this may run while the test's runtime unwinds. Never
            // panic here (a panic during a panic aborts, and leaves everything behind).
            let cleaned = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    let filter = InstanceFilter::config_eq("user.mosaic.deployment", &id).unwrap();
                    for host in &env().hosts {
                        let admin = host.admin();
                        for attempt in 1..=5 {
                            match admin.instances(Some(&filter)).await {
                                Ok(left) if left.is_empty() => break,
                                Ok(left) => {
                                    for instance in left {
                                        let name = InstanceName::parse(&instance.name).unwrap();
                                        if let Ok(op) = admin.stop_instance(&name, None).await {
                                            let _ = op.wait(OP_TIMEOUT).await;
                                        }
                                        if let Ok(op) = admin.delete_instance(&name).await {
                                            let _ = op.wait(OP_TIMEOUT).await;
                                        }
                                    }
                                }
                                Err(e) => {
                                    eprintln!("cleanup: cannot list host {} (try {attempt}): {e}", host.label)
                                }
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                });
            })
            .join();
            if cleaned.is_err() {
                eprintln!(
                    "cleanup of the deployment's containers failed; `scripts/testenv.sh up` sweeps them"
                );
            }
        }
        stop_haproxy(&self.data_dir);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The `mosaic` binary next to this test binary (built by `cargo build -p mosaic-api --bin mosaic`).
fn mosaic_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join("mosaic");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p mosaic-api --bin mosaic` first",
        path.display()
    );
    path
}

/// One GET with a fresh connection: the status and the body, or what went wrong.
async fn get_once(addr: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
    let response = client.get(format!("http://{addr}/")).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.map_err(|e| e.to_string())?.trim().to_owned()))
}

/// Readiness of the deployment's instances, by name, straight from the database.
async fn readiness(url: &str, deployment: &str) -> BTreeMap<String, String> {
    use mosaic_db::schema::instances::dsl;
    let (url, deployment) = (url.to_owned(), deployment.parse::<uuid::Uuid>().unwrap());
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        dsl::instances
            .filter(dsl::deployment_id.eq(deployment))
            .select((dsl::name, dsl::readiness))
            .load::<(String, String)>(&mut conn)
            .unwrap()
            .into_iter()
            .collect()
    })
    .await
    .unwrap()
}

fn backend_states(port: &Value) -> BTreeMap<String, String> {
    port["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["instance_name"].as_str().unwrap().to_owned(), b["state"].as_str().unwrap().to_owned()))
        .collect()
}

/// The log of the `web` unit inside an instance (http.server logs every request it answers).
async fn journal(host: usize, name: &str) -> String {
    let name = InstanceName::parse(name).unwrap();
    let request = ExecRequest::new(["journalctl", "-u", "web", "--no-pager", "-o", "cat"]);
    let output = env().hosts[host].admin().exec(&name, &request, OP_TIMEOUT).await.unwrap();
    output.stdout + &output.stderr
}

#[tokio::test]
async fn a_deployment_is_a_service_behind_its_own_haproxy() {
    let (url, database) = create_database().await;
    let token = "mosaic_routing_0123456789abcdef0123456789";
    let data_dir = test_data_dir();
    let deployment_slot = Arc::new(Mutex::new(None));
    let _cleanup = Cleanup { data_dir: data_dir.clone(), deployment: deployment_slot.clone() };
    let admin_socket = data_dir.join("haproxy/admin.sock");

    // The real `mosaic` binary first: it is killed later while requests flow.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(std::env::temp_dir().join(format!("{database}.log"))).unwrap();
    let mut first = tokio::process::Command::new(mosaic_binary())
        .env("MOSAIC_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOSAIC_PHONE_HOME_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_METRICS_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_DATABASE_URL", &url)
        .env("MOSAIC_DATA_DIR", &data_dir)
        .env("MOSAIC_ADMIN_TOKEN", token)
        .env("MOSAIC_JOB_STALE_AFTER_SECS", "4")
        .env("MOSAIC_CACHE_INTERVAL_SECS", "1")
        .env("MOSAIC_STOP_TIMEOUT_SECS", "20")
        .env("MOSAIC_LOG_FORMAT", "json")
        .stdout(log)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let api = Api::new(format!("http://127.0.0.1:{port}"), token);
    eventually(Duration::from_secs(30), "the server to start", || async {
        api.http
            .get(format!("{}/api/health", api.base))
            .send()
            .await
            .ok()
            .filter(|r| r.status() == 200)
            .map(drop)
    })
    .await;

    // Hosts, a site and a broken service in one deployment.
    let mut hosts = Vec::new();
    for host in &env().hosts {
        let body = json!({"name": format!("lxd-{}", host.label), "url": host.url.as_str(),
            "fingerprint": host.fingerprint.to_hex(), "trust_password": env().trust_password});
        let created: Value = expect_json(api.post("/api/v1/hosts", &body).await, 201).await;
        hosts.push(created["id"].as_str().unwrap().to_owned());
    }
    let image = &env().image_cloudinit;
    let cc = |name: &str, user_data: &str| json!({"namespace": "Web", "name": name, "image": image, "user_data": user_data});
    let site: Value = expect_json(api.post("/api/v1/cloud-configs", &cc("Site", SITE)).await, 201).await;
    let broken: Value =
        expect_json(api.post("/api/v1/cloud-configs", &cc("Broken", BROKEN)).await, 201).await;
    let other: Value = expect_json(api.post("/api/v1/cloud-configs", &cc("Other", BROKEN)).await, 201).await;
    let (site, broken) = (site["id"].as_str().unwrap().to_owned(), broken["id"].as_str().unwrap().to_owned());
    let name = format!("Rt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let members = json!([{"cloud_config_id": site}, {"cloud_config_id": broken}]);
    let created: Value = expect_json(
        api.post("/api/v1/deployments", &json!({"name": name, "cloud_configs": members})).await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    *deployment_slot.lock().unwrap() = Some(id.clone());
    let ports_path = format!("/api/v1/deployments/{id}/ports");

    // Bad input is refused, clearly, and nothing is written.
    let expose = |body: Value| {
        let (api, path) = (api.clone(), ports_path.clone());
        async move { api.post(&path, &body).await }
    };
    let http_check = json!({"type": "http", "path": "/health", "expect_status": 200});
    let message = expect_error(
        expose(json!({"cloud_config_id": site, "target_port": 70000, "health_check": http_check})).await,
        400,
        "validation_failed",
    )
    .await;
    assert!(message.contains("target_port 70000 is out of range"), "{message}");
    let message = expect_error(
        expose(json!({"cloud_config_id": site, "target_port": 8080, "health_check": {"type": "http", "path": "health"}}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(message.contains("must start with '/'"), "{message}");
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held_port = held.local_addr().unwrap().port();
    let message = expect_error(
        expose(json!({"cloud_config_id": site, "target_port": 8080, "frontend_port": held_port})).await,
        409,
        "frontend_port_taken",
    )
    .await;
    assert!(message.contains(&format!("cannot listen on 127.0.0.1:{held_port}")), "{message}");
    drop(held);
    let message = expect_error(
        expose(json!({"cloud_config_id": site, "target_port": 5432, "protocol": "tcp"})).await,
        400,
        "validation_failed",
    )
    .await;
    assert!(message.contains("bare connect"), "{message}");
    let message = expect_error(
        expose(json!({"cloud_config_id": other["id"], "target_port": 8080})).await,
        400,
        "validation_failed",
    )
    .await;
    assert!(message.contains("is not part of deployment"), "{message}");
    assert!(api.ports(&id).await.is_empty(), "a refused exposure wrote nothing");

    // Expose the site and the broken service; a frontend port is never shared.
    let site_port: Value = expect_json(
        expose(json!({"cloud_config_id": site, "target_port": 8080, "health_check": http_check})).await,
        201,
    )
    .await;
    let frontend = site_port["frontend_address"].as_str().unwrap().to_owned();
    assert!(frontend.starts_with("127.0.0.1:3"), "{site_port:#}");
    assert_eq!(site_port["frontend"], "down", "no instance is started yet: {site_port:#}");
    let message = expect_error(
        expose(json!({"cloud_config_id": broken, "target_port": 8080, "frontend_port": site_port["frontend_port"]}))
            .await,
        409,
        "frontend_port_taken",
    )
    .await;
    assert!(message.contains("another exposed port uses it"), "{message}");
    expect_error(
        expose(json!({"cloud_config_id": site, "target_port": 8080})).await,
        409,
        "port_already_exposed",
    )
    .await;
    let broken_port: Value = expect_json(
        expose(json!({"cloud_config_id": broken, "target_port": 8080, "health_check": http_check})).await,
        201,
    )
    .await;
    let broken_frontend = broken_port["frontend_address"].as_str().unwrap().to_owned();
    assert_eq!(api.ports(&id).await.len(), 2);
    let site_backend =
        Name::new(format!("port-{}", site_port["id"].as_str().unwrap().replace('-', ""))).unwrap();

    // Deploy 3 over both hosts and 1 broken, started; meanwhile, watch the frontend: no request
    // may reach an instance before its cloud-config has applied.
    let watching = Arc::new(AtomicBool::new(true));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let served_before_done = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (watching, violations, served, frontend, url, id) = (
            watching.clone(),
            violations.clone(),
            served_before_done.clone(),
            frontend.clone(),
            url.clone(),
            id.clone(),
        );
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(900);
            while watching.load(Ordering::SeqCst) && Instant::now() < deadline {
                if let Ok((200, body)) = get_once(&frontend).await {
                    served.fetch_add(1, Ordering::SeqCst);
                    // Readiness only ever becomes `ready`: not ready after the answer means it was
                    // not ready when the request was served.
                    let now = readiness(&url, &id).await;
                    if now.get(&body).map(String::as_str) != Some("ready") {
                        violations
                            .lock()
                            .unwrap()
                            .push(format!("{body} answered while {:?}", now.get(&body)));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let deploy = json!({"start": true, "cloud_configs": [
        {"cloud_config_id": site, "count": 3, "hosts": hosts},
        {"cloud_config_id": broken, "count": 1, "hosts": [hosts[0]]},
    ]});
    let done = api.job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let names: HashSet<String> =
        readiness(&url, &id).await.into_keys().filter(|n| n.contains("-web-site-")).collect();
    assert_eq!(names.len(), 3);
    let last_seen = Mutex::new(Value::Null);
    let all_up = eventually(Duration::from_secs(180), "the three site instances in rotation", || async {
        let ports = api.ports(&id).await;
        let site = ports.iter().find(|p| p["cloud_config_id"] == site.as_str())?.clone();
        let states = backend_states(&site);
        let mut last = last_seen.lock().unwrap();
        if site["backends"] != last["backends"] {
            eprintln!("site backends: {}", site["backends"]);
        }
        *last = site.clone();
        drop(last);
        (states.len() == 3 && states.values().all(|s| s == "up")).then_some(site)
    })
    .await;
    drop(last_seen);
    assert_eq!(all_up["frontend"], "listening", "{all_up:#}");
    assert_eq!(all_up["counts"]["serving"], 3, "{all_up:#}");
    watching.store(false, Ordering::SeqCst);
    watcher.await.unwrap();
    assert!(
        violations.lock().unwrap().is_empty(),
        "requests served before readiness: {:?}",
        violations.lock().unwrap()
    );

    // Requests reach all three (each body names its instance).
    let mut reached = HashSet::new();
    for _ in 0..30 {
        let (status, body) = get_once(&frontend).await.unwrap();
        if status != 200 {
            panic!("status {status} ({body}); the load balancer says: {:#}", json!(api.ports(&id).await));
        }
        reached.insert(body);
    }
    assert_eq!(reached, names, "round robin over the three site instances");

    // The broken service: ready by cloud-init, never UP, never sent a request.
    let detail = api.get(&format!("/api/v1/deployments/{id}")).await;
    let broken_name = readiness(&url, &id).await.into_keys().find(|n| n.contains("-web-broken-")).unwrap();
    assert_eq!(readiness(&url, &id).await[&broken_name], "ready");
    let broken_view =
        detail["ports"].as_array().unwrap().iter().find(|p| p["cloud_config_id"] == broken.as_str()).unwrap();
    assert_eq!(backend_states(broken_view)[&broken_name], "down", "{broken_view:#}");
    assert!(broken_view["backends"][0]["last_check"].as_str().unwrap().contains("404"), "{broken_view:#}");
    for _ in 0..5 {
        assert_eq!(get_once(&broken_frontend).await.unwrap().0, 503);
    }
    let log = journal(0, &broken_name).await;
    assert!(log.contains("GET /health"), "the health check reaches the broken service: {log}");
    assert!(!log.contains("\"GET / "), "the broken service got a request: {log}");
    // The deployment's badge says what serves and what fails; the card has the addresses.
    assert_eq!(
        detail["service"]["counts"],
        json!({"serving": 3, "pending": 0, "failing": 1, "cannot_judge": 0})
    );
    assert_eq!(detail["service"]["state"], "partial");
    let overview: Vec<Value> = api.get("/api/v1/deployments").await["items"].as_array().unwrap().clone();
    let card = overview.iter().find(|d| d["id"] == id.as_str()).unwrap();
    let addresses: Vec<&str> =
        card["service"]["addresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(
        addresses.contains(&frontend.as_str()) && addresses.contains(&broken_frontend.as_str()),
        "{card:#}"
    );
    assert_eq!(card["service"]["counts"]["serving"], 3);

    // An out-of-band `del server` through the admin socket is healed by the reconciler.
    let runtime = RuntimeApi::new(&admin_socket);
    let victim = Name::new(names.iter().min().unwrap().clone()).unwrap();
    runtime.set_state(&site_backend, &victim, haproxy::AdminState::Maint).await.unwrap();
    eventually(Duration::from_secs(10), "the out-of-band deletion", || async {
        runtime.del_server(&site_backend, &victim).await.ok()
    })
    .await;
    let healed = Instant::now();
    eventually(Duration::from_secs(20), "the reconciler to put the server back", || async {
        let row = runtime.server_stat(&site_backend, &victim).await.unwrap()?;
        (row.status == ServerStatus::Up).then_some(())
    })
    .await;
    eprintln!("out-of-band deletion healed in {:?}", healed.elapsed());
    // One put in maintenance by hand has its checks paused by HAProxy (as a reload carrying a
    // server in maintenance would): it is added anew and is back once its checks pass.
    runtime.set_state(&site_backend, &victim, haproxy::AdminState::Maint).await.unwrap();
    eventually(Duration::from_secs(30), "the reconciler to put the paused server back", || async {
        let row = runtime.server_stat(&site_backend, &victim).await.unwrap()?;
        (row.status == ServerStatus::Up).then_some(())
    })
    .await;

    // Requests flow while the Mosaic process is killed: HAProxy is its own process.
    let master_before = api.get("/api/v1/routing").await["master_pid"].as_u64().unwrap();
    let load = FrontendLoad::start(&frontend, 4, 200_000, Duration::from_secs(600), Duration::from_millis(5));
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.kill().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The next Mosaic re-attaches to the same HAProxy (and reloads it, seamlessly).
    let next = spawn_app_in(&url, &database, token, data_dir.clone()).await;
    let api = Api::new(format!("http://{}", next.address), token);
    let status = eventually(Duration::from_secs(20), "the new server to attach", || async {
        let status = api.get("/api/v1/routing").await;
        (status["available"] == true && status["frontends"] == 2).then_some(status)
    })
    .await;
    assert_eq!(status["master_pid"].as_u64(), Some(master_before), "the same HAProxy: {status:#}");
    assert!(load.failures_before(Instant::now()).is_empty(), "{:?}", load.failures_before(Instant::now()));

    // A change after that reaches HAProxy: stop one instance, remove another; no request fails.
    let mut sorted: Vec<String> = names.iter().cloned().collect();
    sorted.sort();
    let instance_id = |name: &str| {
        let detail = detail.clone();
        detail["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| h["instances"].as_array().unwrap().clone())
            .find(|i| i["name"] == name)
            .unwrap()["id"]
            .clone()
    };
    // Replace one instance (the per-instance recreate): drained first, so no request fails; the
    // new container enters rotation once its cloud-config applied and its checks pass.
    let replaced = api
        .job(&format!("/api/v1/instances/{}/recreate", instance_id(&sorted[2]).as_str().unwrap()), &json!({}))
        .await;
    assert_eq!(replaced["state"], "succeeded", "{replaced:#}");
    let replaced_server = Name::new(sorted[2].clone()).unwrap();
    eventually(Duration::from_secs(180), "the replaced instance back in rotation", || async {
        let row = runtime.server_stat(&site_backend, &replaced_server).await.unwrap()?;
        (row.status == ServerStatus::Up).then_some(())
    })
    .await;
    assert!(load.failures_before(Instant::now()).is_empty(), "{:?}", load.failures_before(Instant::now()));

    let one = instance_id(&sorted[0]);
    let stopped = api.job(&format!("/api/v1/instances/{}/stop", one.as_str().unwrap()), &json!({})).await;
    assert_eq!(stopped["state"], "succeeded", "{stopped:#}");
    assert!(
        runtime.server_stat(&site_backend, &Name::new(sorted[0].clone()).unwrap()).await.unwrap().is_none()
    );
    let removed = api
        .job(&format!("/api/v1/deployments/{id}/remove"), &json!({"instance_ids": [instance_id(&sorted[1])]}))
        .await;
    assert_eq!(removed["state"], "succeeded", "{removed:#}");
    assert!(load.failures_before(Instant::now()).is_empty(), "{:?}", load.failures_before(Instant::now()));

    // Stop the deployment: every request is answered until the last instance leaves rotation.
    let last_up = Arc::new(Mutex::new(Instant::now()));
    let monitoring = Arc::new(AtomicBool::new(true));
    let monitor = {
        let (last_up, monitoring, runtime, backend) =
            (last_up.clone(), monitoring.clone(), runtime.clone(), site_backend.clone());
        tokio::spawn(async move {
            while monitoring.load(Ordering::SeqCst) {
                let polled = Instant::now();
                if let Ok(rows) = runtime.show_stat().await
                    && rows.iter().any(|r| {
                        r.kind == haproxy::RowKind::Server
                            && r.proxy == backend.as_str()
                            && r.status == ServerStatus::Up
                    })
                {
                    *last_up.lock().unwrap() = polled;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let stopped = api.job(&format!("/api/v1/deployments/{id}/stop"), &json!({})).await;
    assert_eq!(stopped["state"], "succeeded", "{stopped:#}");
    monitoring.store(false, Ordering::SeqCst);
    monitor.await.unwrap();
    let left_at = *last_up.lock().unwrap();
    let total = load.count();
    let failed = load.failures_before(left_at);
    let outcomes = load.finish().await;
    assert!(total > 500, "the loop ran: {total} requests");
    assert!(
        failed.is_empty(),
        "{} of {total} requests failed before the last instance left: {failed:?}",
        failed.len()
    );
    eprintln!(
        "{total} requests, none failed before the last instance left; {} after",
        outcomes.iter().filter(|(at, o)| *at >= left_at && o.is_some()).count()
    );
    // The frontend went last: nothing listens there any more.
    eventually(Duration::from_secs(10), "the frontend to be taken down", || async {
        tokio::net::TcpStream::connect(frontend.parse::<SocketAddr>().unwrap()).await.is_err().then_some(())
    })
    .await;
    // The view is published right after the pass that reloaded HAProxy: it follows within a pass.
    eventually(Duration::from_secs(10), "the view to say the frontend is down", || async {
        let view = api.ports(&id).await.into_iter().find(|p| p["cloud_config_id"] == site.as_str()).unwrap();
        (view["frontend"] == "down").then_some(view)
    })
    .await;

    // Delete; the exposed ports go with the deployment.
    let job: Value =
        expect_json(api.call(Method::DELETE, &format!("/api/v1/deployments/{id}"), None).await, 202).await;
    assert_eq!(next.follow_job(&job).await.0["state"], "succeeded");
    next.untrust().await;
}

#[tokio::test]
async fn without_haproxy_mosaic_runs_and_says_routing_is_unavailable() {
    let app = spawn_app_with(|s| {
        mosaic_testkit::quick(s);
        s.haproxy_bin = "/nonexistent/haproxy".into();
    })
    .await;
    let status = eventually(Duration::from_secs(10), "the reconciler's first pass", || async {
        let status: Value = expect_json(app.get("/api/v1/routing").await, 200).await;
        status["detail"].as_str().is_some_and(|d| d.contains("not installed")).then_some(status)
    })
    .await;
    assert_eq!(status["available"], false, "{status:#}");
    assert!(status["detail"].as_str().unwrap().contains("/nonexistent/haproxy"), "{status:#}");

    // Exposing still works (another Mosaic over this database may route); the port says why it
    // does not listen here, and so does the deployment.
    let cc = app.cloud_config("Web", "Site", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("NoLb", &[&cc]).await;
    let port: Value = expect_json(
        app.post(
            &format!("/api/v1/deployments/{id}/ports"),
            &json!({"cloud_config_id": cc, "target_port": 80}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(port["frontend"], "unavailable", "{port:#}");
    assert!(port["frontend_error"].as_str().unwrap().contains("not installed"), "{port:#}");
    assert_eq!(port["health_check"], json!({"type": "http", "path": "/", "expect_status": 200}));
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["service"]["routing_available"], false);
    assert_eq!(detail["ports"].as_array().unwrap().len(), 1);
    // Unexpose: gone.
    let port_id = port["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/deployments/{id}/ports/{port_id}")).await.status(), 204);
    expect_error(
        app.delete(&format!("/api/v1/deployments/{id}/ports/{port_id}")).await,
        404,
        "port_not_found",
    )
    .await;
    assert!(!app.data_dir.join("haproxy/haproxy.pid").exists(), "no HAProxy was started");
}
