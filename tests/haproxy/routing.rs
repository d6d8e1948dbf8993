//! Servers added at runtime: only healthy ones get traffic, and draining one loses no request.

use std::time::Duration;

use haproxy::{Haproxy, OpState, Rejection, ServerStatus};

use super::{
    Backend, DataDir, RequestLoop, TIMING, config, free_port, get_once, get_raw, http_service, loopback,
    name, wait_for_row,
};

#[tokio::test]
async fn traffic_reaches_only_healthy_servers_and_a_drain_fails_no_request() {
    let dir = DataDir::new("route");
    let a = Backend::start("a", 200).await;
    let b = Backend::start("b", 200).await;
    let broken = Backend::start("broken", 500).await;
    let port = free_port();
    let metrics = loopback(free_port());
    let mut cfg = config(vec![http_service("web", port)]);
    cfg.metrics = Some(metrics);
    let hx = Haproxy::start(dir.settings(), &cfg).await.unwrap();
    let rt = hx.runtime();
    let web = name("web");

    // Sockets and directory are private.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.path()), 0o700);
    assert_eq!(mode(&hx.paths().admin_socket), 0o600);
    assert_eq!(mode(&hx.paths().master_socket), 0o600);

    for backend in [&a, &b, &broken] {
        rt.add_server(&web, &name(&backend.name), backend.addr, &TIMING).await.unwrap();
    }
    // Added servers wait in maintenance, out of rotation, with their checks running.
    let states = rt.show_servers_state(Some(&web)).await.unwrap();
    assert_eq!(states.len(), 3);
    assert!(states.iter().all(|s| s.admin.maint() && s.op_state == OpState::Stopped), "{states:?}");
    let again = rt.add_server(&web, &name("a"), a.addr, &TIMING).await.unwrap_err();
    assert_eq!(again.rejection(), Some(Rejection::AlreadyExists), "{again}");

    rt.admit(&web, &name("a"), Duration::from_secs(10)).await.unwrap();
    rt.admit(&web, &name("b"), Duration::from_secs(10)).await.unwrap();
    let refused = rt.admit(&web, &name("broken"), Duration::from_secs(2)).await.unwrap_err();
    match &refused {
        haproxy::Error::NotHealthy { last_check, .. } => {
            assert!(last_check.starts_with("L7STS 500"), "{last_check}")
        }
        other => panic!("{other:?}"),
    }
    for s in ["a", "b"] {
        wait_for_row(rt, "web", s, "UP", |r| r.status == ServerStatus::Up).await;
    }
    let broken_row = rt.server_stat(&web, &name("broken")).await.unwrap().unwrap();
    assert_eq!(broken_row.status, ServerStatus::Maint);

    let frontend = loopback(port);
    let mut seen = std::collections::HashMap::<String, u32>::new();
    for _ in 0..40 {
        let (status, body) = get_once(frontend, "/").await.unwrap();
        assert_eq!(status, 200);
        *seen.entry(body).or_default() += 1;
    }
    assert_eq!(seen.keys().len(), 2, "{seen:?}");
    assert!(seen["a"] >= 10 && seen["b"] >= 10, "round robin over a and b only: {seen:?}");
    assert_eq!(broken.requests(), 0, "a server whose check fails got a request");

    let stats = rt.show_stat().await.unwrap();
    let row_a = stats.iter().find(|r| r.proxy == "web" && r.server == "a").unwrap();
    assert!(row_a.req_tot.unwrap() >= 20 && row_a.stot >= 20, "{row_a:?}");

    // The metrics listener serves HAProxy's Prometheus exporter.
    let response = get_raw(metrics, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:.300}");
    assert!(response.contains("haproxy_server_status{proxy=\"web\",server=\"a\""), "{response:.300}");
    assert!(get_raw(metrics, "/").await.starts_with("HTTP/1.1 404"));

    // Drain b under a request loop while slow requests are in flight on it: four at once are
    // spread a, b, a, b by round robin.
    let slow: Vec<_> = (0..4).map(|_| tokio::spawn(get_once(frontend, "/slow"))).collect();
    wait_for_row(rt, "web", "b", "busy", |r| r.scur > 0).await;
    let traffic = RequestLoop::start(frontend, 20_000, Duration::from_secs(30));
    traffic.wait_sent(30).await;
    let busy = rt.server_stat(&web, &name("b")).await.unwrap().unwrap().scur;
    assert!(busy > 0, "the slow requests on b ended before the drain began");
    let report = rt.drain(&web, &name("b"), Duration::from_secs(10)).await.unwrap();
    let b_after_drain = b.requests();
    assert!(!report.already_gone && !report.forced, "{report:?}");
    assert_eq!(report.sessions_left, 0);
    assert!(
        report.elapsed >= Duration::from_millis(100),
        "the drain did not wait for b's slow requests: {report:?}"
    );
    for request in slow {
        let (status, _) = request.await.unwrap().unwrap();
        assert_eq!(status, 200, "an in-flight request failed during the drain");
    }
    traffic.wait_sent(traffic.sent() + 100).await;
    let result = traffic.finish().await;
    assert!(result.failures.is_empty(), "failed requests during the drain: {:?}", result.failures);
    assert!(result.total_ok() >= 150, "{result:?}");
    assert_eq!(b.requests(), b_after_drain, "b got requests after it was drained");
    assert_eq!(broken.requests(), 0);

    // b is gone; deleting it again is HAProxy's typed refusal.
    assert!(rt.server_stat(&web, &name("b")).await.unwrap().is_none());
    let err = rt.del_server(&web, &name("b")).await.unwrap_err();
    assert_eq!(err.rejection(), Some(Rejection::NoSuchServer), "{err}");
    assert!(err.to_string().contains("No such server."), "{err}");
    // Draining a server that is gone is not an error.
    assert!(rt.drain(&web, &name("b"), Duration::from_secs(1)).await.unwrap().already_gone);
}

