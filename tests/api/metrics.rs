//! `/metrics` after a real deploy: the numbers moved as they should.

use mosaic_testkit::{env, expect_json, spawn_app, unique_name};
use serde_json::{Value, json};

#[tokio::test]
async fn a_deploy_shows_in_the_metrics_by_route_job_item_and_lxd_host() {
    let app = spawn_app().await;
    let [a, b] = app.register_hosts().await;
    let cc =
        app.cloud_config("Metrics", "Busybox", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let name = unique_name("metrics").to_string().replace('-', "_");
    let id = app.deployment(&name, &[&cc]).await;

    // Nothing of the deploy yet; the listener answers without a token.
    let before = app.metrics().await;
    assert_eq!(before.value("mosaic_jobs_total", &[]), None, "{}", before.0);

    // Four containers, two per host, created and started by one job.
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 4, "hosts": [a, b]}]});
    let done = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let _: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    let _: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    app.fresh_cache().await;

    let m = app.metrics().await;
    // HTTP requests by route pattern, never by raw path.
    let deploy_route = [("method", "POST"), ("route", "/api/v1/deployments/{id}/deploy"), ("status", "202")];
    assert_eq!(m.get("mosaic_http_requests_total", &deploy_route), 1.0);
    let detail_route = [("method", "GET"), ("route", "/api/v1/deployments/{id}"), ("status", "200")];
    assert_eq!(m.get("mosaic_http_requests_total", &detail_route), 2.0);
    assert_eq!(m.get("mosaic_http_requests_total", &[("method", "POST"), ("route", "/api/v1/hosts")]), 2.0);
    assert!(!m.0.contains(&id), "a raw path (with the deployment's ID) became a label:\n{}", m.0);
    let timed = [("method", "POST"), ("route", "/api/v1/deployments/{id}/deploy")];
    assert_eq!(m.get("mosaic_http_request_duration_seconds_count", &timed), 1.0);
    assert!(m.get("mosaic_http_request_duration_seconds_sum", &timed) > 0.0);

    // The job by kind and outcome, with its duration; its items by final step.
    let job = [("kind", "deploy"), ("outcome", "succeeded")];
    assert_eq!(m.get("mosaic_jobs_total", &job), 1.0);
    assert_eq!(m.get("mosaic_job_duration_seconds_count", &job), 1.0);
    assert!(m.get("mosaic_job_duration_seconds_sum", &job) > 0.0);
    assert_eq!(m.get("mosaic_job_items_total", &[("kind", "deploy"), ("step", "done")]), 4.0);
    assert_eq!(m.value("mosaic_job_items_total", &[("step", "failed")]), None);

    // LXD requests by host and operation: two creates and two starts on each host, all answered.
    for host in ["lxd-a", "lxd-b"] {
        let create = [("host", host), ("method", "POST"), ("path", "/1.0/instances"), ("outcome", "ok")];
        assert_eq!(m.get("mosaic_lxd_requests_total", &create), 2.0, "creates on {host}");
        let start = [("host", host), ("method", "PUT"), ("path", "/1.0/instances/{name}/state")];
        assert_eq!(m.get("mosaic_lxd_requests_total", &start), 2.0, "starts on {host}");
        let waits = [("host", host), ("method", "GET"), ("path", "/1.0/operations/{name}/wait")];
        assert!(m.get("mosaic_lxd_requests_total", &waits) >= 4.0);
        let listed = [("host", host), ("method", "GET"), ("path", "/1.0/instances")];
        assert!(m.get("mosaic_lxd_requests_total", &listed) >= 1.0, "the host cache's listings");
        let timed = [("host", host), ("method", "POST"), ("path", "/1.0/instances")];
        assert!(m.get("mosaic_lxd_request_duration_seconds_sum", &timed) > 0.0);
        assert_eq!(m.get("mosaic_lxd_request_duration_seconds_count", &timed), 2.0);
        // The host cache's age per host, and whether its event stream is up.
        let age = m.get("mosaic_host_cache_age_seconds", &[("host", host)]);
        assert!((0.0..60.0).contains(&age), "cache age of {host}: {age}");
        let age = m.get("mosaic_host_state_age_seconds", &[("host", host)]);
        assert!((0.0..60.0).contains(&age), "memory age of {host}: {age}");
        assert_eq!(m.get("mosaic_host_online", &[("host", host)]), 1.0);
        assert!(m.value("mosaic_host_events_connected", &[("host", host)]).is_some());
    }
    assert_eq!(m.value("mosaic_lxd_requests_total", &[("outcome", "unreachable")]), None, "{}", m.0);

    // Levels: the database pool, waiting callers, event streams (the job's has closed or is closing).
    assert!(m.get("mosaic_db_pool_connections", &[("pool", "requests"), ("state", "idle")]) >= 1.0);
    assert!(m.value("mosaic_db_pool_connections", &[("pool", "control"), ("state", "in_use")]).is_some());
    assert!(m.value("mosaic_db_pool_waiting", &[]).is_some());
    assert!(m.get("mosaic_job_event_streams", &[]) <= 1.0);

    // The counters keep counting: the delete is another job, with its own items and LXD calls.
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    let after = app.metrics().await;
    assert_eq!(after.get("mosaic_jobs_total", &[("kind", "delete"), ("outcome", "succeeded")]), 1.0);
    assert_eq!(after.get("mosaic_job_items_total", &[("kind", "delete"), ("step", "done")]), 4.0);
    let deletes = [("method", "DELETE"), ("path", "/1.0/instances/{name}"), ("outcome", "ok")];
    assert_eq!(after.get("mosaic_lxd_requests_total", &deletes), 4.0);
    app.untrust().await;
}

