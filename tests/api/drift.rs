//! What LXD has that Mosaic did not do: containers deleted behind its back (missing), and
//! containers with Mosaic's keys it does not know (orphaned).

use std::time::Duration;

use lxd::{InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, env, eventually, expect_json, remove_instance, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_and_orphaned_containers_are_reported() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let web = app.cloud_config("Web", "Drift", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Drift", &[&web]).await;
    let deploy = json!({"cloud_configs": [{"cloud_config_id": web, "count": 2, "hosts": [a]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");

    let admin = env().hosts[0].admin();
    // Deleted behind Mosaic's back.
    let gone = InstanceName::parse("drift-web-1").unwrap();
    admin.delete_instance(&gone).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    // A container carrying the deployment's key that Mosaic never made.
    let stray = InstanceName::parse("t-drift-stray").unwrap();
    let post = InstancesPost::new(stray.clone(), InstanceSource::image_alias(&env().image_busybox))
        .config("user.mosaic.managed", "true")
        .config("user.mosaic.deployment", &id)
        .config("user.mosaic.instance", uuid::Uuid::new_v4().to_string());
    admin.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();

    // The host cache notices within its interval.
    let detail: Value = eventually(Duration::from_secs(30), "the cache to see the drift", || async {
        let d: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
        (d["instances"]["missing"] == 1 && !d["orphaned"].as_array().unwrap().is_empty()).then_some(d)
    })
    .await;
    let instances = detail["hosts"][0]["instances"].as_array().unwrap();
    let missing = instances.iter().find(|i| i["name"] == "drift-web-1").unwrap();
    assert_eq!(missing["status"], "missing");
    assert_eq!(detail["orphaned"][0]["name"], "t-drift-stray");

    remove_instance(&admin, &stray).await;
    // Deleting copes with the missing one.
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}
