//! Failures are typed and say what happened, in HAProxy's words where it said something.

use std::time::Duration;

use haproxy::{Haproxy, Settings};

use super::{Backend, DataDir, config, free_port, get_once, http_service, loopback, name};

#[tokio::test]
async fn a_machine_without_haproxy_gets_a_clear_error() {
    let dir = DataDir::new("nobin");
    let settings = Settings::new("/nonexistent/haproxy", dir.path());
    let err = Haproxy::start(settings.clone(), &config(vec![])).await.unwrap_err();
    assert!(matches!(err, haproxy::Error::NotInstalled { .. }), "{err:?}");
    assert_eq!(err.to_string(), "haproxy not installed at /nonexistent/haproxy");
    assert!(matches!(haproxy::version(&settings.binary).await, Err(haproxy::Error::NotInstalled { .. })));
    // Nothing runs there, so attaching finds nothing rather than failing.
    assert!(Haproxy::attach(settings).await.unwrap().is_none());
}

#[tokio::test]
async fn a_taken_port_fails_start_and_reload_and_the_old_config_keeps_serving() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();

    // At start: HAProxy's own alert.
    let dir = DataDir::new("taken1");
    let err =
        Haproxy::start(dir.settings(), &config(vec![http_service("web", taken_port)])).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, haproxy::Error::StartFailed { .. }), "{err:?}");
    assert!(text.contains("cannot bind socket") && text.contains(&taken_port.to_string()), "{text}");

    // At reload: refused before anything changes.
    let dir = DataDir::new("taken2");
    let a = Backend::start("a", 200).await;
    let port = free_port();
    let mut web = http_service("web", port);
    web.servers = vec![a.server()];
    let hx = Haproxy::start(dir.settings(), &config(vec![web.clone()])).await.unwrap();
    hx.runtime().admit(&name("web"), &name("a"), Duration::from_secs(10)).await.unwrap();
    let file_before = std::fs::read_to_string(&hx.paths().config).unwrap();
    let err = hx.reload(&config(vec![web, http_service("api", taken_port)])).await.unwrap_err();
    assert!(
        matches!(err, haproxy::Error::BindUnavailable { addr, .. } if addr.port() == taken_port),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&hx.paths().config).unwrap(), file_before);
    assert_eq!(hx.processes().await.unwrap().reloads, 0);
    assert_eq!(get_once(loopback(port), "/").await.unwrap(), (200, "a".to_owned()));
    drop(taken);

    // Another HAProxy (another Mosaic on this machine) cannot share the port this one serves:
    // without `noreuseport` both would bind it and split its connections.
    let other = DataDir::new("taken3");
    let err = Haproxy::start(other.settings(), &config(vec![http_service("web", port)])).await.unwrap_err();
    assert!(matches!(err, haproxy::Error::StartFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot bind socket"), "{err}");
    assert_eq!(get_once(loopback(port), "/").await.unwrap(), (200, "a".to_owned()));
}
