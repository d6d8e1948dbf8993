//! Faults: a host that stops answering during a deploy or a delete.

use std::net::SocketAddr;
use std::time::Duration;

use lxd::InstanceFilter;
use mosaic_testkit::{Relay, env, eventually, expect_json, spawn_app};
use serde_json::{Value, json};

fn address(host: usize) -> SocketAddr {
    let url = &env().hosts[host].url;
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap()
}

async fn on_host(host: usize, deployment: &str) -> Vec<String> {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    env().hosts[host].admin().instances(Some(&filter)).await.unwrap().into_iter().map(|i| i.name).collect()
}

#[tokio::test]
async fn a_host_that_stops_answering_mid_deploy_fails_its_instances_alone() {
    let app = spawn_app().await;
    let relay = Relay::start(address(1)).await;
    let [a, _] = app.register_hosts().await;
    let b = app.register_host_at("lxd-b-relayed", &relay.url(), 1).await;
    let web = app.cloud_config("Web", "Fault", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Fault", &[&web]).await;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": web, "count": 4, "hosts": [a, b]}]});

    // Accepted while B answers; B stops answering before its containers are made.
    let job: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    relay.cut();
    let (done, _) = app.follow_job(&job).await;
    assert_eq!(done["state"], "failed", "{done:#}");
    assert_eq!(done["failed"], 2);
    for item in done["items"].as_array().unwrap() {
        if item["host_name"] == "lxd-b-relayed" {
            assert_eq!(item["step"], "failed");
            assert!(item["error"].as_str().unwrap().contains("cannot reach LXD"), "{item}");
        } else {
            assert_eq!(item["step"], "done", "{item}");
        }
    }
    // Mosaic keeps track of every instance, including the failed ones.
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["instances"]["total"], 4);
    assert_eq!(detail["instances"]["unknown"], 2, "{detail:#}");
    assert_eq!(on_host(0, &id).await.len(), 2);
    assert!(detail["orphaned"].as_array().unwrap().is_empty());
    // The job may have reached B just before the cut (a create LXD carried out whose answer never
    // came back): whatever is on B is one of the two instances Mosaic recorded there, none else.
    let recorded_on_b: Vec<String> = detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["host_name"] == "lxd-b-relayed")
        .flat_map(|h| {
            h["instances"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(recorded_on_b.len(), 2, "{detail:#}");
    for name in on_host(1, &id).await {
        assert!(recorded_on_b.contains(&name), "{name} on B is not one Mosaic knows: {detail:#}");
    }

    // Once B is back, deleting the deployment removes everything on both hosts.
    relay.restore().await;
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    assert!(on_host(0, &id).await.is_empty());
    assert!(on_host(1, &id).await.is_empty());
    app.untrust().await;
}

#[tokio::test]
async fn deleting_while_a_host_is_down_waits_and_completes_when_it_is_back() {
    let app = spawn_app().await;
    let relay = Relay::start(address(1)).await;
    let [a, _] = app.register_hosts().await;
    let b = app.register_host_at("lxd-b-relayed", &relay.url(), 1).await;
    let web = app.cloud_config("Web", "Down", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Down", &[&web]).await;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": web, "count": 2, "hosts": [a, b]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await["state"],
        "succeeded"
    );

    relay.cut();
    let deleted = app.delete_deployment(&id).await;
    assert_eq!(deleted["state"], "failed", "{deleted:#}");
    // The deployment stays, `deleting`, listing what is pending.
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["status"], "deleting");
    let pending: Vec<&str> = detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["instances"].as_array().unwrap())
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["down-web-2"]);
    assert!(on_host(0, &id).await.is_empty(), "what could be deleted was deleted");
    assert_eq!(on_host(1, &id).await, ["down-web-2"]);
    // No other work is accepted meanwhile.
    assert_eq!(app.post(&format!("/api/v1/deployments/{id}/start"), &json!({})).await.status(), 409);

    // The host comes back: the deletion completes by itself.
    relay.restore().await;
    eventually(Duration::from_secs(60), "the deletion to complete", || async {
        (app.get(&format!("/api/v1/deployments/{id}")).await.status() == 404).then_some(())
    })
    .await;
    assert!(on_host(1, &id).await.is_empty(), "nothing leaked on the host that was down");
    use diesel::prelude::*;
    let mut conn = app.state.pool.get().unwrap();
    let left: i64 = mosaic_db::schema::instances::table.count().get_result(&mut conn).unwrap();
    assert_eq!(left, 0, "nothing leaked in the database");
    app.untrust().await;
}
