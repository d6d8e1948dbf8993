//! Host registration against the real LXD hosts of the test environment.

use diesel::prelude::*;
use mosaic_testkit::{TestApp, env, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

/// Removes the test server's certificate from both hosts' trust stores (each test server has its
/// own, generated in its own data directory).
async fn untrust(app: &TestApp) {
    for host in &env().hosts {
        match host.admin().delete_certificate(&app.state.identity.fingerprint()).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => panic!("cleanup: {e}"),
        }
    }
}

fn https_body(name: &str, host: usize) -> Value {
    let h = &env().hosts[host];
    json!({"name": name, "url": h.url.as_str(), "fingerprint": h.fingerprint.to_hex()})
}

#[tokio::test]
async fn register_with_token_and_password_then_list_get_rename_remove() {
    let app = spawn_app().await;
    let [a, b] = &env().hosts;

    // The operator reads the fingerprint first.
    let seen: Value =
        expect_json(app.post("/api/v1/hosts/fingerprint", &json!({"url": a.url.as_str()})).await, 200).await;
    assert_eq!(seen["fingerprint"], a.fingerprint.to_hex());

    // Host A: a trust token made on A.
    let token = a.admin().create_certificate_token("mosaic-api-test").await.unwrap();
    let mut body = https_body("lxd-a", 0);
    body["trust_token"] = json!(token.encoded);
    let host_a: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    // Host B: its trust password.
    let mut body = https_body("lxd-b", 1);
    body["trust_password"] = json!(env().trust_password);
    let host_b: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;

    let hosts: Vec<Value> = app.list("/api/v1/hosts").await;
    untrust(&app).await;
    assert_eq!(hosts.len(), 2);
    for (h, expected) in hosts.iter().zip([a, b]) {
        assert_eq!(h["status"]["online"], true, "{h}");
        assert!(h["status"]["lxd_version"].as_str().unwrap().starts_with('5'));
        assert_eq!(h["status"]["clustered"], false);
        assert_eq!(h["fingerprint"], expected.fingerprint.to_hex());
        assert_eq!(h["transport"], "https");
    }
    assert_eq!(host_a["name"], "lxd-a");
    assert_eq!(host_b["status"]["online"], true);
}

#[tokio::test]
async fn profiles_and_images_of_a_host_are_listed() {
    let app = spawn_app().await;
    let mut body = https_body("lxd-a", 0);
    body["trust_password"] = json!(env().trust_password);
    let host: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    let id = host["id"].as_str().unwrap();
    let profiles: Vec<Value> = expect_json(app.get(&format!("/api/v1/hosts/{id}/profiles")).await, 200).await;
    let images: Vec<Value> = expect_json(app.get(&format!("/api/v1/hosts/{id}/images")).await, 200).await;
    let got: Value = expect_json(app.get(&format!("/api/v1/hosts/{id}")).await, 200).await;
    let renamed: Value =
        expect_json(app.patch(&format!("/api/v1/hosts/{id}"), &json!({"name": "primary"})).await, 200).await;
    untrust(&app).await;

    assert!(profiles.iter().any(|p| p["name"] == "default"));
    for alias in [&env().image_busybox, &env().image_cloudinit] {
        assert!(
            images.iter().any(|i| i["aliases"].as_array().unwrap().iter().any(|a| a == alias.as_str())),
            "{alias}"
        );
    }
    assert_eq!(got["status"]["online"], true);
    assert_eq!(renamed["name"], "primary");

    assert_eq!(app.delete(&format!("/api/v1/hosts/{id}")).await.status(), 204);
    expect_error(app.get(&format!("/api/v1/hosts/{id}")).await, 404, "host_not_found").await;
    let hosts: Vec<Value> = app.list("/api/v1/hosts").await;
    assert!(hosts.is_empty());
}

#[tokio::test]
async fn bad_registrations_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let [a, b] = &env().hosts;

    // Wrong fingerprint (B's, for A's URL): the handshake fails before any secret is sent.
    let mut wrong = json!({"name": "lxd-a", "url": a.url.as_str(), "fingerprint": b.fingerprint.to_hex()});
    wrong["trust_password"] = json!(env().trust_password);
    let message = expect_error(app.post("/api/v1/hosts", &wrong).await, 422, "fingerprint_mismatch").await;
    assert!(message.contains(&a.fingerprint.to_hex()), "{message}");

    // Wrong password: LXD's refusal, in its words.
    let mut body = https_body("lxd-a", 0);
    body["trust_password"] = json!("not-the-password");
    expect_error(app.post("/api/v1/hosts", &body).await, 422, "trust_refused").await;

    // No secret and not trusted yet.
    expect_error(app.post("/api/v1/hosts", &https_body("lxd-a", 0)).await, 422, "not_trusted").await;

    // A token made on B, offered to A.
    let token_b = b.admin().create_certificate_token("mosaic-wrong-host").await.unwrap();
    let mut body = https_body("lxd-a", 0);
    body["trust_token"] = json!(token_b.encoded);
    expect_error(app.post("/api/v1/hosts", &body).await, 422, "trust_token_mismatch").await;

    // Unconfirmed fingerprint, outside the allow-list, nothing listening, malformed input.
    let no_fp = json!({"name": "x", "url": a.url.as_str()});
    expect_error(app.post("/api/v1/hosts", &no_fp).await, 400, "fingerprint_required").await;
    let far = json!({"name": "x", "url": "https://192.0.2.1:8443", "fingerprint": a.fingerprint.to_hex()});
    expect_error(app.post("/api/v1/hosts", &far).await, 400, "validation_failed").await;
    expect_error(
        app.post("/api/v1/hosts/fingerprint", &json!({"url": "https://192.0.2.1:8443"})).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(
        app.post("/api/v1/hosts/fingerprint", &json!({"url": "https://127.0.0.1:1"})).await,
        422,
        "host_unreachable",
    )
    .await;
    for bad in [
        json!({"name": "x"}),
        json!({"name": "x", "url": "http://127.0.0.1:1", "fingerprint": a.fingerprint.to_hex()}),
        json!({"name": "x", "url": "https://127.0.0.1:1/path", "fingerprint": a.fingerprint.to_hex()}),
        json!({"name": "x", "url": a.url.as_str(), "fingerprint": "abc"}),
        json!({"name": "bad name", "socket_path": a.socket.to_str().unwrap()}),
        json!({"name": "x", "socket_path": "relative/path"}),
        json!({"name": "x", "socket_path": "/x", "url": a.url.as_str()}),
    ] {
        expect_error(app.post("/api/v1/hosts", &bad).await, 400, "validation_failed").await;
    }

    let hosts: Vec<Value> = app.list("/api/v1/hosts").await;
    untrust(&app).await;
    assert!(hosts.is_empty(), "{hosts:?}");
}

