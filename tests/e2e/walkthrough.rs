//! The operator's walkthrough in the browser: sign in, add the hosts (one naming its project),
//! create the cloud-configs and `My_Site`, deploy 2 + 1 across two hosts, start; the instance table
//! (host, location, status), one instance's cloud-init log, one instance stopped and started from
//! its row, what a viewer is offered there; expose the web tier through the load balancer (address
//! and backend states on the page, requests reach both webservers); stop, delete — checking the
//! page, LXD and HAProxy.

use fantoccini::Locator;
use lxd::{InstanceFilter, InstanceName};
use mosaic_testkit::{env, expect_json, frontend_dir, spawn_app};
use mosaic_types::users::CreatedUser;
use serde_json::json;

use super::browser::Browser;

/// The webservers' user-data: its second command prints a marker that only running it makes
/// (`$((6*7))` is 42 once a shell has read it), for the cloud-init log viewer to show; a service
/// serves a page naming its instance on port 8080 (python3's http.server, enabled so it comes back
/// when the instance is restarted), which the walkthrough exposes through Mosaic's load balancer.
const WEB: &str = "#cloud-config
write_files:
  - path: /etc/systemd/system/web.service
    content: |
      [Service]
      ExecStart=/usr/bin/python3 -m http.server --directory /srv/www 8080
      [Install]
      WantedBy=multi-user.target
