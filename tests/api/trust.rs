//! What a hostile or careless user could do with Mosaic, refused: host-handing profiles for
//! non-admins, deleting what instances still use, pages without a content policy.

use lxd::ProfilesPost;
use mosaic_testkit::{TestApp, env, expect_error, expect_json, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

/// Removes a profile from test host A when dropped (also when the test fails).
struct ProfileGuard(String);

impl Drop for ProfileGuard {
    fn drop(&mut self) {
        let name = self.0.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async { env().hosts[0].admin().delete_profile(&name).await })
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("cleanup: cannot delete profile {}: {e}", self.0);
        }
    }
}

async fn operator(app: &TestApp) -> String {
    let created: Value =
        expect_json(app.post("/api/v1/users", &json!({"name": "ops", "role": "operator"})).await, 201).await;
    created["token"]["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_non_admin_cannot_deploy_with_a_profile_that_hands_out_the_host() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let name = mosaic_testkit::unique_name("priv").to_string();
    env().hosts[0]
        .admin()
        .create_profile(&ProfilesPost::new(&name).config("security.privileged", "true"))
        .await
        .unwrap();
    let _guard = ProfileGuard(name.clone());
    let cc = app.cloud_config("Web", "Priv", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Priv", &[&cc]).await;
    let ops = operator(&app).await;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [a], "profiles": ["default", name]}]});
    let refused = app
        .http
        .request(Method::POST, app.url(&format!("/api/v1/deployments/{id}/deploy")))
        .bearer_auth(&ops)
        .json(&deploy)
        .send()
        .await
        .unwrap();
    let message = expect_error(refused, 400, "profile_not_allowed").await;
    assert!(message.contains("security.privileged"), "{message}");
    let jobs: Vec<Value> = app.list(&format!("/api/v1/deployments/{id}/jobs")).await;
    assert!(jobs.is_empty(), "nothing was started");
    app.untrust().await;
}

#[tokio::test]
async fn a_cloud_config_that_instances_still_use_cannot_be_deleted() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Used", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Used", &[&cc]).await;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [a]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");
    // The member is taken out of the deployment while its instance remains.
    let removed = app.delete(&format!("/api/v1/deployments/{id}/cloud-configs/{cc}")).await;
    assert_eq!(removed.status(), 200, "{}", removed.text().await.unwrap());
    let message =
        expect_error(app.delete(&format!("/api/v1/cloud-configs/{cc}")).await, 409, "cloud_config_in_use")
            .await;
    assert!(message.contains("Used"), "{message}");
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    assert_eq!(app.delete(&format!("/api/v1/cloud-configs/{cc}")).await.status(), 204);
    app.untrust().await;
}