#[tokio::test]
async fn the_local_daemon_over_its_unix_socket_and_duplicates() {
    let app = spawn_app().await;
    let a = &env().hosts[0];
    let body = json!({"name": "local", "socket_path": a.socket.to_str().unwrap()});
    let local: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    assert_eq!(local["transport"], "unix");
    assert_eq!(local["status"]["online"], true, "{local:#}");
    assert_eq!(local["fingerprint"], Value::Null);

    expect_error(app.post("/api/v1/hosts", &body).await, 409, "host_name_taken").await;
    let again = json!({"name": "local2", "socket_path": a.socket.to_str().unwrap()});
    expect_error(app.post("/api/v1/hosts", &again).await, 409, "host_already_registered").await;
}

#[tokio::test]
async fn a_host_that_does_not_answer_is_shown_offline() {
    let app = spawn_app().await;
    let mut body = https_body("lxd-a", 0);
    body["trust_password"] = json!(env().trust_password);
    let host: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    let mut body = https_body("lxd-b", 1);
    body["trust_password"] = json!(env().trust_password);
    expect_json::<Value>(app.post("/api/v1/hosts", &body).await, 201).await;
    untrust(&app).await;

    // Host A stops answering: its address now leads nowhere.
    let id: uuid::Uuid = host["id"].as_str().unwrap().parse().unwrap();
    let mut conn = app.state.pool.get().unwrap();
    diesel::update(mosaic_db::schema::hosts::table.find(id))
        .set(mosaic_db::schema::hosts::url.eq("https://127.0.0.1:1/"))
        .execute(&mut conn)
        .unwrap();

    // The listing answers from the host cache: wait for a poll that saw the change.
    app.fresh_cache().await;
    let hosts: Vec<Value> = app.list("/api/v1/hosts").await;
    let down = hosts.iter().find(|h| h["name"] == "lxd-a").unwrap();
    let up = hosts.iter().find(|h| h["name"] == "lxd-b").unwrap();
    assert_eq!(down["status"]["online"], false);
    assert!(down["status"]["error"].as_str().unwrap().contains("127.0.0.1:1"), "{down}");
    // B lost Mosaic's trust in cleanup: it answers, but says so.
    assert_eq!(up["status"]["online"], false);
    assert!(up["status"]["error"].as_str().unwrap().contains("no longer trusts"), "{up}");

    // Health answers from the host cache: counts for anyone, names for a signed-in user.
    let health: Value = expect_json(app.http.get(app.url("/api/health")).send().await.unwrap(), 200).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["hosts"], json!({"total": 2, "online": 0}), "A is away and B no longer trusts Mosaic");
    assert!(!health.to_string().contains("lxd-a"), "anonymous health names no host: {health}");
    let detail: Value = expect_json(app.get("/api/v1/health").await, 200).await;
    let a = detail["host_details"].as_array().unwrap().iter().find(|h| h["name"] == "lxd-a").unwrap();
    assert_eq!(a["online"], false);
    assert!(a["error"].as_str().unwrap().contains("127.0.0.1:1"), "{a}");
    expect_error(app.get(&format!("/api/v1/hosts/{id}/profiles")).await, 503, "host_offline").await;
}

#[tokio::test]
async fn hosts_are_listed_a_page_at_a_time_and_searched() {
    let app = spawn_app().await;
    // Rows only (the listing reads the database and the cache, never LXD): sockets that do not
    // exist, so the cache shows them offline.
    {
        let mut conn = app.state.pool.get().unwrap();
        diesel::sql_query(
            "INSERT INTO hosts (id, name, transport, socket_path, project, member_urls, created_at, updated_at) \
             SELECT gen_random_uuid(), n, 'unix', '/nonexistent/' || n || '.socket', 'default', '{}', now(), now() \
             FROM unnest(ARRAY['rack2a', 'rack1b', 'edge', 'rack1a', 'rack3', 'core']) n",
        )
        .execute(&mut conn)
        .unwrap();
    }
    let all = app.check_paging("/api/v1/hosts", "id", 4).await;
    let names: Vec<&str> = all.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["core", "edge", "rack1a", "rack1b", "rack2a", "rack3"]);
    let racks: Vec<Value> = app.list_all("/api/v1/hosts?q=RACK", 2).await;
    let racks: Vec<&str> = racks.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(racks, ["rack1a", "rack1b", "rack2a", "rack3"]);
    assert!(app.list::<Value>("/api/v1/hosts?q=nothing").await.is_empty());
}