runcmd:
  - [sh, -c, \"echo web > /var/tmp/role\"]
  - [sh, -c, \"echo mosaic-log-marker-$((6*7))\"]
  - [sh, -c, \"mkdir -p /srv/www && hostname > /srv/www/index.html\"]
  - [systemctl, enable, --now, web.service]
";
/// What that command prints.
const MARKER: &str = "mosaic-log-marker-42";
const DB: &str = "#cloud-config\nruncmd:\n  - [sh, -c, \"echo db > /var/tmp/role\"]\n";

/// Containers in LXD carrying a deployment's key: (name, running).
async fn in_lxd(deployment: &str) -> Vec<(String, bool)> {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    let mut all = Vec::new();
    for host in &env().hosts {
        all.extend(
            host.admin()
                .instances(Some(&filter))
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.name.clone(), i.is_running())),
        );
    }
    all.sort();
    all
}

/// Whether one container (on host a) is running, as LXD says.
async fn running_in_lxd(name: &str) -> bool {
    let name = InstanceName::parse(name).unwrap();
    env().hosts[0].admin().instance(&name).await.unwrap().is_running()
}

/// Waits for the job panel to say the job ended, fails with its words unless it succeeded, and
/// dismisses it.
async fn finish_job(b: &Browser) {
    let panel =
        b.wait("section.job[data-job-state=succeeded], section.job[data-job-state=failed]", 300).await;
    if panel.attr("data-job-state").await.unwrap().as_deref() != Some("succeeded") {
        b.screenshot("failed-job").await;
        panic!("the job failed: {}", panel.text().await.unwrap());
    }
    b.click("section.job button.link").await;
}

#[tokio::test]
async fn the_walkthrough_in_a_browser() {
    assert!(
        frontend_dir().join("index.html").is_file(),
        "the web app is not built: run scripts/build-frontend.sh first"
    );
    let app = spawn_app().await;
    let b = Browser::start().await;
    let base = app.url("");

    // Sign in.
    b.client.goto(&base).await.unwrap();
    b.wait("#token", 30).await;
    b.screenshot("01-sign-in").await;
    b.fill("#token", "not-a-token").await;
    b.click("#sign-in").await;
    b.wait_text(".banner.error", "not valid", 10).await;
    b.fill("#token", &app.token).await;
    b.click("#sign-in").await;
    b.wait_text(".empty", "No deployments yet", 30).await;
    b.screenshot("02-deployments-empty").await;

    // Add both hosts: address → fingerprint shown → confirm with the trust password.
    b.client.find(Locator::LinkText("Hosts")).await.unwrap().click().await.unwrap();
    for host in &env().hosts {
        b.fill("#host-url", host.url.as_str()).await;
        b.click("#read-fingerprint").await;
        b.wait_text("#host-fingerprint", &host.fingerprint.to_hex(), 30).await;
        b.fill("#host-name", &format!("lxd-{}", host.label)).await;
        b.fill("#host-secret", &env().trust_password).await;
        // One names its LXD project; the other leaves it to the server's default.
        if host.label == "b" {
            b.fill("#host-project", "default").await;
        }
        b.click("#register-host").await;
        b.wait_text(&format!("tr[data-host=lxd-{}]", host.label), "online", 30).await;
        b.wait_text(&format!("tr[data-host=lxd-{}] td.project", host.label), "default", 5).await;
        // Standalone daemons: no cluster members.
        b.assert_absent(&format!("tr[data-host=lxd-{}] li[data-member]", host.label)).await;
    }
    b.screenshot("03-hosts").await;

    // Two cloud-configs; a YAML mistake is shown at its line first.
    b.client.find(Locator::LinkText("Cloud-configs")).await.unwrap().click().await.unwrap();
    for (namespace, yaml) in [("Webservers", WEB), ("Mysql", DB)] {
        b.click("#new-cloud-config").await;
        b.fill("#cc-namespace", namespace).await;
        b.fill("#cc-name", "My_Site").await;
        b.fill("#cc-image", &env().image_cloudinit).await;
        if namespace == "Webservers" {
            b.fill("#cc-user-data", "#cloud-config\nruncmd:\n  - [echo\n").await;
            b.click("#save-cloud-config").await;
            b.wait_text("#yaml-error", "Line ", 10).await;
            b.wait(".yaml .gutter .bad-line", 5).await;
            b.screenshot("04-cloud-config-error").await;
        }
        b.fill("#cc-user-data", yaml).await;
        b.click("#save-cloud-config").await;
        b.wait_text("#saved", &format!("{namespace}/My_Site"), 10).await;
    }
    b.screenshot("05-cloud-configs").await;

    // Create My_Site with both.
    b.client.find(Locator::LinkText("Deployments")).await.unwrap().click().await.unwrap();
    b.click("#create-deployment").await;
    b.fill("#deployment-name", "My_Site").await;
    b.fill("#cc-search", "my_site").await;
    b.click("input[data-cloud-config='Webservers/My_Site']").await;
    b.click("input[data-cloud-config='Mysql/My_Site']").await;
    b.click("#create-deployment-submit").await;
    b.wait_text(".card .name", "My_Site", 10).await;
    b.click(".card").await;
    b.wait_text("#deployment-name", "My_Site", 10).await;
    let deployment = b.client.current_url().await.unwrap().path().rsplit('/').next().unwrap().to_owned();

    // Deploy 2 webservers on A and 1 database on B.
    b.click("#deploy").await;
    let web = "fieldset[data-cloud-config='Webservers/My_Site']";
    let db = "fieldset[data-cloud-config='Mysql/My_Site']";
    b.fill(&format!("{web} input.count"), "2").await;
    b.click(&format!("{web} input[data-host=lxd-a]")).await;
    b.fill(&format!("{db} input.count"), "1").await;
    b.click(&format!("{db} input[data-host=lxd-b]")).await;
    b.wait(&format!("{web} input[data-profile=default]"), 10).await;
    b.screenshot("06-deploy-dialog").await;
    b.click("#deploy-submit").await;
    b.wait("section.job .bar", 10).await;
    finish_job(&b).await;
    let names: Vec<String> = in_lxd(&deployment).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["my-site-mysql-1", "my-site-webservers-1", "my-site-webservers-2"]);

    // Start: every container running, with memory and readiness shown.
    b.click("#start").await;
    b.click("#confirm").await;
    finish_job(&b).await;
    for name in ["my-site-webservers-1", "my-site-webservers-2", "my-site-mysql-1"] {
        b.wait_text(&format!("tr[data-instance={name}] td.status"), "running", 30).await;
        b.wait_text(&format!("tr[data-instance={name}] td.readiness"), "ready", 30).await;
        // In human units, once the next poll of the hosts brings it (the page refreshes itself).
        b.wait_text(&format!("tr[data-instance={name}] td.memory"), "iB", 30).await;
    }
    b.wait(".page-head .badge.service[data-state=serving]", 30).await;
    assert!(in_lxd(&deployment).await.iter().all(|(_, running)| *running));
    b.screenshot("07-deployment-running").await;

    // The instance table: every instance of the deployment (from the paged instance list) with
    // its host; standalone daemons have no cluster member to name.
    let rows = b.client.find_all(Locator::Css("#instances tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 3, "one row per instance");
    for (name, host) in
        [("my-site-webservers-1", "lxd-a"), ("my-site-webservers-2", "lxd-a"), ("my-site-mysql-1", "lxd-b")]
    {
        b.wait_text(&format!("tr[data-instance={name}] td.host"), host, 5).await;
        let location =
            b.wait(&format!("tr[data-instance={name}] td.location"), 5).await.text().await.unwrap();
        assert_eq!(location, "—", "{name} is on a standalone daemon");
        // Running: stop and restart offered, start not.
        b.wait(&format!("tr[data-instance={name}] button[data-action=restart]"), 5).await;
        b.assert_absent(&format!("tr[data-instance={name}] button[data-action=start]")).await;
    }

    // The cloud-init log of one webserver: what its runcmd printed.
    b.click("tr[data-instance=my-site-webservers-1] button.show-log").await;
    b.wait_text("#cloud-init-log", MARKER, 30).await;
    b.wait_text("#cloud-init-log-extent", "all of it", 5).await;
    b.screenshot("07a-cloud-init-log").await;
    b.click(".modal .modal-head button.link").await;
    b.wait_gone("#cloud-init-log", 5).await;

    // One instance stopped from its row: a job followed to its end, the row (and only it) says
    // stopped, and LXD agrees; then started again the same way.
    let row = "tr[data-instance=my-site-webservers-2]";
    b.click(&format!("{row} button[data-action=stop]")).await;
    b.wait_text("section.job .job-head strong", "stop", 10).await;
    b.wait_text("section.job .items li", "my-site-webservers-2", 30).await;
    finish_job(&b).await;
    b.wait_text(&format!("{row} td.status"), "stopped", 30).await;
    b.wait(&format!("{row} button[data-action=start]"), 5).await;
    b.assert_absent(&format!("{row} button[data-action=restart]")).await;
    b.wait_text("tr[data-instance=my-site-webservers-1] td.status", "running", 5).await;
    assert!(!running_in_lxd("my-site-webservers-2").await);
    assert!(running_in_lxd("my-site-webservers-1").await);
    b.screenshot("07b-instance-stopped").await;
    b.click(&format!("{row} button[data-action=start]")).await;
    finish_job(&b).await;
    b.wait_text(&format!("{row} td.status"), "running", 30).await;
    assert!(running_in_lxd("my-site-webservers-2").await);

    // A viewer sees the same table and may read a log, but is offered no action.
    let viewer: CreatedUser =
        expect_json(app.post("/api/v1/users", &json!({ "name": "watcher", "role": "viewer" })).await, 201)
            .await;
    let page = b.client.current_url().await.unwrap();
    b.click("#sign-out").await;
    b.fill("#token", &viewer.token.secret).await;
    b.click("#sign-in").await;
    b.wait_text("#whoami", "watcher · viewer", 30).await;
    b.client.goto(page.as_str()).await.unwrap();
    b.wait_text(&format!("{row} td.status"), "running", 30).await;
    b.wait(&format!("{row} button.show-log"), 5).await;
    b.assert_absent("button.instance-action").await;
    b.click("#sign-out").await;
    b.fill("#token", &app.token).await;
    b.click("#sign-in").await;
    b.wait_text("#whoami", "admin · admin", 30).await;
    b.client.goto(page.as_str()).await.unwrap();
    b.wait(&format!("{row} button[data-action=restart]"), 30).await;

    // Expose the web tier's port 8080 through the load balancer: the page shows the address and
    // each backend's state; both webservers go UP and requests to the address reach them.
    b.wait("#no-ports", 10).await;
    let cloud_configs: serde_json::Value = app.get("/api/v1/cloud-configs").await.json().await.unwrap();
    let web_id = cloud_configs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["namespace"] == "Webservers")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.click("#expose").await;
    b.select("#expose-member", &web_id).await;
    b.fill("#expose-target", "80800").await;
    b.click("#expose-submit").await;
    b.wait_text(".modal .banner.error", "out of range", 10).await;
    b.fill("#expose-target", "8080").await;
    b.fill("#expose-path", "/").await;
    b.click("#expose-submit").await;
    b.wait_text("section.port .frontend-address", "127.0.0.1:", 10).await;
    for name in ["my-site-webservers-1", "my-site-webservers-2"] {
        b.wait_text(&format!("tr[data-backend={name}] td.backend-state"), "UP", 60).await;
    }
    b.wait_text("section.port .frontend-state", "listening", 10).await;
    let address =
        b.client.find(Locator::Css("section.port .frontend-address")).await.unwrap().text().await.unwrap();
    let http =
        reqwest::Client::builder().no_proxy().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    let mut reached = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let response = http.get(format!("http://{address}/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        reached.insert(response.text().await.unwrap().trim().to_owned());
    }
    assert_eq!(reached, ["my-site-webservers-1", "my-site-webservers-2"].map(str::to_owned).into());
    b.client.find(Locator::LinkText("Deployments")).await.unwrap().click().await.unwrap();
    b.wait_text(".card .addresses", &address, 10).await;
    b.wait_text(".card .serving", "3 of 3 running", 10).await;
    b.click(".card").await;
    b.wait_text("section.port .frontend-address", &address, 10).await;
    b.screenshot("07c-deployment-serving").await;

    // Stop.
    b.click("#stop").await;
    b.click("#confirm").await;
    finish_job(&b).await;
    b.wait_text("tr[data-instance=my-site-mysql-1] td.status", "stopped", 30).await;
    b.wait_text("tr[data-backend=my-site-webservers-1] td.backend-state", "stopped", 30).await;
    b.wait_text("section.port .frontend-state", "down", 30).await;
    assert!(in_lxd(&deployment).await.iter().all(|(_, running)| !*running));

    // Delete: the page says it is gone, and so does LXD.
    b.click("#delete").await;
    b.click("#confirm").await;
    b.wait("#deployment-gone", 300).await;
    b.screenshot("08-deployment-deleted").await;
    assert!(in_lxd(&deployment).await.is_empty());

    // A narrow window still shows the overview.
    b.client.set_window_size(420, 800).await.unwrap();
    b.client.find(Locator::LinkText("Deployments")).await.unwrap().click().await.unwrap();
    b.wait_text(".empty", "No deployments yet", 10).await;
    b.screenshot("09-narrow").await;
    app.untrust().await;
}
