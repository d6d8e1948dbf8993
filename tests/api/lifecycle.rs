//! The deployment lifecycle on the real LXD hosts: the operator's walkthrough, end to end.

use std::collections::HashMap;

use lxd::{ExecRequest, InstanceFilter, InstanceName};
use mosaic_testkit::{OP_TIMEOUT, TestApp, env, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

const WEB: &str = "#cloud-config\nwrite_files:\n  - path: /etc/mosaic-site\n    content: \"web tier\\n\"\nruncmd:\n  - [sh, -c, \"echo webserver > /var/tmp/mosaic-role\"]\n";
const DB: &str = "#cloud-config\nruncmd:\n  - [sh, -c, \"echo database > /var/tmp/mosaic-role\"]\n";
const BROKEN: &str = "#cloud-config\nruncmd:\n  - [sh, -c, \"echo about to fail; exit 3\"]\n";

/// What LXD has for a deployment, on each host: name → running?
async fn in_lxd(deployment: &str) -> [HashMap<String, bool>; 2] {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    let mut out = [HashMap::new(), HashMap::new()];
    for (i, host) in env().hosts.iter().enumerate() {
        for instance in host.admin().instances(Some(&filter)).await.unwrap() {
            out[i].insert(instance.name.clone(), instance.is_running());
        }
    }
    out
}

async fn exec(host: usize, name: &str, command: &[&str]) -> lxd::ExecOutput {
    let name = InstanceName::parse(name).unwrap();
    env().hosts[host]
        .admin()
        .exec(&name, &ExecRequest::new(command.iter().copied()), OP_TIMEOUT)
        .await
        .unwrap()
}

fn instances(detail: &Value) -> Vec<Value> {
    detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["instances"].as_array().unwrap().clone())
        .collect()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await
}

