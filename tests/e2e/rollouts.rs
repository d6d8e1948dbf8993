//! A rollout from the deployment page: "Roll out" on a member with a canary pause, the rollout's
//! phase and old/new/ready counts shown live, resumed from the page to the end, checked in LXD.

use lxd::InstanceFilter;
use mosaic_testkit::{env, frontend_dir, spawn_app, unique_name};
use serde_json::json;

use super::browser::Browser;

/// The revision label of each of the deployment's containers on both hosts.
async fn revisions_in_lxd(deployment: &str) -> Vec<String> {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    let mut all = Vec::new();
    for host in &env().hosts {
        for c in host.admin().instances(Some(&filter)).await.unwrap() {
            all.push(c.config.get("user.mosaic.revision").cloned().unwrap_or_default());
        }
    }
    all.sort();
    all
}

#[tokio::test]
async fn a_rollout_with_a_canary_from_the_deployment_page() {
    assert!(
        frontend_dir().join("index.html").is_file(),
        "the web app is not built: run scripts/build-frontend.sh first"
    );
    let app = spawn_app().await;
    let hosts = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Canary", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment(unique_name("e2e-roll").as_ref(), &[&cc]).await;
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 2, "hosts": hosts}]});
    let done = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    app.revise(&cc, "#cloud-config\nruncmd: [[true]]\n").await;

    let b = Browser::start().await;
    b.client.goto(&app.url("")).await.unwrap();
    b.fill("#token", &app.token).await;
    b.click("#sign-in").await;
    b.wait_text("#whoami", "admin · admin", 30).await;
    b.client.goto(&app.url(&format!("/deployments/{id}"))).await.unwrap();
    let member = "li[data-cloud-config='Web/Canary']";
    b.wait_text(member, "revision 2 available", 30).await;
    b.click(&format!("{member} button.roll-out")).await;
    // The latest revision is offered; pause after the canary.
    assert_eq!(b.value("form.rollout input.revision").await, "2");
    b.click("form.rollout input.canary").await;
    b.click("#rollout-submit").await;
    b.wait_text("#rollout .phase", "paused", 120).await;
    b.wait_text("#rollout-counts", "old 2 · new 1 · ready 1 of 2", 10).await;
    b.screenshot("r01-rollout-paused").await;
    assert_eq!(revisions_in_lxd(&id).await, ["1", "1", "2"]);
    b.click("#rollout-resume").await;
    b.wait_text("#rollout .phase", "succeeded", 120).await;
    b.wait_text("#rollout-counts", "old 0 · new 2 · ready 2 of 2", 10).await;
    // Pinned to revision 2: no newer revision is offered any more.
    b.wait_gone(&format!("{member} span.muted"), 10).await;
    b.wait_text(member, "Web/Canary — revision 2", 5).await;
    b.assert_absent("#rollout-resume").await;
    b.screenshot("r02-rollout-done").await;
    assert_eq!(revisions_in_lxd(&id).await, ["2", "2"]);
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}
