//! How fresh the overview's data is at scale (a benchmark: it prints figures; the targets live in
//! docs/BENCHMARKS.md).
//!
//! `cargo bench -p mosaic-tests --bench freshness` (needs `scripts/testenv.sh up`, as root):
//! N running busybox containers (default 500, `MOSAIC_BENCH_INSTANCES`) over the two test hosts,
//! deployed and started through the API, with the host cache at Mosaic's default interval (5 s,
//! `MOSAIC_BENCH_INTERVAL`). Then:
//! 1. **status age**: containers are stopped and started behind Mosaic's back (through the
//!    host's socket, as an operator with `lxc` would), and the time from LXD finishing the
//!    change to `GET /api/v1/deployments/{id}` showing it is taken (waiting on the host cache's
//!    change counter, not sleeping);
//! 2. **memory age**: `GET /api/v1/deployments/{id}` is read every 100 ms (`MOSAIC_BENCH_SAMPLE_MS`) for
//!    `MOSAIC_BENCH_SECONDS` (60) and the age of its oldest LXD figure per host (`data_age_ms`:
//!    status from the listing, memory and addresses from each container's own reading) is
//!    recorded, with the time one listing of a host takes (`recursion=1`, as the cache lists),
//!    how long until every running container has been read afresh, and the LXD listings and
//!    state readings per minute.
//!
//! Everything is removed at the end, also when a measurement fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lxd::{InstanceFilter, InstanceName};
use mosaic_testkit::bench::var;
use mosaic_testkit::{OP_TIMEOUT, TestApp, env, expect_json, remove_instance, spawn_app_with};
use serde_json::{Value, json};

