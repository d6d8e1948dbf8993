//! The socket allow-list, and forgetting a host that is gone for good.

use std::net::SocketAddr;

use mosaic_testkit::{Relay, env, expect_error, expect_json, spawn_app, unique_name};
use serde_json::{Value, json};

use super::{LxdCleanup, On, detail};

#[tokio::test]
async fn a_socket_outside_the_allowlist_is_refused() {
    let app = spawn_app().await;
    // The test server allows loopback and the test daemons' sockets only.
    let body = json!({"name": "elsewhere", "socket_path": "/var/lib/lxd/unix.socket"});
    let message = expect_error(app.post("/api/v1/hosts", &body).await, 400, "validation_failed").await;
    assert!(message.contains("host_allowlist"), "{message}");
    let b = &env().hosts[1];
    let body = json!({"name": "local-b", "socket_path": b.socket.to_str().unwrap()});
    let local: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    assert_eq!(local["transport"], "unix");
    assert_eq!(local["status"]["online"], true, "{local:#}");
}

#[tokio::test]
async fn a_host_that_is_gone_is_forgotten_with_its_instance_rows() {
    let b = &env().hosts[1];
    let cleanup = LxdCleanup::default();
    let on_b = On::daemon(&b.socket);
    let app = spawn_app().await;
    cleanup.trust(&on_b, &app);
    let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], b.url.port().unwrap()))).await;
    let host = app.register_host_at("doomed", &relay.url(), 1).await;
    let cc = app.cloud_config("Web", "Doomed", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let (kept_name, deleting_name) = (unique_name("kept").to_string(), unique_name("deleting").to_string());
    let kept = app.deployment(&kept_name, &[&cc]).await;
    let deleting = app.deployment(&deleting_name, &[&cc]).await;
    for (id, count) in [(&kept, 2), (&deleting, 1)] {
        cleanup.deployment(&on_b, id);
        let deploy = json!({"cloud_configs": [{"cloud_config_id": cc, "count": count, "hosts": [host]}]});
        let done = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
        assert_eq!(done["state"], "succeeded", "{done:#}");
    }

    // A host that answers is never forgotten.
    let forget = format!("/api/v1/hosts/{host}/forget");
    expect_error(app.post(&forget, &json!({"gone": true})).await, 409, "host_online").await;

    // It stops answering; a deletion waits on it.
    relay.cut();
    app.fresh_cache().await;
    let job: Value = expect_json(app.delete(&format!("/api/v1/deployments/{deleting}")).await, 202).await;
    assert_eq!(app.follow_job(&job).await.0["state"], "failed");
    assert_eq!(detail(&app, &kept).await["instances"]["unknown"], 2);

    // Just gone: not without the operator's word.
    let message = expect_error(app.post(&forget, &json!({})).await, 409, "host_recently_seen").await;
    assert!(message.contains("\"gone\": true"), "{message}");
    let forgotten: Value = expect_json(app.post(&forget, &json!({"gone": true})).await, 200).await;
    assert_eq!(forgotten["name"], "doomed");
    let closed: Vec<&str> =
        forgotten["instances"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(closed.len(), 3, "{forgotten:#}");
    assert_eq!(forgotten["deployments_removed"], json!([{"id": deleting, "name": deleting_name}]));

    // The host, its rows and the deployment that only waited on it are gone; the other one counts none.
    expect_error(app.get(&format!("/api/v1/hosts/{host}")).await, 404, "host_not_found").await;
    expect_error(app.get(&format!("/api/v1/deployments/{deleting}")).await, 404, "deployment_not_found")
        .await;
    let counts = detail(&app, &kept).await["instances"].clone();
    assert_eq!((counts["total"].as_u64(), counts["unknown"].as_u64()), (Some(0), Some(0)), "{counts}");

    // Each closed row is in the audit log, next to the request itself.
    let audit: Vec<Value> = app.list("/api/v1/audit?limit=20").await;
    let forgets: Vec<&Value> = audit.iter().filter(|e| e["action"] == "forget_host").collect();
    for name in &closed {
        assert!(
            forgets.iter().any(|e| e["target"].as_str().unwrap().contains(name) && e["outcome"] == "success"),
            "{name} not audited: {forgets:#?}"
        );
    }
    assert!(forgets.iter().any(|e| e["target"].as_str().unwrap().starts_with("host doomed")), "{forgets:#?}");
    let refusals = forgets.iter().filter(|e| e["outcome"] == "failure").count();
    assert_eq!(refusals, 2, "the two refusals are audited too");

    // Forgetting leaves the containers as they are (the daemon was only cut off).
    let admin = b.admin();
    for name in closed {
        let name = lxd::InstanceName::parse(name).unwrap();
        assert!(admin.instance_opt(&name).await.unwrap().is_some(), "{name} is still there");
    }
}
