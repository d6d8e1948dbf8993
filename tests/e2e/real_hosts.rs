//! Real hosts in the browser: the test cluster on the hosts page (its project, its members and how
//! each is doing), a deployment on it whose instance table names each instance's member as LXD
//! does, and a cloud-config's image picker (an image server saved, changed and cleared, each
//! change a revision whose diff names the servers).

use std::collections::BTreeMap;

use lxd::InstanceFilter;
use mosaic_testkit::{cluster, cluster_steady, env, expect_json, frontend_dir, spawn_app, unique_name};
use mosaic_types::cloud_configs::{CloudConfig, ImageProtocol, Revision};
use mosaic_types::hosts::Host;
use serde_json::json;

use super::browser::Browser;

/// The containers of a deployment on the test cluster, as LXD lists them: name → member.
async fn locations_in_lxd(deployment: &str) -> BTreeMap<String, String> {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    cluster()
        .admin()
        .instances(Some(&filter))
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.name.clone(), i.location.clone()))
        .collect()
}

#[tokio::test]
async fn clusters_locations_and_image_servers_in_a_browser() {
    assert!(
        frontend_dir().join("index.html").is_file(),
        "the web app is not built: run scripts/build-frontend.sh first"
    );
    // Every member stays up while this runs (another test may take one down otherwise).
    let _steady = cluster_steady().await;
    let cluster = cluster();
    let app = spawn_app().await;
    let body = json!({"name": "cluster", "url": cluster.urls[0].as_str(),
                      "fingerprint": cluster.fingerprint.to_hex(), "trust_password": env().trust_password});
    let host: Host = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    assert_eq!(host.members.len(), 2, "{host:?}");

    // Two busybox instances placed by Mosaic over the members (container names are cluster-wide:
    // a deployment name of its own).
    let cc = app.cloud_config("Web", "Clustered", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let name = unique_name("e2e-clu").to_string();
    let deployment = app.deployment(&name, &[&cc]).await;
    let spread =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 2, "hosts": [host.id]}]});
    let done = app.run_job(&format!("/api/v1/deployments/{deployment}/deploy"), &spread).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let placed = locations_in_lxd(&deployment).await;
    assert_eq!(placed.len(), 2, "{placed:?}");

    let b = Browser::start().await;
    b.client.goto(&app.url("")).await.unwrap();
    b.fill("#token", &app.token).await;
    b.click("#sign-in").await;
    b.wait_text("#whoami", "admin · admin", 30).await;

    // The hosts page: the cluster's project and both members, online, with their addresses.
    b.click_link("Hosts").await;
    let row = "tr[data-host=cluster]";
    b.wait_text(&format!("{row} td.project"), "default", 30).await;
    for (member, url) in cluster.members.iter().zip(&cluster.urls) {
        let li = format!("{row} li[data-member={member}]");
        b.wait_text(&format!("{li} .member-status"), "online", 30).await;
        b.wait_text(&format!("{li} .detail"), url.as_str().trim_end_matches('/'), 5).await;
    }
    b.screenshot("h01-cluster-members").await;

    // The deployment page: each instance on the member LXD says, running.
    b.client.goto(&app.url(&format!("/deployments/{deployment}"))).await.unwrap();
    for (instance, member) in &placed {
        let row = format!("tr[data-instance={instance}]");
        b.wait_text(&format!("{row} td.status"), "running", 30).await;
        b.wait_text(&format!("{row} td.host"), "cluster", 5).await;
        let shown = b.wait(&format!("{row} td.location"), 5).await.text().await.unwrap();
        assert_eq!(&shown, member, "{instance}: the table says {shown}, LXD says {member}");
    }
    b.screenshot("h02-instance-locations").await;

    // The image picker: a cloud-config whose image comes from an image server.
    b.click_link("Cloud-configs").await;
    b.click("#new-cloud-config").await;
    b.fill("#cc-namespace", "Images").await;
    b.fill("#cc-name", "Remote").await;
    b.fill("#cc-image", "debian/12").await;
    b.select("#cc-image-source", "server").await;
    // A mistake in the address is caught before anything is sent.
    b.fill("#cc-image-server-url", "http://images.example").await;
    b.click("#save-cloud-config").await;
    b.wait_text(".banner.error", "not an https:// address", 10).await;
    b.fill("#cc-image-server-url", "https://127.0.0.1:18443").await;
    b.select("#cc-image-protocol", "lxd").await;
    b.click("#save-cloud-config").await;
    b.wait_text("#saved", "Images/Remote (revision 1)", 10).await;
    // The editor shows the saved revision's server.
    assert_eq!(b.value("#cc-image-source").await, "server");
    assert_eq!(b.value("#cc-image-server-url").await, "https://127.0.0.1:18443");
    assert_eq!(b.value("#cc-image-protocol").await, "lxd");
    let configs: Vec<CloudConfig> = app.list("/api/v1/cloud-configs").await;
    let saved = configs.iter().find(|c| c.name == "Remote").expect("saved");
    let server = saved.image_server.as_ref().expect("an image server");
    assert_eq!((server.url.as_str(), server.protocol), ("https://127.0.0.1:18443", ImageProtocol::Lxd));

    // Another server: revision 2, and the diff names both.
    b.fill("#cc-image-server-url", "https://127.0.0.1:8080/streams").await;
    b.select("#cc-image-protocol", "simplestreams").await;
    b.click("#save-cloud-config").await;
    b.wait_text("#saved", "(revision 2)", 10).await;
    b.wait_text(".revisions li", "r1", 10).await;
    b.click(".revisions li button.link").await;
    b.wait_text(
        "#diff-image-server",
        "image server: https://127.0.0.1:18443 (lxd) → https://127.0.0.1:8080/streams (simplestreams)",
        10,
    )
    .await;
    b.screenshot("h03-image-server-diff").await;

    // Back to an image on the hosts: revision 3 has none, and says so against revision 2.
    b.select("#cc-image-source", "hosts").await;
    b.wait_gone("#cc-image-server-url", 5).await;
    b.click("#save-cloud-config").await;
    b.wait_text("#saved", "(revision 3)", 10).await;
    let r3: Revision =
        expect_json(app.get(&format!("/api/v1/cloud-configs/{}/revisions/3", saved.id)).await, 200).await;
    assert_eq!(r3.image_server, None);
    let r1: Revision =
        expect_json(app.get(&format!("/api/v1/cloud-configs/{}/revisions/1", saved.id)).await, 200).await;
    assert_eq!(r1.image_server.map(|s| s.url), Some("https://127.0.0.1:18443".into()));
    // The first "diff with r3" button is r2's (newest first after r3 itself).
    b.wait_text(".revisions li", "r2", 10).await;
    b.click(".revisions li button.link").await;
    b.wait_text("#diff-image-server", "https://127.0.0.1:8080/streams (simplestreams) → (on the hosts)", 10)
        .await;
    assert_eq!(b.value("#cc-image-source").await, "hosts");
}
