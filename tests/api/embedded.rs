//! The embedded default: no database configured, so Mosaic runs its own PostgreSQL cluster.

use mosaic_api::config::Settings;
use mosaic_api::startup::Application;
use mosaic_testkit::{env, expect_json, http};
use secrecy::SecretString;

#[tokio::test]
async fn without_a_database_url_mosaic_runs_and_stops_its_own_cluster() {
    let data_dir = std::env::temp_dir().join(format!("mosaic-embedded-{}", uuid::Uuid::new_v4().simple()));
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        phone_home_listen: "127.0.0.1:0".parse().unwrap(),
        // Not the default 9464: other tests run servers on this machine at the same time.
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.clone(),
        admin_token: Some(SecretString::from("mosaic_embedded_test_0123456789abcdef".to_owned())),
        local_lxd_socket: Some(env().hosts[0].socket.clone()),
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("Mosaic starts with its own PostgreSQL");
    let address = app.address();
    let state = app.state().clone();
    let started = std::time::Instant::now();
    let handle = app.server_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let pid_file = data_dir.join("postgres/data/postmaster.pid");
    assert!(pid_file.exists(), "the private cluster runs");

    let health: serde_json::Value =
        expect_json(http().get(format!("http://{address}/api/health")).send().await.unwrap(), 200).await;
    assert_eq!(health["database"], true);
    // The local LXD daemon was registered as host `local`, and answers the host cache.
    state.cache.refreshed_since(started).await;
    let detail: serde_json::Value = expect_json(
        http()
            .get(format!("http://{address}/api/v1/health"))
            .bearer_auth("mosaic_embedded_test_0123456789abcdef")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(detail["hosts"], serde_json::json!({"total": 1, "online": 1}));
    assert_eq!(detail["host_details"][0]["name"], "local");

    // Only Mosaic gets in: the socket's directory is its owner's alone, and the server admits only
    // Mosaic's own operating system user (never `trust`). Another local account cannot connect.
    use std::os::unix::fs::PermissionsExt;
    let socket_dir = data_dir.join("postgres/socket");
    assert_eq!(std::fs::metadata(&socket_dir).unwrap().permissions().mode() & 0o777, 0o700);
    let hba = std::fs::read_to_string(data_dir.join("postgres/data/pg_hba.conf")).unwrap();
    assert!(!hba.lines().any(|l| !l.starts_with('#') && l.contains("trust")), "{hba}");
    for user in ["nobody", "postgres"] {
        let psql = std::process::Command::new("runuser")
            .args(["-u", user, "--", "psql", "-X", "-w"])
            .arg(format!("host={} port=5432 user=postgres dbname=mosaic", socket_dir.display()))
            .args(["-c", "SELECT 1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&psql.stderr);
        assert!(!psql.status.success(), "{user} connected to Mosaic's database: {stderr}");
        println!("{user}: {}", stderr.trim());
    }
    // Even with the directory opened up, the server itself refuses another account.
    for dir in [data_dir.join("postgres"), socket_dir.clone()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let socket = socket_dir.join(".s.PGSQL.5432");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    let psql = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--", "psql", "-X", "-w"])
        .arg(format!("host={} port=5432 user=postgres dbname=mosaic", socket_dir.display()))
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&psql.stderr);
    assert!(!psql.status.success() && stderr.contains("authentication failed"), "{stderr}");

    handle.stop(true).await;
    server.await.unwrap().unwrap();
    assert!(!pid_file.exists(), "the private cluster is stopped with Mosaic");
    let key = std::fs::metadata(data_dir.join("client.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    std::fs::remove_dir_all(&data_dir).unwrap();
}