/// Why `admit` exists: HAProxy 2.6 puts a server that leaves maintenance straight UP, before any
/// check ran, so enabling a broken server at once sends it requests until its first check fails.
#[tokio::test]
async fn enabling_a_server_before_its_checks_pass_sends_it_traffic() {
    let dir = DataDir::new("early");
    let broken = Backend::start("broken", 500).await;
    let port = free_port();
    let hx = Haproxy::start(dir.settings(), &config(vec![http_service("web", port)])).await.unwrap();
    let rt = hx.runtime();
    let web = name("web");
    // A long interval: no check runs during this test.
    let slow_checks = haproxy::CheckTiming { interval: Duration::from_secs(60), rise: 2, fall: 2 };
    rt.add_server(&web, &name("broken"), broken.addr, &slow_checks).await.unwrap();
    rt.enable_server(&web, &name("broken")).await.unwrap();
    let row = rt.server_stat(&web, &name("broken")).await.unwrap().unwrap();
    assert_eq!(row.status, ServerStatus::Up, "{row:?}");
    assert_eq!(row.check_status.as_deref(), Some("INI"), "no check has run: {row:?}");
    assert_eq!(get_once(loopback(port), "/").await.unwrap(), (200, "broken".to_owned()));
}

/// A drain is bounded: sessions still open when its timeout runs out are cut, and the server
/// is deleted anyway.
#[tokio::test]
async fn a_drain_that_times_out_cuts_the_remaining_sessions_and_deletes() {
    let dir = DataDir::new("cut");
    let a = Backend::start("a", 200).await;
    let port = free_port();
    let mut web = http_service("web", port);
    web.servers = vec![a.server()];
    let hx = Haproxy::start(dir.settings(), &config(vec![web])).await.unwrap();
    let rt = hx.runtime();
    rt.admit(&name("web"), &name("a"), Duration::from_secs(10)).await.unwrap();

    let slow = tokio::spawn(get_once(loopback(port), "/slow"));
    wait_for_row(rt, "web", "a", "busy", |r| r.scur > 0).await;
    let report = rt.drain(&name("web"), &name("a"), Duration::from_millis(200)).await.unwrap();
    assert!(report.forced && report.sessions_left >= 1, "{report:?}");
    assert!(report.elapsed < super::SLOW, "the drain waited past its timeout: {report:?}");
    assert!(rt.server_stat(&name("web"), &name("a")).await.unwrap().is_none());
    let cut = slow.await.unwrap();
    assert!(!matches!(cut, Ok((200, _))), "the cut request still succeeded: {cut:?}");
}