#[tokio::test]
async fn the_web_app_is_served_with_a_policy_that_runs_only_its_own_code() {
    let dir = std::env::temp_dir().join(format!("mosaic-app-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = "\n    import init from \"/mosaic_frontend.js\";\n    init();\n  ";
    std::fs::write(
        dir.join("index.html"),
        format!("<html><head><script type=\"module\">{script}</script></head></html>"),
    )
    .unwrap();
    let app = spawn_app_with(|s| {
        mosaic_testkit::quick(s);
        s.frontend_dir = dir.clone();
    })
    .await;
    let page = app.http.get(app.url("/deployments/some/route")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let digest = ring_digest(script);
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains(&format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}'")), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    // The API answers with nosniff too, but the app's policy is for the app's pages.
    let api = app.get("/api/v1/me").await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(api.headers().get("content-security-policy").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn ring_digest(text: &str) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// One instance's readiness, as the deployment's detail shows it.
async fn readiness_of(app: &TestApp, deployment: &str) -> (String, Value) {
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{deployment}")).await, 200).await;
    let instance = detail["hosts"][0]["instances"][0].clone();
    (instance["readiness"].as_str().unwrap_or_default().to_owned(), instance)
}

#[tokio::test]
async fn a_guest_cannot_make_another_deployments_instances_skip_their_readiness_check() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let image = &env().image_cloudinit;

    // Deployment "Liar": its guest removes cloud-init from itself before Mosaic first asks.
    let liar_cc = app.cloud_config("Web", "Liar", image, "#cloud-config\nruncmd: []\n").await;
    let liar = app.deployment("Liar", &[&liar_cc]).await;
    let create = json!({"cloud_configs": [{"cloud_config_id": liar_cc, "count": 1, "hosts": [a]}]});
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{liar}/deploy"), &create).await["state"],
        "succeeded"
    );
    let admin = env().hosts[0].admin();
    let name = lxd::InstanceName::parse("liar-web-1").unwrap();
    admin.start_instance(&name).await.unwrap().wait(mosaic_testkit::OP_TIMEOUT).await.unwrap();
    let removed = admin
        .exec(&name, &lxd::ExecRequest::new(["rm", "-f", "/usr/bin/cloud-init"]), mosaic_testkit::OP_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(removed.exit_code, 0, "{}", removed.stderr);
    admin.stop_instance(&name, None).await.unwrap().wait(mosaic_testkit::OP_TIMEOUT).await.unwrap();
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{liar}/start"), &json!({})).await["state"],
        "succeeded"
    );
    let (readiness, instance) = readiness_of(&app, &liar).await;
    assert_eq!(readiness, "unknown", "the liar's own instance is judged by what it said: {instance:#}");

    // Deployment "Honest", same image on the same host, whose cloud-config fails: Mosaic must
    // still ask its cloud-init, and report the failure.
    let failing = "#cloud-config\nruncmd:\n  - [sh, -c, \"echo broken >&2; exit 3\"]\n";
    let honest_cc = app.cloud_config("Web", "Honest", image, failing).await;
    let honest = app.deployment("Honest", &[&honest_cc]).await;
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": honest_cc, "count": 1, "hosts": [a]}]});
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{honest}/deploy"), &deploy).await["state"],
        "succeeded"
    );
    let (readiness, instance) = readiness_of(&app, &honest).await;
    assert_eq!(readiness, "failed", "{instance:#}");
    assert!(instance["readiness_detail"].as_str().unwrap_or_default().contains("scripts"), "{instance:#}");
}

#[tokio::test]
async fn a_user_may_have_only_so_many_event_streams_open() {
    let app = spawn_app_with(|s| {
        mosaic_testkit::quick(s);
        s.max_event_streams_per_user = 2;
    })
    .await;
    let created: Value =
        expect_json(app.post("/api/v1/deployments", &json!({"name": "Streams"})).await, 201).await;
    // A job another server holds, so it stays unfinished and its streams stay open.
    let job = uuid::Uuid::new_v4();
    {
        use diesel::RunQueryDsl;
        let mut conn = app.state.pool.get().unwrap();
        diesel::sql_query(format!(
            "INSERT INTO jobs (id, deployment_id, deployment_name, kind, state, total, created_by, claimed_by, \
             attempts, heartbeat_at) VALUES ('{job}', '{}', 'Streams', 'start', 'running', 0, 'test', 'elsewhere', 1, \
             now() + interval '1 hour')",
            created["id"].as_str().unwrap()
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let path = format!("/api/v1/jobs/{job}/events");
    let open = || app.get(&path);
    let first = open().await;
    let second = open().await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let message = expect_error(open().await, 429, "too_many_streams").await;
    assert!(message.contains("at most 2"), "{message}");
    // Another user is counted on their own.
    let viewer: Value =
        expect_json(app.post("/api/v1/users", &json!({"name": "v", "role": "viewer"})).await, 201).await;
    let theirs = app
        .http
        .get(app.url(&format!("/api/v1/jobs/{job}/events")))
        .bearer_auth(viewer["token"]["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 200);
    // A client that goes away frees its place (noticed at the stream's next keep-alive).
    drop(first);
    let reopened =
        mosaic_testkit::eventually(std::time::Duration::from_secs(20), "a freed place", || async {
            let response = open().await;
            (response.status() == 200).then_some(response)
        })
        .await;
    drop((second, reopened, theirs));
}
