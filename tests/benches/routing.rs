//! Benchmarks of routing through Mosaic's HAProxy (not tests: they print figures).
//!
//! `cargo bench -p mosaic-tests --bench routing` (needs `scripts/testenv.sh up` and the `mosaic`
//! test setup: real LXD, real cloud-init, real HAProxy). One deployment of N instances (default 3,
//! `MOSAIC_BENCH_ROUTING_INSTANCES`) over the two hosts serving a page with Python's http.server,
//! one exposed port. It prints:
//! 1. for each instance, the time from becoming ready to its first request through the frontend
//!    (target ≤ 1 s), measured from Mosaic recording readiness and from cloud-init's own finish;
//! 2. requests/s and latency percentiles through HAProxy against the same client straight to one
//!    instance's proxy-device port, and to all N proxy ports in turn (equal capacity), alternating,
//!    for `MOSAIC_BENCH_ROUTING_SECS` seconds each (default 10) with
//!    `MOSAIC_BENCH_ROUTING_CLIENTS` connections (default 8);
//! 3. the time from a stop request to the instance leaving rotation, and to it being drained and
//!    removed from HAProxy.
//!
//! Loopback only; every loop is bounded in time.

#![expect(clippy::unwrap_used, reason = "a benchmark: a panic is how it reports that it cannot measure")]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use haproxy::{Name, RuntimeApi, ServerStatus};
use lxd::{ExecRequest, InstanceName};
use mosaic_testkit::bench::var;
use mosaic_testkit::{OP_TIMEOUT, TestApp, env, expect_json, spawn_app};
use serde_json::{Value, json};

const SITE: &str = "#cloud-config
write_files:
  - path: /srv/www/health
    content: \"ok\\n\"
