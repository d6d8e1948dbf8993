//! Benchmarks of the deployment lifecycle through the API (not tests: they print figures).
//!
//! `cargo bench -p mosaic-tests --bench lifecycle` (needs `scripts/testenv.sh up`):
//! 1. deploy + start K busybox containers (default 24) over the two hosts through the API, against
//!    the same LXD calls issued directly at the best concurrency (the floor) and one after another
//!    (LXDMosaic's way);
//! 2. the deployments overview with N instances (default 200) under concurrent readers: latency
//!    percentiles, the age of the data, and LXD listings and state readings per minute at two
//!    request rates (`MOSAIC_BENCH_INSTANCES`, `MOSAIC_BENCH_INTERVAL`).
//!
//! Each timed deploy run starts from a settled machine ([`mosaic_testkit::bench::settle`]), so
//! runs do not pay for the containers of the runs before them.

use std::time::{Duration, Instant};

use lxd::{HostLimiter, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::bench::{busy_cpu, cgroups, settle, var};
use mosaic_testkit::{OP_TIMEOUT, TestApp, env, quick, remove_instance, spawn_app_with, unique_name};
use serde_json::{Value, json};

async fn up(client: &lxd::Client, name: &InstanceName) -> lxd::Result<()> {
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await?.wait(OP_TIMEOUT).await?;
    client.start_instance(name).await?.wait(OP_TIMEOUT).await?;
    Ok(())
}

/// K containers alternating over the two hosts, with one client per host shared by all of them
/// (as Mosaic does: measured, that is faster than a client per container, so the floor is lower).
fn items(k: usize) -> Vec<(&'static str, (lxd::Client, InstanceName))> {
    let clients = [env().hosts[0].client(), env().hosts[1].client()];
    (0..k).map(|i| (env().hosts[i % 2].label, (clients[i % 2].clone(), unique_name("bench")))).collect()
}

async fn clean(items: &[(&'static str, (lxd::Client, InstanceName))]) {
    let limiter = HostLimiter::new(8);
    limiter.run(items.iter().map(|(h, x)| (*h, x)), |(c, n)| remove_instance(c, n)).await;
}

async fn direct(k: usize, per_host: usize) -> Duration {
    let items = items(k);
    let limiter = HostLimiter::new(per_host);
    let memcgs = settle();
    let start = Instant::now();
    let cpu = busy_cpu();
    let results = limiter.run(items.iter().map(|(h, x)| (*h, x)), |(c, n)| up(c, n)).await;
    let elapsed = start.elapsed();
    println!(
        "  direct, {per_host:>2} per host: {:.2} s, machine busy {:.2} CPU-s, memory cgroups at start {}",
        elapsed.as_secs_f64(),
        busy_cpu() - cpu,
        cgroups(memcgs)
    );
    assert!(results.iter().all(Result::is_ok), "direct up failed: {results:?}");
    clean(&items).await;
    elapsed
}

async fn sequential(k: usize) -> Duration {
    let items = items(k);
    settle();
    let start = Instant::now();
    for (_, (c, n)) in &items {
        up(c, n).await.expect("sequential up");
    }
    let elapsed = start.elapsed();
    clean(&items).await;
    elapsed
}

async fn through_api(app: &TestApp, hosts: &[String; 2], cc: &str, k: usize, round: usize) -> Duration {
    let id = app.deployment(&format!("Bench{round}"), &[cc]).await;
    // One job that creates and starts each instance (`start: true`), as the direct calls do.
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": k, "hosts": hosts}]});
    let memcgs = settle();
    let start = Instant::now();
    let cpu = busy_cpu();
    let deployed = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    let elapsed = start.elapsed();
    let cpu = busy_cpu() - cpu;
    assert_eq!(deployed["state"], "succeeded");
    let at = |key: &str| deployed[key].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
    if let (Some(created), Some(started), Some(finished)) =
        (at("created_at"), at("started_at"), at("finished_at"))
    {
        println!(
            "  API, round {round}: {:.2} s, machine busy {cpu:.2} CPU-s, memory cgroups at start {}; queued {:.3} s, run by the server {:.2} s",
            elapsed.as_secs_f64(),
            cgroups(memcgs),
            (started - created).as_seconds_f64(),
            (finished - started).as_seconds_f64()
        );
    }
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    elapsed
}

async fn deploy_bench(app: &TestApp, hosts: &[String; 2], cc: &str) {
    let k = var("MOSAIC_BENCH_K", 24);
    println!("\n== deploy + start {k} busybox containers over 2 hosts ==");
    // Warm both hosts (the first container of an image unpacks it).
    let warm = items(2);
    for (_, (c, n)) in &warm {
        let _ = up(c, n).await;
    }
    clean(&warm).await;

    // Profiling aid: MOSAIC_BENCH_ONLY=direct|api repeats one side only (e.g. under `perf record`).
    if let Ok(side) = std::env::var("MOSAIC_BENCH_ONLY") {
        for round in 0..var("MOSAIC_BENCH_ROUNDS", 3) {
            if side == "api" {
                through_api(app, hosts, cc, k, round).await;
            } else {
                direct(k, 12).await;
            }
        }
        return;
    }
    // Each figure is the best of three runs, every run starts from a settled machine (see
    // `settle`), and the runs alternate (direct at each bound, then the API) so that whatever
    // drift is left hits both alike: the two cores are shared with both LXD daemons and PostgreSQL.
    let seq = sequential(k).await;
    let bounds = [4, 8, 12];
    let mut direct_best = [Duration::MAX; 3];
    let mut api = Duration::MAX;
    for round in 0..var("MOSAIC_BENCH_ROUNDS", 3) {
        for (best, per_host) in direct_best.iter_mut().zip(bounds) {
            *best = (*best).min(direct(k, per_host).await);
        }
        api = api.min(through_api(app, hosts, cc, k, round).await);
    }
    let mut floor = (Duration::MAX, 0);
    for (best, per_host) in direct_best.into_iter().zip(bounds) {
        println!("direct LXD calls, {per_host:>2} per host: {:>7.2} s", best.as_secs_f64());
        if best < floor.0 {
            floor = (best, per_host);
        }
    }
    let s = |d: Duration| d.as_secs_f64();
    let per_host = app.state.settings.per_host_concurrency;
    println!("{:<52} {:>7.2} s", format!("floor (direct, best: {} per host)", floor.1), s(floor.0));
    println!(
        "{:<52} {:>7.2} s   {:.2} x floor (target <= 1.15)",
        format!("Mosaic API (one deploy job with start, {per_host} per host)"),
        s(api),
        s(api) / s(floor.0)
    );
    println!(
        "{:<52} {:>7.2} s   {:.2} x floor",
        "one after another (LXDMosaic)",
        s(seq),
        s(seq) / s(floor.0)
    );
}

async fn overview_bench(app: &TestApp, hosts: &[String; 2], cc: &str) {
    let n = var("MOSAIC_BENCH_INSTANCES", 200);
    println!("\n== overview with {n} running instances over 2 hosts ==");
    let id = app.deployment("Overview", &[cc]).await;
    // In two deploys: one request may create at most 100 instances by default.
    let per_host_each = n / 4;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": cc, "count": per_host_each, "hosts": hosts, "placement": "per_host"}]});
    for _ in 0..2 {
        assert_eq!(
            app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"],
            "succeeded"
        );
    }
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await["state"],
        "succeeded"
    );

    let duration = Duration::from_secs(var("MOSAIC_BENCH_SECONDS", 20) as u64);
    println!(
        "{:>8} {:>10} {:>9} {:>9} {:>13} {:>14} {:>15}",
        "readers", "requests", "p50 ms", "p99 ms", "max age ms", "listings/min", "readings/min"
    );
    for readers in [1, 16] {
        let calls_before = app.state.cache.lxd_calls();
        let reads_before = app.state.cache.state_reads();
        let started = Instant::now();
        let tasks = (0..readers).map(|_| async {
            let mut latencies = Vec::new();
            let mut max_age = 0;
            while started.elapsed() < duration {
                let t = Instant::now();
                let list: Vec<Value> = app.list("/api/v1/deployments").await;
                latencies.push(t.elapsed());
                assert_eq!(list[0]["instances"]["total"], n);
                max_age = max_age.max(list[0]["data_age_ms"].as_u64().unwrap_or(0));
            }
            (latencies, max_age)
        });
        let results = futures::future::join_all(tasks).await;
        let elapsed = started.elapsed();
        let mut all: Vec<Duration> = results.iter().flat_map(|(l, _)| l.clone()).collect();
        all.sort();
        let pct = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
        let max_age = results.iter().map(|(_, a)| *a).max().unwrap_or(0);
        let calls = app.state.cache.lxd_calls() - calls_before;
        let reads = app.state.cache.state_reads() - reads_before;
        let per_minute = |n: u64| n as f64 / elapsed.as_secs_f64() * 60.0;
        println!(
            "{readers:>8} {:>10} {:>9.1} {:>9.1} {max_age:>13} {:>14.1} {:>15.0}",
            all.len(),
            pct(0.50),
            pct(0.99),
            per_minute(calls),
            per_minute(reads)
        );
    }
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}

#[tokio::main]
async fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let user_data = "#cloud-config\nruncmd: []\n";
    if only.as_deref().is_none_or(|o| o == "deploy") {
        // Mosaic as it runs by default (the host cache polls every 5 s, not every second as in
        // tests): the floor has no poller competing with it for LXD either.
        let app = spawn_app_with(|_| {}).await;
        let hosts = app.register_hosts().await;
        let cc = app.cloud_config("Bench", "Busybox", &env().image_busybox, user_data).await;
        deploy_bench(&app, &hosts, &cc).await;
        app.untrust().await;
    }
    if only.as_deref().is_none_or(|o| o == "overview") {
        // The host cache at `MOSAIC_BENCH_INTERVAL` seconds (default 1, as in tests: the most
        // LXD work behind the readers; Mosaic's default is 5).
        let n = var("MOSAIC_BENCH_INSTANCES", 200);
        let interval = Duration::from_secs(var("MOSAIC_BENCH_INTERVAL", 1) as u64);
        let app = spawn_app_with(|s| {
            quick(s);
            s.cache_interval = interval;
            s.max_instances_per_deploy = u32::try_from(n).unwrap_or(u32::MAX);
        })
        .await;
        let hosts = app.register_hosts().await;
        let cc = app.cloud_config("Bench", "Busybox", &env().image_busybox, user_data).await;
        overview_bench(&app, &hosts, &cc).await;
        app.untrust().await;
    }
}