/// Percentile of sorted figures.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The deployment's instances as the API shows them: (name, host index, status).
async fn instances(app: &TestApp, id: &str) -> Vec<(String, usize, String)> {
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    let mut out = Vec::new();
    for host in detail["hosts"].as_array().unwrap_or(&Vec::new()) {
        let index = usize::from(host["host_name"] != "lxd-a");
        for i in host["instances"].as_array().unwrap_or(&Vec::new()) {
            out.push((
                i["name"].as_str().unwrap_or_default().to_owned(),
                index,
                i["status"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

/// Waits (on the host cache's change counter) until the API shows `name` with `status`; the
/// time it took, or `None` after `bound`.
async fn shown_after(app: &TestApp, id: &str, name: &str, status: &str, bound: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let generation = app.state.cache.generation();
        if instances(app, id).await.iter().any(|(n, _, s)| n == name && s == status) {
            return Some(started.elapsed());
        }
        let left = bound.checked_sub(started.elapsed())?;
        tokio::time::timeout(left, app.state.cache.changed_since(generation)).await.ok()?;
    }
}

async fn status_age(app: &TestApp, id: &str, samples: usize) -> Result<Vec<f64>, String> {
    let running: Vec<(String, usize)> = instances(app, id)
        .await
        .into_iter()
        .filter(|(_, _, s)| s == "running")
        .map(|(n, h, _)| (n, h))
        .collect();
    if running.is_empty() {
        return Err("no running instance to change".into());
    }
    let step = (running.len() / samples.max(1)).max(1);
    let mut ages = Vec::new();
    for (name, host) in running.iter().step_by(step).take(samples) {
        let admin = env().hosts[*host].admin();
        let parsed = InstanceName::parse(name).map_err(|e| e.to_string())?;
        let stop = admin.stop_instance(&parsed, None).await.map_err(|e| e.to_string())?;
        stop.wait(OP_TIMEOUT).await.map_err(|e| e.to_string())?;
        let age = shown_after(app, id, name, "stopped", Duration::from_secs(60))
            .await
            .ok_or_else(|| format!("{name}: the stop never showed"))?;
        ages.push(age.as_secs_f64() * 1000.0);
        let start = admin.start_instance(&parsed).await.map_err(|e| e.to_string())?;
        start.wait(OP_TIMEOUT).await.map_err(|e| e.to_string())?;
        let age = shown_after(app, id, name, "running", Duration::from_secs(60))
            .await
            .ok_or_else(|| format!("{name}: the start never showed"))?;
        ages.push(age.as_secs_f64() * 1000.0);
    }
    Ok(ages)
}

async fn memory_age(app: &TestApp, id: &str, duration: Duration, every: Duration) -> Vec<f64> {
    let started = Instant::now();
    let mut ages = Vec::new();
    while started.elapsed() < duration {
        let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
        for host in detail["hosts"].as_array().unwrap_or(&Vec::new()) {
            if let Some(age) = host["data_age_ms"].as_f64() {
                ages.push(age);
            }
        }
        tokio::time::sleep(every).await;
    }
    ages.sort_by(f64::total_cmp);
    ages
}

/// One listing of Mosaic's containers on each host, as the host cache makes it.
async fn listing_times() -> Vec<f64> {
    let filter = InstanceFilter::config_eq("user.mosaic.managed", "true").expect("filter");
    let mut times = Vec::new();
    for host in &env().hosts {
        let client = host.client();
        let started = Instant::now();
        if client.instances_without_state(Some(&filter)).await.is_ok() {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times
}

/// Follows a job by reading it every 2 s, for as long as `deadline` allows (deploying hundreds of
/// containers on a small shared machine takes longer than the tests' bound); the job as it ended,
/// or as it was when time ran out.
async fn wait_job(app: &TestApp, job: &Value, deadline: Duration) -> Value {
    let started = Instant::now();
    let path = format!("/api/v1/jobs/{}", job["id"].as_str().unwrap_or_default());
    loop {
        let now: Value = expect_json(app.get(&path).await, 200).await;
        if now["finished_at"].is_string() || started.elapsed() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Removes what the deployment left in LXD, should the API's delete not have.
async fn sweep(id: &str) {
    let Ok(filter) = InstanceFilter::config_eq("user.mosaic.deployment", id) else { return };
    for host in &env().hosts {
        let admin = host.admin();
        for instance in admin.instances(Some(&filter)).await.unwrap_or_default() {
            if let Ok(name) = InstanceName::parse(&instance.name) {
                remove_instance(&admin, &name).await;
            }
        }
    }
}

/// Deploys and starts `n` containers, then measures; `Err` says why it could not.
async fn measure(
    app: Arc<TestApp>,
    id: String,
    cc: String,
    hosts: [String; 2],
    knobs: Knobs,
) -> Result<(), String> {
    let Knobs { n, interval, seconds, samples, deadline, every } = knobs;
    let deployed = Instant::now();
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": n, "hosts": hosts}]});
    let accepted: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    let job = wait_job(&app, &accepted, deadline).await;
    println!(
        "deploy + start of {n}: {} in {:.1} s ({} done, {} failed)",
        job["state"],
        deployed.elapsed().as_secs_f64(),
        job["done"],
        job["failed"]
    );
    if !job["finished_at"].is_string() {
        return Err(format!("the deploy did not finish within {deadline:?}"));
    }
    app.fresh_cache().await;
    let listings = listing_times().await;
    println!(
        "one listing per host (recursion=1): {}",
        listings.iter().map(|t| format!("{t:.3} s")).collect::<Vec<_>>().join(", ")
    );
    let since = Instant::now();
    app.state.cache.read_since(since).await;
    println!(
        "every running container read afresh (memory, addresses) within {:.1} s",
        since.elapsed().as_secs_f64()
    );
    let mut status = status_age(&app, &id, samples).await?;
    status.sort_by(f64::total_cmp);
    println!(
        "status age (a change behind Mosaic's back until the API shows it), {} samples: p50 {:.0} ms, max {:.0} ms (target <= 1000 ms)",
        status.len(),
        pct(&status, 0.5),
        pct(&status, 1.0)
    );
    let (calls, reads) = (app.state.cache.lxd_calls(), app.state.cache.state_reads());
    let started = Instant::now();
    let memory = memory_age(&app, &id, seconds, every).await;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let per_minute = (app.state.cache.lxd_calls() - calls) as f64 / minutes;
    let reads_per_minute = (app.state.cache.state_reads() - reads) as f64 / minutes;
    println!(
        "memory age (data_age_ms per host) over {} s, {} samples: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target <= {} ms); LXD listings/min {per_minute:.1}, state readings/min {reads_per_minute:.0}",
        seconds.as_secs(),
        memory.len(),
        pct(&memory, 0.5),
        pct(&memory, 0.99),
        pct(&memory, 1.0),
        interval.as_millis() * 2
    );
    Ok(())
}

/// The benchmark's sizes.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    n: usize,
    interval: Duration,
    seconds: Duration,
    samples: usize,
    deadline: Duration,
    every: Duration,
}

#[tokio::main]
async fn main() {
    let knobs = Knobs {
        n: var("MOSAIC_BENCH_INSTANCES", 500),
        interval: Duration::from_secs(var("MOSAIC_BENCH_INTERVAL", 5) as u64),
        seconds: Duration::from_secs(var("MOSAIC_BENCH_SECONDS", 60) as u64),
        samples: var("MOSAIC_BENCH_SAMPLES", 10),
        deadline: Duration::from_secs(60 * var("MOSAIC_BENCH_DEADLINE_MINUTES", 45) as u64),
        every: Duration::from_millis(var("MOSAIC_BENCH_SAMPLE_MS", 100) as u64),
    };
    let app = Arc::new(
        spawn_app_with(|s| {
            s.cache_interval = knobs.interval;
            s.max_instances_per_deploy = u32::try_from(knobs.n).unwrap_or(u32::MAX);
        })
        .await,
    );
    let hosts = app.register_hosts().await;
    let cc = app.cloud_config("Bench", "Fresh", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Freshness", &[&cc]).await;
    println!(
        "\n== freshness with {} running instances over 2 hosts, cache interval {:?} ==",
        knobs.n, knobs.interval
    );
    // Measured in a task of its own: whatever happens there (a panic included), everything is
    // removed afterwards.
    match tokio::spawn(measure(app.clone(), id.clone(), cc, hosts, knobs)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => println!("measurement failed: {e}"),
        Err(e) => println!("measurement panicked: {e}"),
    }
    let removed = Instant::now();
    // A deploy still running (it ran out of time) holds the deployment: wait for it to end.
    while removed.elapsed() < knobs.deadline {
        let answer = app.delete(&format!("/api/v1/deployments/{id}")).await;
        if answer.status() == 409 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        let accepted: Value = expect_json(answer, 202).await;
        let deleted = wait_job(&app, &accepted, knobs.deadline).await;
        println!("delete: {} in {:.1} s", deleted["state"], removed.elapsed().as_secs_f64());
        break;
    }
    sweep(&id).await;
    app.untrust().await;
}