runcmd:
  - [sh, -c, \"hostname > /srv/www/index.html\"]
  - [systemd-run, --unit=web, python3, -m, http.server, --directory, /srv/www, \"8080\"]
";

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Percentile of sorted durations, in milliseconds.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

struct Run {
    requests: usize,
    failed: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, what: &str) {
        println!(
            "  {what:<34} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>7.2} ms  ({} requests, {} failed)",
            self.rate(),
            pct(&self.latencies, 0.5),
            pct(&self.latencies, 0.99),
            self.requests,
            self.failed
        );
    }
}

/// `clients` connections, each sending GETs one after the other to its target (targets are
/// shared out over the clients in turn) for `secs`.
async fn load(targets: &[String], clients: usize, secs: Duration) -> Run {
    let start = Instant::now();
    let deadline = start + secs;
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let url = format!("http://{}/", targets[i % targets.len()]);
            tokio::spawn(async move {
                let client =
                    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
                let (mut latencies, mut failed) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let ok = match client.get(&url).send().await {
                        Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        failed += 1;
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut run = Run { requests: 0, failed: 0, latencies: Vec::new(), elapsed: Duration::ZERO };
    for task in tasks {
        let (latencies, failed) = task.await.unwrap();
        run.requests += latencies.len() + failed;
        run.failed += failed;
        run.latencies.extend(latencies);
    }
    run.elapsed = start.elapsed();
    run.latencies.sort();
    run
}

async fn ports(app: &TestApp, id: &str) -> Value {
    let ports: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}/ports")).await, 200).await;
    ports[0].clone()
}

#[tokio::main]
async fn main() {
    let n = var("MOSAIC_BENCH_ROUTING_INSTANCES", 3);
    let secs = Duration::from_secs(var("MOSAIC_BENCH_ROUTING_SECS", 10) as u64);
    let clients = var("MOSAIC_BENCH_ROUTING_CLIENTS", 8);
    let app = spawn_app().await;
    let hosts = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Site", &env().image_cloudinit, SITE).await;
    let name = format!("Rb{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let id = app.deployment(&name, &[&cc]).await;
    let port: Value = expect_json(
        app.post(
            &format!("/api/v1/deployments/{id}/ports"),
            &json!({"cloud_config_id": cc, "target_port": 8080,
            "health_check": {"type": "http", "path": "/health"}}),
        )
        .await,
        201,
    )
    .await;
    let frontend = port["frontend_address"].as_str().unwrap().to_owned();
    let backend = Name::new(format!("port-{}", port["id"].as_str().unwrap().replace('-', ""))).unwrap();
    let runtime = RuntimeApi::new(app.data_dir.join("haproxy/admin.sock"));
    println!("routing benchmark: {n} instances over 2 hosts, frontend {frontend}");

    // 1. Ready → first request: poll readiness and the frontend every 10 ms while the deploy runs.
    let watching = Arc::new(AtomicBool::new(true));
    let ready_at: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let first_at: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let readiness = {
        let (app_url, token, id, watching, ready_at) =
            (app.url(""), app.token.clone(), id.clone(), watching.clone(), ready_at.clone());
        tokio::spawn(async move {
            let http = mosaic_testkit::http();
            let deadline = Instant::now() + Duration::from_secs(900);
            while watching.load(Ordering::SeqCst) && Instant::now() < deadline {
                let detail: Option<Value> = async {
                    http.get(format!("{app_url}/api/v1/deployments/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()
                }
                .await;
                let seen = now_secs();
                for i in detail
                    .iter()
                    .flat_map(|d| d["hosts"].as_array().cloned().unwrap_or_default())
                    .flat_map(|h| h["instances"].as_array().cloned().unwrap_or_default())
                {
                    if i["readiness"] == "ready" {
                        ready_at
                            .lock()
                            .unwrap()
                            .entry(i["name"].as_str().unwrap().to_owned())
                            .or_insert(seen);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let requests = {
        let (frontend, watching, first_at) = (frontend.clone(), watching.clone(), first_at.clone());
        tokio::spawn(async move {
            let client =
                reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().unwrap();
            let deadline = Instant::now() + Duration::from_secs(900);
            while watching.load(Ordering::SeqCst) && Instant::now() < deadline {
                if let Ok(r) = client.get(format!("http://{frontend}/")).send().await
                    && r.status() == 200
                    && let Ok(body) = r.text().await
                {
                    first_at.lock().unwrap().entry(body.trim().to_owned()).or_insert_with(now_secs);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": n, "hosts": hosts}]});
    let started = Instant::now();
    let done = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    println!("  deploy + start + readiness of {n}: {:.1} s", started.elapsed().as_secs_f64());
    let wait = Instant::now();
    while first_at.lock().unwrap().len() < n && wait.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watching.store(false, Ordering::SeqCst);
    readiness.await.unwrap();
    requests.await.unwrap();
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    let instances: Vec<(usize, String, String)> = detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| {
            let host = if h["host_name"] == "lxd-a" { 0 } else { 1 };
            h["instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |i| {
                    (host, i["name"].as_str().unwrap().to_owned(), i["id"].as_str().unwrap().to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    println!("  ready → first request through the frontend (target ≤ 1 s):");
    let mut worst: f64 = 0.0;
    for (host, name, _) in &instances {
        let result = env().hosts[*host]
            .admin()
            .exec(
                &InstanceName::parse(name).unwrap(),
                &ExecRequest::new(["stat", "-c", "%.9Y", "/var/lib/cloud/data/result.json"]),
                OP_TIMEOUT,
            )
            .await
            .unwrap();
        let cloud_init: f64 = result.stdout.trim().parse().unwrap_or(f64::NAN);
        let (ready, first) =
            (ready_at.lock().unwrap().get(name).copied(), first_at.lock().unwrap().get(name).copied());
        match (ready, first) {
            (Some(ready), Some(first)) => {
                worst = worst.max(first - ready);
                println!(
                    "    {name}: {:>6.0} ms after Mosaic recorded it ready, {:>6.0} ms after cloud-init finished",
                    (first - ready) * 1000.0,
                    (first - cloud_init) * 1000.0
                );
            }
            other => println!("    {name}: not measured ({other:?})"),
        }
    }
    println!("    worst: {:.0} ms ({})", worst * 1000.0, if worst <= 1.0 { "met" } else { "missed" });

    // 2. Throughput and latency: HAProxy against straight to the proxy-device ports.
    let port = ports(&app, &id).await;
    let direct: Vec<String> = port["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["address"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(direct.len(), n, "{port:#}");
    println!("  {clients} connections, {} s each, alternating:", secs.as_secs());
    let mut figures: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
    for _ in 0..2 {
        for (what, targets) in [
            ("straight to one proxy port", vec![direct[0].clone()]),
            ("through HAProxy", vec![frontend.clone()]),
            ("straight to all proxy ports", direct.clone()),
        ] {
            let run = load(&targets, clients, secs).await;
            run.print(what);
            figures.entry(what).or_default().push(run);
        }
    }
    let best = |what: &str| figures[what].iter().map(Run::rate).fold(0.0, f64::max);
    let p99 =
        |what: &str| figures[what].iter().map(|r| pct(&r.latencies, 0.99)).fold(f64::INFINITY, f64::min);
    println!(
        "    best req/s: HAProxy {:.0} / one proxy port {:.0} = {:.2}×; / all {n} proxy ports {:.0} = {:.2}×",
        best("through HAProxy"),
        best("straight to one proxy port"),
        best("through HAProxy") / best("straight to one proxy port"),
        best("straight to all proxy ports"),
        best("through HAProxy") / best("straight to all proxy ports"),
    );
    println!(
        "    best p99: HAProxy {:.2} ms, one proxy port {:.2} ms, all proxy ports {:.2} ms",
        p99("through HAProxy"),
        p99("straight to one proxy port"),
        p99("straight to all proxy ports")
    );

    // 3. Stop → out of rotation, and → drained and removed.
    let (_, victim, victim_id) = instances[0].clone();
    let server = Name::new(victim.clone()).unwrap();
    let asked = Instant::now();
    let job: Value =
        expect_json(app.post(&format!("/api/v1/instances/{victim_id}/stop"), &json!({})).await, 202).await;
    let (mut left, mut gone) = (None, None);
    while gone.is_none() && asked.elapsed() < Duration::from_secs(60) {
        match runtime.server_stat(&backend, &server).await.unwrap() {
            Some(row) if row.status == ServerStatus::Up => {}
            Some(_) => {
                left.get_or_insert(asked.elapsed());
            }
            None => {
                left.get_or_insert(asked.elapsed());
                gone = Some(asked.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (stopped, _) = app.follow_job(&job).await;
    assert_eq!(stopped["state"], "succeeded", "{stopped:#}");
    println!(
        "  stop request → out of rotation {:.0} ms, → drained and removed {:.0} ms, → stopped {:.0} ms",
        left.unwrap_or_default().as_secs_f64() * 1000.0,
        gone.unwrap_or_default().as_secs_f64() * 1000.0,
        asked.elapsed().as_secs_f64() * 1000.0
    );

    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}