#[tokio::test]
async fn the_walkthrough_deploy_start_stop_start_delete_with_cloud_init() {
    let app = spawn_app().await;
    let [a, b] = app.register_hosts().await;
    let image = &env().image_cloudinit;
    let web = app.cloud_config("Webservers", "My_Site", image, WEB).await;
    let db = app.cloud_config("Mysql", "My_Site", image, DB).await;
    // Not `My_Site`: the browser walkthrough makes that one's containers on the same hosts, and
    // container names come from the deployment's name.
    let id = app.deployment("Api_Site", &[&web, &db]).await;

    // Deploy 2 webservers on A and 1 database on B, with `default` as extra profile.
    let deploy = json!({"cloud_configs": [
        {"cloud_config_id": web, "count": 2, "hosts": [a], "profiles": ["default"]},
        {"cloud_config_id": db, "count": 1, "hosts": [b], "profiles": ["default"]},
    ]});
    let job: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    assert_eq!(job["kind"], "deploy");
    assert_eq!(job["total"], 3);
    let (done, progress) = app.follow_job(&job).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(done["done"], 3);
    assert!(progress >= 1, "the event stream reported progress");
    assert!(done["items"].as_array().unwrap().iter().all(|i| i["step"] == "done" && i["finished"] == true));

    // LXD has exactly these, stopped, carrying Mosaic's keys.
    let [on_a, on_b] = in_lxd(&id).await;
    let mut names_a: Vec<_> = on_a.keys().cloned().collect();
    names_a.sort();
    assert_eq!(names_a, ["api-site-webservers-1", "api-site-webservers-2"]);
    assert_eq!(on_b.keys().cloned().collect::<Vec<_>>(), ["api-site-mysql-1"]);
    assert!(on_a.values().chain(on_b.values()).all(|running| !running));
    let created = env().hosts[0]
        .admin()
        .instance(&InstanceName::parse("api-site-webservers-1").unwrap())
        .await
        .unwrap();
    assert_eq!(created.config["user.user-data"], WEB);
    assert!(created.profiles == ["default"]);
    assert_eq!(created.config["user.mosaic.deployment"], id);

    // Start: every container runs, with memory, and its cloud-config applied.
    let started = app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await;
    assert_eq!(started["state"], "succeeded", "{started:#}");
    let now = detail(&app, &id).await;
    assert_eq!(now["instances"]["running"], 3, "{now:#}");
    // Memory comes with the next poll of the hosts.
    app.fresh_cache().await;
    let now = detail(&app, &id).await;
    assert!(now["memory_bytes"].as_u64().unwrap() > 0);
    assert_eq!(now["readiness"]["ready"], 3, "{now:#}");
    assert_eq!(now["ready"], true);
    assert!(now["data_age_ms"].as_u64().is_some());
    let hosts: Vec<&str> =
        now["hosts"].as_array().unwrap().iter().map(|h| h["host_name"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["lxd-a", "lxd-b"]);
    for instance in instances(&now) {
        assert_eq!(instance["status"], "running");
        assert_eq!(instance["readiness"], "ready");
        assert!(instance["memory_bytes"].as_u64().unwrap() > 0);
        assert!(instance["first_started_at"].is_string() && instance["last_started_at"].is_string());
    }
    // ...checked inside the containers, through LXD.
    assert_eq!(exec(0, "api-site-webservers-2", &["cat", "/etc/mosaic-site"]).await.stdout, "web tier\n");
    assert_eq!(
        exec(0, "api-site-webservers-1", &["cat", "/var/tmp/mosaic-role"]).await.stdout,
        "webserver\n"
    );
    assert_eq!(exec(1, "api-site-mysql-1", &["cat", "/var/tmp/mosaic-role"]).await.stdout, "database\n");

    // The overview agrees.
    let overview: Vec<Value> = app.list("/api/v1/deployments").await;
    assert_eq!(overview[0]["instances"]["running"], 3);

    // Stop, start again, stop: timestamps follow.
    let stopped = app.run_job(&format!("/api/v1/deployments/{id}/stop"), &json!({})).await;
    assert_eq!(stopped["state"], "succeeded", "{stopped:#}");
    let now = detail(&app, &id).await;
    assert_eq!(now["instances"]["stopped"], 3, "{now:#}");
    assert_eq!(now["memory_bytes"], 0);
    assert!(instances(&now).iter().all(|i| i["last_stopped_at"].is_string()));
    let [on_a, on_b] = in_lxd(&id).await;
    assert!(on_a.values().chain(on_b.values()).all(|running| !running));

    // Stopping again is idempotent.
    let again = app.run_job(&format!("/api/v1/deployments/{id}/stop"), &json!({})).await;
    assert_eq!(again["state"], "succeeded");
    let restarted = app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await;
    assert_eq!(restarted["state"], "succeeded");
    let now = detail(&app, &id).await;
    assert_eq!(now["instances"]["running"], 3);
    for i in instances(&now) {
        assert!(i["last_started_at"].as_str() > i["first_started_at"].as_str(), "{i}");
    }

    // Delete: nothing of it is left on any host, nor in Mosaic.
    let deleted = app.delete_deployment(&id).await;
    assert_eq!(deleted["state"], "succeeded", "{deleted:#}");
    let [on_a, on_b] = in_lxd(&id).await;
    assert!(on_a.is_empty() && on_b.is_empty(), "{on_a:?} {on_b:?}");
    expect_error(app.get(&format!("/api/v1/deployments/{id}")).await, 404, "deployment_not_found").await;
    let job: Value =
        expect_json(app.get(&format!("/api/v1/jobs/{}", deleted["id"].as_str().unwrap())).await, 200).await;
    assert_eq!(job["deployment_id"], Value::Null);
    app.untrust().await;
}

#[tokio::test]
async fn a_cloud_config_whose_runcmd_fails_is_reported_failed_with_the_error() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let broken = app.cloud_config("Broken", "Site", &env().image_cloudinit, BROKEN).await;
    let id = app.deployment("Broken_Site", &[&broken]).await;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": broken, "count": 1, "hosts": [a]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await["state"],
        "succeeded"
    );

    let now = detail(&app, &id).await;
    let instance = &instances(&now)[0];
    assert_eq!(instance["readiness"], "failed", "{instance:#}");
    assert!(instance["readiness_detail"].as_str().unwrap().contains("runcmd"), "{instance:#}");
    assert_eq!(now["ready"], false);
    assert_eq!(now["readiness"]["failed"], 1);

    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}
