//! Rendered files are accepted by the real `haproxy -c`, and its refusals come back in its words.

use std::time::Duration;

use haproxy::{Config, Global, HealthCheck, Mode, Paths, TcpCheck};

use super::{DataDir, binary, free_port, http_service, loopback, name};

#[tokio::test]
async fn rendered_configs_pass_haproxy_check() {
    let dir = DataDir::new("cfg");
    std::fs::create_dir_all(dir.path()).unwrap();
    let paths = Paths::in_dir(dir.path());

    let mut web = http_service("web", free_port());
    web.servers = vec![
        haproxy::Server { name: name("i1"), addr: loopback(free_port()) },
        haproxy::Server { name: name("i2"), addr: "[::1]:8080".parse().unwrap() },
    ];
    let mut db = http_service("db.tcp:5432", free_port());
    db.mode = Mode::Tcp;
    db.check = HealthCheck::Tcp(TcpCheck { send: b"PING\r\n".to_vec(), expect: b"+PONG".to_vec() });
    db.servers = vec![haproxy::Server { name: name("i1"), addr: loopback(free_port()) }];
    let mut smtp = http_service("smtp", free_port());
    smtp.mode = Mode::Tcp;
    smtp.check = HealthCheck::Tcp(TcpCheck { send: vec![], expect: b"220 ".to_vec() });
    let config = Config {
        global: Global { maxconn: 2000, hard_stop_after: Some(Duration::from_secs(30)) },
        services: vec![web, db, smtp],
        metrics: Some(loopback(free_port())),
        ..Config::default()
    };
    let text = config.render(&paths).unwrap();
    std::fs::write(&paths.config, &text).unwrap();
    haproxy::check_config(&binary(), &paths.config).await.unwrap_or_else(|e| panic!("{e}\n{text}"));

    // Nothing but services: the smallest file is valid too.
    std::fs::write(&paths.config, Config::default().render(&paths).unwrap()).unwrap();
    haproxy::check_config(&binary(), &paths.config).await.unwrap();
}

#[tokio::test]
async fn a_refused_file_reports_haproxy_alert() {
    let dir = DataDir::new("cfgbad");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("bad.cfg");
    std::fs::write(&file, "frontend web\n    mode http\n    bind 127.0.0.1:1\n    default_backend nowhere\n")
        .unwrap();
    let err = haproxy::check_config(&binary(), &file).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, haproxy::Error::ConfigRejected { .. }), "{err:?}");
    assert!(text.contains("[ALERT]") && text.contains("nowhere"), "{text}");
}

#[tokio::test]
async fn version_reads_the_installed_haproxy() {
    let version = haproxy::version(&binary()).await.unwrap();
    assert!(version.starts_with("2."), "{version}");
}
