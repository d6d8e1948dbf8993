//! Reloads lose no request and keep server states; HAProxy outlives its Rust handle.

use std::time::Duration;

use haproxy::{AdminState, Haproxy, Origin, ServerStatus};

use super::{
    Backend, DataDir, HttpConn, RequestLoop, TIMING, config, free_port, get_once, http_service, loopback,
    name, wait_for_row,
};

#[tokio::test]
async fn a_reload_adding_a_service_keeps_the_first_serving() {
    let dir = DataDir::new("reload");
    let (a, b, c, d) = (
        Backend::start("a", 200).await,
        Backend::start("b", 200).await,
        Backend::start("c", 200).await,
        Backend::start("d", 200).await,
    );
    let (web_port, api_port) = (free_port(), free_port());
    let mut web = http_service("web", web_port);
    web.servers = vec![a.server(), b.server(), c.server()];
    let hx = Haproxy::start(dir.settings(), &config(vec![web.clone()])).await.unwrap();
    let rt = hx.runtime();
    let before = hx.processes().await.unwrap();
    assert_eq!(before.workers.len(), 1);
    for s in ["a", "b", "c"] {
        rt.admit(&name("web"), &name(s), Duration::from_secs(10)).await.unwrap();
    }
    // c is being drained when the reload comes: it must stay drained in the new worker.
    rt.set_state(&name("web"), &name("c"), AdminState::Drain).await.unwrap();

    let frontend = loopback(web_port);
    let traffic = RequestLoop::start(frontend, 20_000, Duration::from_secs(30));
    traffic.wait_sent(100).await;

    let mut api = http_service("api", api_port);
    api.servers = vec![d.server()];
    let report = hx.reload(&config(vec![web, api])).await.unwrap();
    assert_ne!(report.worker_pid, before.workers[0].pid);
    assert_eq!(report.added, vec![(name("api"), name("d"))], "only the new server is added at runtime");
    assert_eq!(rt.worker_pid().await.unwrap(), report.worker_pid);

    traffic.wait_sent(traffic.sent() + 200).await;
    let result = traffic.finish().await;
    assert!(result.failures.is_empty(), "requests failed across the reload: {:?}", result.failures);
    assert!(result.ok.contains_key("a") && result.ok.contains_key("b"), "{result:?}");

    let after = hx.processes().await.unwrap();
    assert_eq!(after.reloads, before.reloads + 1);
    assert_eq!(after.failed_reloads, 0);

    // States carried over: a and b in rotation without a new admission, c still draining.
    for s in ["a", "b"] {
        let row = rt.server_stat(&name("web"), &name(s)).await.unwrap().unwrap();
        assert_eq!(row.status, ServerStatus::Up, "{row:?}");
    }
    let c_row = rt.server_stat(&name("web"), &name("c")).await.unwrap().unwrap();
    assert_eq!(c_row.status, ServerStatus::Drain, "{c_row:?}");
    let c_before = c.requests();
    for _ in 0..10 {
        assert_eq!(get_once(frontend, "/").await.unwrap().0, 200);
    }
    assert_eq!(c.requests(), c_before, "a drained server got traffic after the reload");

    // The new service's server waits for its checks, then serves.
    let d_row = rt.server_stat(&name("api"), &name("d")).await.unwrap().unwrap();
    assert_eq!(d_row.status, ServerStatus::Maint);
    rt.admit(&name("api"), &name("d"), Duration::from_secs(10)).await.unwrap();
    assert_eq!(get_once(loopback(api_port), "/").await.unwrap(), (200, "d".to_owned()));
}

#[tokio::test]
async fn haproxy_outlives_its_handle_and_a_new_handle_attaches() {
    let dir = DataDir::new("attach");
    let a = Backend::start("a", 200).await;
    let port = free_port();
    let mut web = http_service("web", port);
    web.servers = vec![a.server()];
    let cfg = config(vec![web]);
    let hx = Haproxy::start(dir.settings(), &cfg).await.unwrap();
    hx.runtime().admit(&name("web"), &name("a"), Duration::from_secs(10)).await.unwrap();
    let master = hx.master_pid();

    // A client connection open across the "Mosaic restart".
    let mut conn = HttpConn::open(loopback(port)).await.unwrap();
    assert_eq!(conn.get("/").await.unwrap(), (200, "a".to_owned()));
    drop(hx);
    assert!(haproxy::alive(master), "dropping the handle stopped haproxy");
    assert_eq!(conn.get("/").await.unwrap(), (200, "a".to_owned()));

    let attached = Haproxy::attach(dir.settings()).await.unwrap().expect("a running haproxy");
    assert_eq!(attached.master_pid(), master);
    let err = Haproxy::start(dir.settings(), &cfg).await.unwrap_err();
    assert!(
        matches!(err, haproxy::Error::AlreadyRunning { master_pid, .. } if master_pid == master),
        "{err:?}"
    );
    let (again, origin) = Haproxy::start_or_attach(dir.settings(), &cfg).await.unwrap();
    assert_eq!((origin, again.master_pid()), (Origin::Attached, master));

    // The attached handle drives the same process: its server is there and a change lands.
    let row = wait_for_row(attached.runtime(), "web", "a", "UP", |r| r.status == ServerStatus::Up).await;
    assert!(row.stot >= 2, "{row:?}");
    attached.runtime().set_state(&name("web"), &name("a"), AdminState::Maint).await.unwrap();
    assert_eq!(get_once(loopback(port), "/").await.unwrap().0, 503);
    attached.runtime().set_state(&name("web"), &name("a"), AdminState::Ready).await.unwrap();
    wait_for_row(attached.runtime(), "web", "a", "UP", |r| r.status == ServerStatus::Up).await;
    assert_eq!(conn.get("/").await.unwrap(), (200, "a".to_owned()));

    // Stopping ends the master; nothing answers afterwards, and start_or_attach starts anew.
    drop(again);
    attached.stop(Duration::from_secs(5)).await.unwrap();
    assert!(!haproxy::alive(master));
    assert!(Haproxy::attach(dir.settings()).await.unwrap().is_none());
    assert!(get_once(loopback(port), "/").await.is_err());
    let (fresh, origin) = Haproxy::start_or_attach(dir.settings(), &cfg).await.unwrap();
    assert_eq!(origin, Origin::Started);
    assert_ne!(fresh.master_pid(), master);
}

