//! The load run (issue 15): the real `mosaic` binary on loopback, 32 clients for 60 s mixing reads
//! and writes, 20 open event streams, then a check that every write answered 2xx is in the
//! database. Prints requests/s and p50/p99 per route, errors, resident memory idle and under load,
//! and a list endpoint against `pgbench` running the same SELECT. Bounded in time.
//!
//! `cargo bench --profile dev -p mosaic-tests --bench load` (needs `scripts/testenv.sh up` and
//! `cargo build -p mosaic-api --bin mosaic`). Knobs: `MOSAIC_BENCH_CLIENTS` (32),
//! `MOSAIC_BENCH_SECS` (60), `MOSAIC_BENCH_STREAMS` (20), `MOSAIC_BENCH_PROCESSES` (1: with 2, two
//! servers share the database and the clients; jobs must split between them, none run twice),
//! `MOSAIC_BENCH_INSTANCES` (8 busybox containers the streams' jobs stop and start).

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use mosaic_testkit::bench::var;
use mosaic_testkit::{create_database, env, eventually};
use serde_json::{Value, json};

/// One server process.
struct Server {
    child: tokio::process::Child,
    base: String,
}

impl Server {
    /// Starts the `mosaic` binary next to this benchmark on `url`, as it runs by default.
    async fn start(url: &str, token: &str) -> Server {
        let exe = std::env::current_exe().expect("the bench's path");
        let binary = exe.parent().and_then(|deps| deps.parent()).expect("target dir").join("mosaic");
        assert!(binary.exists(), "{} is missing: cargo build -p mosaic-api --bin mosaic", binary.display());
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let data_dir = std::env::temp_dir().join(format!("mosaic-load-{}", uuid::Uuid::new_v4().simple()));
        let child = tokio::process::Command::new(binary)
            .env("MOSAIC_LISTEN", format!("127.0.0.1:{port}"))
            .env("MOSAIC_PHONE_HOME_LISTEN", "127.0.0.1:0")
            .env("MOSAIC_METRICS_LISTEN", "127.0.0.1:0")
            .env("MOSAIC_DATABASE_URL", url)
            .env("MOSAIC_DATA_DIR", &data_dir)
            .env("MOSAIC_ADMIN_TOKEN", token)
            .env("MOSAIC_HOST_ALLOWLIST", "127.0.0.0/8")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosaic starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = mosaic_testkit::http();
        eventually(Duration::from_secs(60), "the server to start", || async {
            let health = http.get(format!("{base}/api/health")).send().await.ok()?;
            (health.status() == 200).then_some(())
        })
        .await;
        Server { child, base }
    }

