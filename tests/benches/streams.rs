//! A running job under load: 200 open event streams on it and concurrent readers of the API,
//! while its heartbeat and claim are watched (issue 11, "Bounded under load"). Prints figures.
//!
//! `cargo bench -p mosaic-tests --bench streams` (needs `scripts/testenv.sh up`). Knobs:
//! `MOSAIC_BENCH_STREAMS` (200), `MOSAIC_BENCH_READERS` (16), `MOSAIC_BENCH_K` (24 containers).
//!
//! What must hold: the job's heartbeat is never late (every gap well under `job_stale_after`, so
//! no other server could have taken the job), the claim is never taken over (one attempt), every
//! stream sees the job finish, and the readers get no error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures::StreamExt;
use mosaic_testkit::bench::var;
use mosaic_testkit::{TestApp, env, expect_json, quick, spawn_app_with};
use serde_json::{Value, json};

/// Opens one event stream and reads it to its end; returns the events seen and whether the last
/// one was `finished`.
async fn stream(app: &TestApp, token: &str, job: &str) -> (usize, bool) {
    let response =
        app.http.get(app.url(&format!("/api/v1/jobs/{job}/events"))).bearer_auth(token).send().await;
    let Ok(response) = response else { return (0, false) };
    if response.status() != 200 {
        eprintln!("  a stream was refused: {}", response.status());
        return (0, false);
    }
    let mut body = response.bytes_stream();
    let (mut text, mut events, mut finished) = (String::new(), 0, false);
    while let Some(Ok(chunk)) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if event.starts_with(':') {
                continue;
            }
            events += 1;
            finished = event.starts_with("event: finished");
        }
    }
    (events, finished)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let (streams, readers, k) =
        (var("MOSAIC_BENCH_STREAMS", 200), var("MOSAIC_BENCH_READERS", 16), var("MOSAIC_BENCH_K", 24));
    let app = Arc::new(
        spawn_app_with(|s| {
            quick(s);
            s.per_host_concurrency = 2;
        })
        .await,
    );
    let stale_after = app.state.settings.job_stale_after;
    let [a, b] = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Load", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Load", &[&cc]).await;
    // Users to open the streams (each may have 64 open at once).
    let mut tokens = Vec::new();
    for n in 0..streams.div_ceil(50) {
        let created: Value = expect_json(
            app.post("/api/v1/users", &json!({"name": format!("watcher{n}"), "role": "viewer"})).await,
            201,
        )
        .await;
        tokens.push(created["token"]["secret"].as_str().unwrap_or_default().to_owned());
    }

    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": k, "hosts": [a, b]}]});
    let job: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    let job_id = job["id"].as_str().unwrap_or_default().to_owned();
    let started = Instant::now();

    // The streams.
    let watchers: Vec<_> = (0..streams)
        .map(|n| {
            let (app, token, job) = (app.clone(), tokens[n / 50].clone(), job_id.clone());
            tokio::spawn(async move { stream(&app, &token, &job).await })
        })
        .collect();
    // The readers, until the job ends (bounded in time).
    let done = Arc::new(tokio::sync::Notify::new());
    let (requests, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader_tasks: Vec<_> = (0..readers)
        .map(|n| {
            let (app, id, job) = (app.clone(), id.clone(), job_id.clone());
            let (done, requests, errors, latencies) =
                (done.clone(), requests.clone(), errors.clone(), latencies.clone());
            tokio::spawn(async move {
                let paths = [
                    "/api/v1/deployments".to_owned(),
                    format!("/api/v1/deployments/{id}"),
                    format!("/api/v1/jobs/{job}"),
                ];
                let deadline = Instant::now() + Duration::from_secs(300);
                let mut i = n;
                loop {
                    let stop = done.notified();
                    tokio::pin!(stop);
                    let t = Instant::now();
                    tokio::select! {
                        () = &mut stop => break,
                        response = app.request(reqwest::Method::GET, &paths[i % paths.len()]).send() => {
                            requests.fetch_add(1, Ordering::Relaxed);
                            let answered = match response {
                                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                                _ => false,
                            };
                            if answered {
                                latencies.lock().unwrap_or_else(|e| e.into_inner()).push(t.elapsed());
                            } else {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    i += 1;
                    if Instant::now() > deadline {
                        break;
                    }
                }
            })
        })
        .collect();

    // The heartbeat, watched behind the API.
    let uuid: uuid::Uuid = job_id.parse().unwrap_or_default();
    let mut conn = app.state.pool.get().expect("a connection");
    let (mut last_beat, mut max_gap, mut attempts) =
        (None::<chrono::DateTime<chrono::Utc>>, Duration::ZERO, 0);
    loop {
        use mosaic_db::schema::jobs::dsl as j;
        let (beat, tries, state): (Option<chrono::DateTime<chrono::Utc>>, i32, String) = j::jobs
            .find(uuid)
            .select((j::heartbeat_at, j::attempts, j::state))
            .first(&mut conn)
            .expect("the job");
        attempts = attempts.max(tries);
        if let (Some(prev), Some(now)) = (last_beat, beat)
            && now > prev
        {
            max_gap = max_gap.max((now - prev).to_std().unwrap_or_default());
        }
        last_beat = beat.or(last_beat);
        if state == "succeeded" || state == "failed" || started.elapsed() > Duration::from_secs(600) {
            println!("job {state} after {:.1} s", started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done.notify_waiters();
    for task in reader_tasks {
        let _ = task.await;
    }
    let mut seen = (0, 0);
    for watcher in watchers {
        if let Ok((events, finished)) = watcher.await {
            seen.0 += events;
            seen.1 += usize::from(finished);
        }
    }
    let mut latencies = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!("event streams: {streams} opened, {} saw the job finish, {} events in all", seen.1, seen.0);
    println!(
        "readers: {readers} clients, {} requests ({:.0}/s), {} errors, p50 {:.1} ms, p99 {:.1} ms",
        requests.load(Ordering::Relaxed),
        requests.load(Ordering::Relaxed) as f64 / elapsed,
        errors.load(Ordering::Relaxed),
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
    println!(
        "heartbeat: every {:.1} s expected, largest gap {:.2} s (a takeover needs {:.0} s); claims: {attempts}",
        (stale_after / 4).as_secs_f64(),
        max_gap.as_secs_f64(),
        stale_after.as_secs_f64()
    );
    drop(conn);
    let deleted = app.delete_deployment(&id).await;
    println!("cleanup: {}", deleted["state"]);
}
