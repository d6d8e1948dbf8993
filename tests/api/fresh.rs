//! Fresh status: containers changed behind Mosaic's back show within a second through each host's
//! event stream, and a host whose stream is cut falls back to polling and says so.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lxd::{InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{
    OP_TIMEOUT, Relay, TestApp, env, eventually, expect_json, quick, remove_instance, spawn_app,
    spawn_app_with, unique_name,
};
use serde_json::{Value, json};

/// What the API shows for a deployment's instance: its status (`None`: not listed), the
/// deployment's orphans, and the instance's memory.
type Shown = (Option<String>, Vec<String>, Option<u64>);

async fn shown(app: &TestApp, deployment: &str, name: &str) -> Shown {
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{deployment}")).await, 200).await;
    let instance = detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["instances"].as_array().unwrap())
        .find(|i| i["name"] == name);
    let status = instance.map(|i| i["status"].as_str().unwrap().to_owned());
    let memory = instance.and_then(|i| i["memory_bytes"].as_u64());
    let orphans =
        detail["orphaned"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned());
    (status, orphans.collect(), memory)
}

/// Waits until `check` holds for what the API shows, re-reading only when the host cache changed
/// (its change counter is the signal), for at most `within`; returns how long it took.
async fn shows_within<F>(app: &TestApp, within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut(&Shown) -> bool,
{
    let (deployment, name) = what.split_once('/').unwrap();
    let started = Instant::now();
    loop {
        let generation = app.state.cache.generation();
        let seen = shown(app, deployment, name).await;
        if check(&seen) {
            return started.elapsed();
        }
        let left = within.checked_sub(started.elapsed()).unwrap_or_default();
        if tokio::time::timeout(left, app.state.cache.changed_since(generation)).await.is_err() {
            panic!("{what}: not shown within {within:?}; the API shows {seen:?}");
        }
    }
}

/// A host's status as `GET /hosts/{id}` shows it.
async fn host_status(app: &TestApp, host: &str) -> Value {
    let host: Value = expect_json(app.get(&format!("/api/v1/hosts/{host}")).await, 200).await;
    host["status"].clone()
}

/// Waits until the host's status says it answers (`online`) or not.
async fn online(app: &TestApp, host: &str, online: bool, within: Duration) {
    let what = if online { "polling to find the host back" } else { "the listing to find the host offline" };
    eventually(within, what, || async { (host_status(app, host).await["online"] == online).then_some(()) })
        .await;
}

async fn events_live(app: &TestApp, host: &str) {
    eventually(Duration::from_secs(20), "the host's event stream to open", || async {
        (host_status(app, host).await["events"]["live"] == true).then_some(())
    })
    .await;
}

async fn deploy_one_each(app: &TestApp, hosts: &[&str], what: &str) -> (String, Vec<String>) {
    let cc = app.cloud_config("Fresh", what, &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let name = unique_name(what).to_string().replace('-', "_");
    let id = app.deployment(&name, &[&cc]).await;
    let deploy = json!({"start": true, "cloud_configs": [
        {"cloud_config_id": cc, "count": 1, "hosts": hosts, "placement": "per_host"}]});
    let done = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let names =
        done["items"].as_array().unwrap().iter().map(|i| i["instance_name"].as_str().unwrap().to_owned());
    (id, names.collect())
}

#[tokio::test]
async fn containers_changed_behind_mosaics_back_show_within_a_second() {
    // The poller lists hosts once an hour here: whatever shows within a second came by events.
    let app = spawn_app_with(|s| {
        quick(s);
        s.cache_interval = Duration::from_secs(3600);
    })
    .await;
    let [a, _] = app.register_hosts().await;
    let (id, names) = deploy_one_each(&app, &[&a], "events").await;
    let name = InstanceName::parse(&names[0]).unwrap();
    let what = format!("{id}/{name}");
    assert_eq!(shown(&app, &id, name.as_str()).await.0.as_deref(), Some("running"));
    events_live(&app, &a).await;
    let admin = env().hosts[0].admin();
    let second = Duration::from_secs(1);

    // Stopped behind Mosaic's back (a clean shutdown: `instance-shutdown`).
    admin.stop_instance(&name, Some(Duration::from_secs(20))).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let took = shows_within(&app, second, &what, |(s, _, _)| s.as_deref() == Some("stopped")).await;
    println!("stop shown after {took:?}");

    // Started again: running at once, its memory (it has none stopped) with its first reading,
    // not the next listing.
    admin.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let took = shows_within(&app, second, &what, |(s, _, _)| s.as_deref() == Some("running")).await;
    println!("start shown after {took:?}");
    let took = shows_within(&app, Duration::from_secs(10), &what, |(_, _, m)| m.is_some_and(|m| m > 0)).await;
    println!("its memory shown after {took:?}");

    // A container with the deployment's key that Mosaic never made: an orphan, known only by
    // asking LXD about the name the event gave.
    let stray = unique_name("fresh-stray");
    let post = InstancesPost::new(stray.clone(), InstanceSource::image_alias(&env().image_busybox))
        .config("user.mosaic.managed", "true")
        .config("user.mosaic.deployment", &id)
        .config("user.mosaic.instance", uuid::Uuid::new_v4().to_string());
    admin.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let took =
        shows_within(&app, second, &what, |(_, orphans, _)| orphans.contains(&stray.to_string())).await;
    println!("a stray container shown after {took:?}");
    remove_instance(&admin, &stray).await;
    shows_within(&app, second, &what, |(_, orphans, _)| orphans.is_empty()).await;

    // Deleted behind Mosaic's back: missing.
    remove_instance(&admin, &name).await;
    let took = shows_within(&app, second, &what, |(s, _, _)| s.as_deref() == Some("missing")).await;
    println!("a deletion shown after {took:?}");

    let metrics = app.metrics().await;
    assert!(
        metrics.get("mosaic_host_events_total", &[("host", "lxd-a"), ("action", "instance-shutdown")]) >= 1.0
    );
    assert!(
        metrics.get("mosaic_host_events_total", &[("host", "lxd-a"), ("action", "instance-deleted")]) >= 1.0
    );
    assert_eq!(metrics.get("mosaic_host_events_connected", &[("host", "lxd-a")]), 1.0);
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}

fn address(host: usize) -> SocketAddr {
    let url = &env().hosts[host].url;
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap()
}

/// Seconds until the host's next attempt to reconnect its stream (negative once due).
fn retry_in(status: &Value) -> f64 {
    let at: chrono::DateTime<chrono::Utc> = status["events"]["retry_at"].as_str().unwrap().parse().unwrap();
    (at - chrono::Utc::now()).as_seconds_f64()
}

#[tokio::test]
async fn a_cut_event_stream_falls_back_to_polling_and_says_so() {
    let app = spawn_app().await; // the poller lists every second
    let relay = Relay::start(address(1)).await;
    let b = app.register_host_at("lxd-b-relayed", &relay.url(), 1).await;
    let (id, names) = deploy_one_each(&app, &[&b], "cut").await;
    let name = InstanceName::parse(&names[0]).unwrap();
    let what = format!("{id}/{name}");
    events_live(&app, &b).await;

    // The host goes away for real: its stream drops, and the host's status says why.
    relay.cut();
    let down = eventually(Duration::from_secs(20), "the stream's drop to be reported", || async {
        let status = host_status(&app, &b).await;
        (status["events"]["live"] == false).then_some(status)
    })
    .await;
    let error = down["events"]["error"].as_str().unwrap();
    assert!(error.contains("event stream down") && error.contains("polling"), "{down:#}");
    let health: Value = expect_json(app.get("/api/v1/health").await, 200).await;
    let detail =
        health["host_details"].as_array().unwrap().iter().find(|h| h["name"] == "lxd-b-relayed").unwrap();
    assert_eq!(detail["events"]["live"], false, "{health:#}");
    let metrics = app.metrics().await;
    assert_eq!(metrics.get("mosaic_host_events_connected", &[("host", "lxd-b-relayed")]), 0.0);

    // Reconnection backs off while the host stays away; once the next attempt is several seconds
    // off, the host comes back. Polling finds it at once; the stream is still down.
    eventually(Duration::from_secs(30), "the back-off to grow", || async {
        let status = host_status(&app, &b).await;
        (status["events"]["retry_at"].is_string() && retry_in(&status) >= 6.0).then_some(())
    })
    .await;
    relay.restore().await;
    online(&app, &b, true, Duration::from_secs(5)).await;

    // A change behind Mosaic's back shows by polling (within the interval and a listing), while
    // the stream is still down: status fell back to polling.
    let admin = env().hosts[1].admin();
    admin.stop_instance(&name, None).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    shows_within(&app, Duration::from_secs(4), &what, |(s, _, _)| s.as_deref() == Some("stopped")).await;
    let status = host_status(&app, &b).await;
    assert_eq!(
        status["events"]["live"], false,
        "the stream reconnected before polling showed the stop: {status:#}"
    );

    // The stream comes back by itself, and with it status within a second.
    events_live(&app, &b).await;
    let status = host_status(&app, &b).await;
    assert_eq!(status["events"]["error"], Value::Null, "{status:#}");
    admin.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    shows_within(&app, Duration::from_secs(1), &what, |(s, _, _)| s.as_deref() == Some("running")).await;

    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}

#[tokio::test]
async fn a_host_that_stops_answering_mid_round_is_not_read_for_the_rest_of_it() {
    let app = spawn_app().await; // lists and reads every second
    let relay = Relay::start(address(1)).await;
    let b = app.register_host_at("lxd-b-skipped", &relay.url(), 1).await;
    let (id, _) = deploy_one_each(&app, &[&b], "skip").await;
    app.fresh_cache().await;
    let cache = &app.state.cache;

    // A job changing the host holds its readings: the next round takes its running containers
    // (this test's and any other on the host) and waits.
    let job = cache.changing(b.parse().unwrap());
    eventually(Duration::from_secs(10), "a round to wait for the job", || async {
        (cache.readings_waiting() > 0).then_some(())
    })
    .await;
    let (reads, skips) = (cache.state_reads(), cache.state_skips());

    // The host stops answering; its listing says so.
    relay.cut();
    online(&app, &b, false, Duration::from_secs(20)).await;

    // The job ends: the round goes on without asking the host for any of its containers (a host
    // that hangs rather than refuses would make each reading wait out its timeout).
    drop(job);
    eventually(Duration::from_secs(10), "the round to drop its readings", || async {
        (cache.state_skips() > skips && cache.readings_waiting() == 0).then_some(())
    })
    .await;
    assert_eq!(cache.state_reads(), reads, "a host its listing found offline was asked for states");

    relay.restore().await;
    online(&app, &b, true, Duration::from_secs(10)).await;
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}
