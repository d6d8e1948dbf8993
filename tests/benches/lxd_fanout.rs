//! Benchmark: K busybox containers created+started, then stopped+deleted, over the two test hosts,
//! (a) one call after another, as LXDMosaic does, and (b) through `HostLimiter` fan-out.
//!
//! `cargo bench -p mosaic-tests --bench lxd_fanout` (needs `scripts/testenv.sh up`).
//! `MOSAIC_BENCH_K` (default 24) and `MOSAIC_BENCH_PER_HOST` (default 8) tune it.

use std::time::{Duration, Instant};

use lxd::{Client, HostLimiter, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::bench::{settle, var};
use mosaic_testkit::{OP_TIMEOUT, env, remove_instance, unique_name};

type Item = (&'static str, (Client, InstanceName));

async fn up((client, name): &(Client, InstanceName)) -> lxd::Result<()> {
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await?.wait(OP_TIMEOUT).await?;
    client.start_instance(name).await?.wait(OP_TIMEOUT).await?;
    Ok(())
}

async fn down((client, name): &(Client, InstanceName)) -> lxd::Result<()> {
    client.stop_instance(name, Some(Duration::from_secs(30))).await?.wait(OP_TIMEOUT).await?;
    client.delete_instance(name).await?.wait(OP_TIMEOUT).await?;
    Ok(())
}

fn items(k: usize) -> Vec<Item> {
    let hosts = &env().hosts;
    (0..k)
        .map(|i| {
            let host = &hosts[i % hosts.len()];
            (host.label, (host.client(), unique_name("bench")))
        })
        .collect()
}

fn check(what: &str, results: Vec<lxd::Result<()>>) {
    let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(failed.is_empty(), "{what}: {} failed, first: {}", failed.len(), failed[0]);
}

async fn sequential(k: usize) -> (Duration, Duration) {
    let items = items(k);
    settle();
    let start = Instant::now();
    let mut results = Vec::new();
    for (_, item) in &items {
        results.push(up(item).await);
    }
    check("sequential up", results);
    let up_time = start.elapsed();
    let start = Instant::now();
    let mut results = Vec::new();
    for (_, item) in &items {
        results.push(down(item).await);
    }
    check("sequential down", results);
    (up_time, start.elapsed())
}

async fn fanned_out(k: usize, per_host: usize) -> (Duration, Duration) {
    let items = items(k);
    let limiter = HostLimiter::new(per_host);
    settle();
    let start = Instant::now();
    check("fan-out up", limiter.run(items.iter().map(|(h, i)| (*h, i)), up).await);
    let up_time = start.elapsed();
    let start = Instant::now();
    check("fan-out down", limiter.run(items.iter().map(|(h, i)| (*h, i)), down).await);
    (up_time, start.elapsed())
}

#[tokio::main]
async fn main() {
    let k = var("MOSAIC_BENCH_K", 24);
    let per_host = var("MOSAIC_BENCH_PER_HOST", 8);
    println!(
        "lxd_fanout: K={k} busybox containers over {} hosts, fan-out bound {per_host} per host",
        env().hosts.len()
    );

    // Warm-up: the first create on a host unpacks the image into the storage pool.
    let warm = items(env().hosts.len());
    for (_, (client, name)) in &warm {
        let _ = up(&(client.clone(), name.clone())).await;
        remove_instance(client, name).await;
    }

    let (seq_up, seq_down) = sequential(k).await;
    let (fan_up, fan_down) = fanned_out(k, per_host).await;
    let secs = |d: Duration| d.as_secs_f64();
    println!("{:<28} {:>10} {:>10} {:>10}", "", "up (s)", "down (s)", "total (s)");
    println!(
        "{:<28} {:>10.2} {:>10.2} {:>10.2}",
        "(a) one after another",
        secs(seq_up),
        secs(seq_down),
        secs(seq_up + seq_down)
    );
    println!(
        "{:<28} {:>10.2} {:>10.2} {:>10.2}",
        "(b) fan-out",
        secs(fan_up),
        secs(fan_down),
        secs(fan_up + fan_down)
    );
    println!(
        "{:<28} {:>10.2} {:>10.2} {:>10.2}",
        "speed-up (a)/(b)",
        secs(seq_up) / secs(fan_up),
        secs(seq_down) / secs(fan_down),
        secs(seq_up + seq_down) / secs(fan_up + fan_down)
    );
}