    /// Resident memory, MiB (`VmRSS`).
    fn rss_mib(&self) -> f64 {
        let Some(pid) = self.child.id() else { return 0.0 };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

/// A client of one server with the admin token.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, Value::String(format!("transport error: {e:?}"))),
        }
    }

    /// A GET whose body is read but not parsed, so the client's JSON parsing does not take the
    /// server's share of the two cores (pgbench does not parse rows into objects either); the
    /// status, and the body's length.
    async fn get_raw(&self, path: &str) -> (u16, usize) {
        let request = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token);
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.bytes().await.map(|b| b.len()).unwrap_or(0))
            }
            Err(_) => (0, 0),
        }
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let (status, value) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    async fn wait_job(&self, job: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let state = self.ok(reqwest::Method::GET, &format!("/api/v1/jobs/{job}"), None).await["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if state != "queued" && state != "running" || Instant::now() > deadline {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What the clients saw, per route.
#[derive(Default)]
struct Seen {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<&'static str, Vec<String>>,
}

/// The writes that were answered 2xx, to look for afterwards.
#[derive(Default)]
struct Journal {
    /// Cloud-config → edits answered 200.
    edits: HashMap<String, u32>,
    /// Deployment → its name after the last rename answered 200 (`None`: deleted, 202).
    deployments: HashMap<String, Option<String>>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let clients = var("MOSAIC_BENCH_CLIENTS", 32);
    let secs = var("MOSAIC_BENCH_SECS", 60) as u64;
    let streams = var("MOSAIC_BENCH_STREAMS", 20);
    let processes = var("MOSAIC_BENCH_PROCESSES", 1).max(1);
    let instances = var("MOSAIC_BENCH_INSTANCES", 8);
    let (url, database) = create_database().await;
    let token = format!("mosaic_load_{}", uuid::Uuid::new_v4().simple());
    println!(
        "load run: {clients} clients for {secs} s, {streams} streams, {processes} process(es), database {database}"
    );

    let mut servers = Vec::new();
    for _ in 0..processes {
        servers.push(Server::start(&url, &token).await);
    }
    let apis: Vec<Api> = servers
        .iter()
        .map(|s| Api { http: mosaic_testkit::http(), base: s.base.clone(), token: token.clone() })
        .collect();
    let api = apis[0].clone();
    // Idle: started, the first host-cache poll done, nothing asked yet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle: Vec<f64> = servers.iter().map(Server::rss_mib).collect();

    // What the load works on: both hosts, a deployment with running instances (its stop and start
    // jobs are what the streams follow), cloud-configs to edit, deployments to read.
    let mut hosts = Vec::new();
    for host in &env().hosts {
        let body = json!({"name": format!("lxd-{}", host.label), "url": host.url.as_str(),
            "fingerprint": host.fingerprint.to_hex(), "trust_password": env().trust_password});
        hosts.push(api.ok(reqwest::Method::POST, "/api/v1/hosts", Some(&body)).await["id"].clone());
    }
    let mut ccs = Vec::new();
    for n in 0..20 {
        let body = json!({"namespace": "Load", "name": format!("cc{n}"), "image": env().image_busybox,
            "user_data": "#cloud-config\nruncmd: []\n"});
        ccs.push(
            api.ok(reqwest::Method::POST, "/api/v1/cloud-configs", Some(&body)).await["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let body = json!({"name": "Load", "cloud_configs": [{"cloud_config_id": ccs[0]}]});
    let load = api.ok(reqwest::Method::POST, "/api/v1/deployments", Some(&body)).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let deploy = json!({"start": true, "cloud_configs": [{"cloud_config_id": ccs[0], "count": instances, "hosts": hosts}]});
    let job =
        api.ok(reqwest::Method::POST, &format!("/api/v1/deployments/{load}/deploy"), Some(&deploy)).await;
    let deployed = api.wait_job(job["id"].as_str().unwrap_or_default()).await;
    assert_eq!(deployed, "succeeded", "the setup deploy");
    for n in 0..20 {
        api.ok(reqwest::Method::POST, "/api/v1/deployments", Some(&json!({"name": format!("Read{n}")})))
            .await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let current_job = Arc::new(Mutex::new(job["id"].as_str().unwrap_or_default().to_owned()));
    // Stop and start the load deployment in turn for the whole run: jobs for the streams.
    let toggler = {
        let (api, stop, current_job, load) = (api.clone(), stop.clone(), current_job.clone(), load.clone());
        tokio::spawn(async move {
            let mut jobs = 0;
            for action in ["stop", "start"].iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (status, job) = api
                    .call(reqwest::Method::POST, &format!("/api/v1/deployments/{load}/{action}"), None)
                    .await;
                if status == 202 {
                    let id = job["id"].as_str().unwrap_or_default().to_owned();
                    *current_job.lock().unwrap_or_else(|e| e.into_inner()) = id.clone();
                    api.wait_job(&id).await;
                    jobs += 1;
                }
            }
            jobs
        })
    };
    // The event streams: each follows the current job to its end, then the next one.
    let stream_events = Arc::new(AtomicU64::new(0));
    let stream_errors = Arc::new(AtomicU64::new(0));
    let watchers: Vec<_> = (0..streams)
        .map(|n| {
            let api = apis[n % apis.len()].clone();
            let (stop, current_job, events, errors) =
                (stop.clone(), current_job.clone(), stream_events.clone(), stream_errors.clone());
            tokio::spawn(async move {
                use futures::StreamExt;
                while !stop.load(Ordering::Relaxed) {
                    let job = current_job.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let response = api
                        .http
                        .get(format!("{}/api/v1/jobs/{job}/events", api.base))
                        .bearer_auth(&api.token)
                        .send()
                        .await;
                    let Ok(response) = response.and_then(|r| r.error_for_status()) else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    let mut body = response.bytes_stream();
                    while let Some(chunk) = body.next().await {
                        match chunk {
                            Ok(bytes) => {
                                let text = String::from_utf8_lossy(&bytes);
                                events.fetch_add(text.matches("event:").count() as u64, Ordering::Relaxed);
                            }
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    // A finished job's stream ends at once: wait for the next job.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .collect();

    // Memory while loaded, sampled every half second.
    let peak = Arc::new(Mutex::new(vec![0.0f64; servers.len()]));
    let pids: Vec<Option<u32>> = servers.iter().map(|s| s.child.id()).collect();

    let seen = Arc::new(Mutex::new(Seen::default()));
    let journal = Arc::new(Mutex::new(Journal::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let workers: Vec<_> = (0..clients)
        .map(|n| {
            let api = apis[n % apis.len()].clone();
            let (seen, journal, current_job, ccs, load) =
                (seen.clone(), journal.clone(), current_job.clone(), ccs.clone(), load.clone());
            tokio::spawn(async move {
                let mut mine: Vec<String> = Vec::new();
                let mut i = n;
                while Instant::now() < deadline {
                    use reqwest::Method as M;
                    let cc = &ccs[(i / 10 + n) % ccs.len()];
                    let job = current_job.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    // Seven reads for every three writes.
                    let (route, method, path, body): (&'static str, M, String, Option<Value>) = match i % 10 {
                        0 => ("GET /deployments", M::GET, "/api/v1/deployments".into(), None),
                        1 => ("GET /deployments/{id}", M::GET, format!("/api/v1/deployments/{load}"), None),
                        2 => (
                            "GET /instances",
                            M::GET,
                            format!("/api/v1/instances?deployment_id={load}"),
                            None,
                        ),
                        3 => (
                            "GET /cloud-configs/{id}/revisions",
                            M::GET,
                            format!("/api/v1/cloud-configs/{cc}/revisions"),
                            None,
                        ),
                        4 => ("GET /jobs/{id}", M::GET, format!("/api/v1/jobs/{job}"), None),
                        5 => ("GET /cloud-configs", M::GET, "/api/v1/cloud-configs".into(), None),
                        6 => ("GET /deployments", M::GET, "/api/v1/deployments".into(), None),
                        7 => {
                            let user_data = format!("#cloud-config\nruncmd:\n  - [echo, \"{n}-{i}\"]\n");
                            (
                                "PATCH /cloud-configs/{id}",
                                M::PATCH,
                                format!("/api/v1/cloud-configs/{cc}"),
                                Some(json!({"user_data": user_data})),
                            )
                        }
                        8 => (
                            "POST /deployments",
                            M::POST,
                            "/api/v1/deployments".into(),
                            Some(json!({"name": format!("W{n}x{i}")})),
                        ),
                        _ => match (i / 10) % 2 {
                            0 if !mine.is_empty() => {
                                let d = &mine[i % mine.len()];
                                (
                                    "PATCH /deployments/{id}",
                                    M::PATCH,
                                    format!("/api/v1/deployments/{d}"),
                                    Some(json!({"name": format!("R{n}x{i}")})),
                                )
                            }
                            _ if !mine.is_empty() => {
                                let d = mine.swap_remove(i % mine.len());
                                (
                                    "DELETE /deployments/{id}",
                                    M::DELETE,
                                    format!("/api/v1/deployments/{d}"),
                                    None,
                                )
                            }
                            _ => ("GET /deployments", M::GET, "/api/v1/deployments".into(), None),
                        },
                    };
                    let t = Instant::now();
                    let (status, answer) = api.call(method, &path, body.as_ref()).await;
                    let took = t.elapsed();
                    {
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        if (200..300).contains(&status) {
                            seen.latencies.entry(route).or_default().push(took);
                        } else {
                            seen.errors.entry(route).or_default().push(format!("{status} {answer}"));
                        }
                    }
                    if (200..300).contains(&status) {
                        let mut journal = journal.lock().unwrap_or_else(|e| e.into_inner());
                        match route {
                            "PATCH /cloud-configs/{id}" => *journal.edits.entry(cc.clone()).or_default() += 1,
                            "POST /deployments" => {
                                let id = answer["id"].as_str().unwrap_or_default().to_owned();
                                journal.deployments.insert(
                                    id.clone(),
                                    Some(answer["name"].as_str().unwrap_or_default().to_owned()),
                                );
                                mine.push(id);
                            }
                            "PATCH /deployments/{id}" => {
                                let id = answer["id"].as_str().unwrap_or_default().to_owned();
                                journal
                                    .deployments
                                    .insert(id, Some(answer["name"].as_str().unwrap_or_default().to_owned()));
                            }
                            "DELETE /deployments/{id}" => {
                                let id = path.rsplit('/').next().unwrap_or_default().to_owned();
                                journal.deployments.insert(id, None);
                            }
                            _ => {}
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut peak = peak.lock().unwrap_or_else(|e| e.into_inner());
        for (n, pid) in pids.iter().enumerate() {
            let rss = pid.map_or(0.0, |pid| {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                    .unwrap_or(0.0)
                    / 1024.0
            });
            peak[n] = peak[n].max(rss);
        }
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let end: Vec<f64> = servers.iter().map(Server::rss_mib).collect();
    stop.store(true, Ordering::Relaxed);
    let jobs_run = toggler.await.unwrap_or(0);
    for w in watchers {
        w.abort();
    }

    // Figures per route.
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    let (mut total, mut errors) = (0usize, 0usize);
    println!(
        "\n{:<36} {:>8} {:>8} {:>9} {:>9} {:>7}",
        "route", "count", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let routes: std::collections::BTreeSet<&str> =
        seen.latencies.keys().chain(seen.errors.keys()).copied().collect();
    for route in routes {
        let mut l = seen.latencies.get(route).cloned().unwrap_or_default();
        l.sort();
        let e = seen.errors.get(route).map_or(0, Vec::len);
        total += l.len() + e;
        errors += e;
        println!(
            "{route:<36} {:>8} {:>8.1} {:>9.1} {:>9.1} {e:>7}",
            l.len() + e,
            (l.len() + e) as f64 / elapsed,
            percentile(&l, 0.5),
            percentile(&l, 0.99)
        );
    }
    for (route, errs) in &seen.errors {
        for e in errs.iter().take(3) {
            println!("  error on {route}: {}", e.chars().take(200).collect::<String>());
        }
    }
    println!("all: {total} requests in {elapsed:.1} s ({:.0}/s), {errors} errors", total as f64 / elapsed);
    println!(
        "event streams: {streams} open, {} events, {} stream errors; {jobs_run} stop/start jobs",
        stream_events.load(Ordering::Relaxed),
        stream_errors.load(Ordering::Relaxed)
    );
    let peak = peak.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for n in 0..servers.len() {
        println!(
            "memory, process {n}: idle {:.1} MiB, end of load {:.1} MiB, peak {:.1} MiB",
            idle[n], end[n], peak[n]
        );
    }

    // Every write answered 2xx is in the database (deletions once their jobs are done).
    let mut conn = PgConnection::establish(&url).expect("the database");
    let pending = || {
        let mut conn = PgConnection::establish(&url).expect("the database");
        diesel::sql_query("SELECT 1 FROM jobs WHERE state IN ('queued', 'running')")
            .execute(&mut conn)
            .unwrap_or(1)
    };
    let settled = Instant::now();
    while pending() > 0 && settled.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let journal = std::mem::take(&mut *journal.lock().unwrap_or_else(|e| e.into_inner()));
    let mut lost = 0;
    for (cc, edits) in &journal.edits {
        use mosaic_db::schema::cloud_config_revisions::dsl as r;
        let id: uuid::Uuid = cc.parse().unwrap_or_default();
        let revisions: i64 = r::cloud_config_revisions
            .filter(r::cloud_config_id.eq(id))
            .count()
            .get_result(&mut conn)
            .unwrap_or(0);
        if revisions != i64::from(*edits) + 1 {
            lost += 1;
            println!("  cloud-config {cc}: {edits} edits answered 200, {revisions} revisions stored");
        }
    }
    for (id, name) in &journal.deployments {
        use mosaic_db::schema::deployments::dsl as d;
        let uuid: uuid::Uuid = id.parse().unwrap_or_default();
        let stored: Option<String> =
            d::deployments.find(uuid).select(d::name).first(&mut conn).optional().unwrap_or(None);
        if stored != *name {
            lost += 1;
            println!("  deployment {id}: expected {name:?}, stored {stored:?}");
        }
    }
    println!(
        "writes checked: {} cloud-config edits on {} cloud-configs, {} deployments created/renamed/deleted; lost: {lost}",
        journal.edits.values().sum::<u32>(),
        journal.edits.len(),
        journal.deployments.len()
    );
    // Jobs: who ran them, and none twice.
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        worker: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        jobs: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        retried: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT split_part(coalesce(claimed_by, '?'), '/', 1) AS worker, count(*) AS jobs, \
         count(*) FILTER (WHERE attempts > 1) AS retried FROM jobs GROUP BY 1 ORDER BY 1",
    )
    .load(&mut conn)
    .unwrap_or_default();
    for row in rows {
        println!("jobs run by {}: {} ({} claimed more than once)", row.worker, row.jobs, row.retried);
    }

    // A list endpoint under 32 clients for 10 s against pgbench running its SELECT as many.
    let list_secs = 10;
    let count = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(list_secs);
    let listers: Vec<_> = (0..32)
        .map(|n| {
            let (api, count) = (apis[n % apis.len()].clone(), count.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    if api.get_raw("/api/v1/deployments").await.0 == 200 {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for l in listers {
        let _ = l.await;
    }
    let endpoint = count.load(Ordering::Relaxed) as f64 / list_secs as f64;
    let page_bytes = api.get_raw("/api/v1/deployments").await.1;
    let rows: i64 = mosaic_db::schema::deployments::table.count().get_result(&mut conn).unwrap_or(0);
    let script = std::env::temp_dir().join(format!("mosaic-load-{}.sql", uuid::Uuid::new_v4().simple()));
    // The page the endpoint reads by default: the first `DEFAULT_LIMIT` by name, and one more to
    // know whether a next page exists.
    let _ = std::fs::write(
        &script,
        format!(
            "SELECT id, name, status, created_at, updated_at, healing FROM deployments ORDER BY name, id LIMIT {};\n",
            mosaic_types::page::DEFAULT_LIMIT + 1
        ),
    );
    let pgbench = std::process::Command::new("/usr/lib/postgresql/15/bin/pgbench")
        .args(["-n", "-c", "32", "-j", "2", "-T", &list_secs.to_string(), "-f"])
        .arg(&script)
        .arg(&url)
        .output();
    let _ = std::fs::remove_file(&script);
    let tps = pgbench
        .ok()
        .and_then(|o| {
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            out.lines()
                .find(|l| l.starts_with("tps = "))
                .and_then(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    println!(
        "GET /deployments ({rows} rows, default page of {page_bytes} bytes): {endpoint:.0} req/s; pgbench, same SELECT, 32 clients: {tps:.0} tps; ratio {:.2}",
        if tps > 0.0 { endpoint / tps } else { 0.0 }
    );

    // Cleanup: the load deployment's containers, through the API.
    if let (202, job) = api.call(reqwest::Method::DELETE, &format!("/api/v1/deployments/{load}"), None).await
    {
        println!("cleanup: {}", api.wait_job(job["id"].as_str().unwrap_or_default()).await);
    }
    drop(servers);
}