/// The load balancer's servers by state, from a source registered the way routing registers its
/// HAProxy: a real HAProxy with one healthy server in rotation and one broken one left in
/// maintenance.
#[tokio::test]
async fn load_balancer_servers_are_counted_by_backend_and_state() {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::haproxy::{Backend, DataDir, TIMING, config, free_port, http_service, name, wait_for_row};

    let app = spawn_app().await;
    let dir = DataDir::new("lbmetrics");
    let (up, broken) = (Backend::start("up", 200).await, Backend::start("broken", 500).await);
    let hx = haproxy::Haproxy::start(dir.settings(), &config(vec![http_service("web", free_port())]))
        .await
        .unwrap();
    let rt = hx.runtime();
    for backend in [&up, &broken] {
        rt.add_server(&name("web"), &name(&backend.name), backend.addr, &TIMING).await.unwrap();
    }
    rt.admit(&name("web"), &name("up"), Duration::from_secs(10)).await.unwrap();
    wait_for_row(rt, "web", "up", "UP", |r| r.status == haproxy::ServerStatus::Up).await;

    let before = app.metrics().await;
    assert_eq!(before.value("mosaic_lb_servers", &[]), None, "no source registered yet");
    app.state.metrics.register_backends(Arc::new(mosaic_api::metrics::backends::HaproxyBackends(rt.clone())));
    let m = app.metrics().await;
    assert_eq!(m.get("mosaic_lb_servers", &[("backend", "web"), ("state", "UP")]), 1.0);
    assert_eq!(m.get("mosaic_lb_servers", &[("backend", "web"), ("state", "MAINT")]), 1.0);
    assert_eq!(m.get("mosaic_lb_scrape_errors_total", &[]), 0.0);

    // The source going away is counted, not fatal: the rest of the scrape still comes.
    drop(hx);
    drop(dir);
    let m = app.metrics().await;
    assert_eq!(m.get("mosaic_lb_scrape_errors_total", &[]), 1.0);
    assert_eq!(m.value("mosaic_lb_servers", &[]), None);
    assert!(m.value("mosaic_db_pool_waiting", &[]).is_some());
}