/// Why the supervisor writes the running servers into the file: a reload starts a worker with
/// only the file's servers, so servers that exist only at runtime are gone and the service
/// answers 503 until they are added again.
#[tokio::test]
async fn a_reload_drops_servers_that_are_only_in_the_runtime() {
    let dir = DataDir::new("dropped");
    let a = Backend::start("a", 200).await;
    let port = free_port();
    let web = http_service("web", port);
    let hx = Haproxy::start(dir.settings(), &config(vec![web.clone()])).await.unwrap();
    let rt = hx.runtime();
    rt.add_server(&name("web"), &name("a"), a.addr, &TIMING).await.unwrap();
    rt.admit(&name("web"), &name("a"), Duration::from_secs(10)).await.unwrap();
    assert_eq!(get_once(loopback(port), "/").await.unwrap().0, 200);

    // The config does not list `a`: after the reload the new worker has no server.
    let report = hx.reload(&config(vec![web])).await.unwrap();
    assert!(report.added.is_empty());
    assert!(rt.server_stat(&name("web"), &name("a")).await.unwrap().is_none());
    assert_eq!(get_once(loopback(port), "/").await.unwrap().0, 503);
}

/// A server added at runtime waits in maintenance while its checks run. HAProxy pauses the checks
/// of a server that *enters* maintenance, and a server-state file brings a server back by putting
/// it there: a reload must not leave such a server unchecked, or it is never admitted (the
/// routing test saw it: two instances "not ready" forever after a frontend was added).
#[tokio::test]
async fn a_server_waiting_for_its_checks_is_still_checked_after_a_reload() {
    let dir = DataDir::new("waiting");
    let a = Backend::start("a", 200).await;
    let (web_port, api_port, late_port) = (free_port(), free_port(), free_port());
    let mut web = http_service("web", web_port);
    web.servers = vec![a.server()];
    let hx = Haproxy::start(dir.settings(), &config(vec![web.clone()])).await.unwrap();
    let rt = hx.runtime();
    rt.admit(&name("web"), &name("a"), Duration::from_secs(10)).await.unwrap();

    // `late` has no service yet: its checks run and fail.
    let late = haproxy::Server { name: name("late"), addr: loopback(late_port) };
    rt.add_server(&name("web"), &late.name, late.addr, &TIMING).await.unwrap();
    wait_for_row(rt, "web", "late", "checked (and failing)", |r| r.check_status.is_some()).await;

    web.servers.push(late);
    let report = hx.reload(&config(vec![web, http_service("api", api_port)])).await.unwrap();
    let row = rt.server_stat(&name("web"), &name("late")).await.unwrap().unwrap();
    assert_eq!(
        row.status,
        ServerStatus::Maint,
        "still out of rotation after the reload: {row:?} ({report:?})"
    );
    let state = rt.show_servers_state(Some(&name("web"))).await.unwrap();
    let late_state = state.iter().find(|r| r.server == "late").unwrap();
    assert!(late_state.checks_running(), "its checks run after the reload: {late_state:?}");

    // Its service comes up: the checks (still running) pass and it is admitted.
    let _late = Backend::start_on("late", 200, loopback(late_port)).await;
    rt.admit(&name("web"), &name("late"), Duration::from_secs(10)).await.unwrap();
    let mut reached = std::collections::HashSet::new();
    for _ in 0..10 {
        let (status, body) = get_once(loopback(web_port), "/").await.unwrap();
        assert_eq!(status, 200);
        reached.insert(body);
    }
    assert_eq!(reached.len(), 2, "both servers serve: {reached:?}");
}
