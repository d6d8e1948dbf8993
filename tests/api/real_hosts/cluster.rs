//! The test cluster (m1, m2) as one Mosaic host: members, spreading over them, and m2 going away
//! and coming back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lxd::MemberStatus;
use mosaic_testkit::{
    TestApp, cluster, cluster_exclusive, eventually, expect_error, expect_json, spawn_app, unique_name,
};
use serde_json::{Value, json};

use super::{LxdCleanup, On, detail, instances};

/// `lxc list -c nL` on the cluster: instance name → member.
async fn lxc_locations(prefix: &str) -> BTreeMap<String, String> {
    let out = tokio::process::Command::new("lxc")
        .args(["list", "--format", "csv", "-c", "nL"])
        .env("LXD_DIR", cluster().sockets[0].parent().unwrap())
        .env("LXD_CONF", "/var/lib/mosaic-testenv/lxc-cli")
        .output()
        .await
        .expect("lxc");
    assert!(out.status.success(), "lxc list: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(','))
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, member)| (name.to_owned(), member.to_owned()))
        .collect()
}

/// What the API says: instance name → (location, status).
async fn api_view(app: &TestApp, id: &str) -> BTreeMap<String, (String, String)> {
    instances(&detail(app, id).await)
        .into_iter()
        .map(|i| {
            let name = i["name"].as_str().unwrap().to_owned();
            let location = i["location"].as_str().unwrap_or("").to_owned();
            (name, (location, i["status"].as_str().unwrap().to_owned()))
        })
        .collect()
}

/// Takes member m2 of the test cluster down (`lxd shutdown`) and brings it back when told or
/// when dropped (also when the test fails), the way `scripts/testenv/lxd.sh` starts it, then waits
/// until the cluster sees it online.
struct MemberDown {
    dir: PathBuf,
    up: bool,
}

impl MemberDown {
    async fn stop() -> MemberDown {
        let dir = cluster().sockets[1].parent().unwrap().to_owned();
        let status = tokio::process::Command::new("lxd")
            .arg("shutdown")
            .env("LXD_DIR", &dir)
            .status()
            .await
            .expect("lxd shutdown");
        assert!(status.success(), "lxd shutdown of m2 failed");
        MemberDown { dir, up: false }
    }

    async fn start(&mut self) {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || start_member(&dir)).await.unwrap();
        self.up = true;
        eventually(Duration::from_secs(90), "m2 to be online again", || async {
            let members = cluster().admin().cluster_members().await.ok()?;
            members.iter().all(|m| m.status == MemberStatus::Online).then_some(())
        })
        .await;
    }
}

impl Drop for MemberDown {
    fn drop(&mut self) {
        if !self.up {
            let dir = self.dir.clone();
            super::block_on_cleanup(async move {
                tokio::task::spawn_blocking(move || start_member(&dir)).await.unwrap();
                let deadline = std::time::Instant::now() + Duration::from_secs(90);
                while std::time::Instant::now() < deadline {
                    let online = cluster()
                        .admin()
                        .cluster_members()
                        .await
                        .is_ok_and(|members| members.iter().all(|m| m.status == MemberStatus::Online));
                    if online {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                panic!("m2 did not come back online");
            });
        }
    }
}

/// Starts the member's daemon as `scripts/testenv/lxd.sh` does: in a session of its own, outliving
/// this process, its HTTP(S) proxy pointed at a closed loopback port, output to its log; waits
/// until it is ready and records its pid.
fn start_member(dir: &Path) {
    let nowhere = "http://127.0.0.1:9";
    let no_proxy = "127.0.0.1,localhost,::1";
    let log = dir.join("lxd.log");
    let out = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("lxd.out")).unwrap();
    // `--fork`: setsid's child runs the daemon, setsid itself returns at once.
    let started = std::process::Command::new("setsid")
        .args(["--fork", "nohup", "lxd", "--group", "root", "--logfile"])
        .arg(&log)
        .current_dir("/")
        .env("LXD_DIR", dir)
        .envs([
            ("HTTPS_PROXY", nowhere),
            ("HTTP_PROXY", nowhere),
            ("https_proxy", nowhere),
            ("http_proxy", nowhere),
        ])
        .envs([("NO_PROXY", no_proxy), ("no_proxy", no_proxy)])
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .expect("start lxd");
    assert!(started.success(), "setsid lxd failed");
    let ready = std::process::Command::new("lxd")
        .args(["waitready", "--timeout", "60"])
        .env("LXD_DIR", dir)
        .status()
        .expect("lxd waitready");
    assert!(ready.success(), "m2 did not become ready");
    let info = std::process::Command::new("lxc")
        .args(["query", "/1.0"])
        .env("LXD_DIR", dir)
        .env("LXD_CONF", "/var/lib/mosaic-testenv/lxc-cli")
        .output()
        .expect("lxc query");
    let info: Value = serde_json::from_slice(&info.stdout).unwrap_or_default();
    if let Some(pid) = info["environment"]["server_pid"].as_i64() {
        std::fs::write(dir.join("lxd.pid"), format!("{pid}\n")).unwrap();
    }
}

#[tokio::test]
async fn a_cluster_is_one_host_spread_over_its_members_and_rides_out_a_member_going_away() {
    let _exclusive = cluster_exclusive().await;
    let cluster = cluster();
    let cleanup = LxdCleanup::default();
    let on_m1 = On::daemon(&cluster.sockets[0]);
    let app = spawn_app().await;
    cleanup.trust(&on_m1, &app);

    // Registered through m2's address: when m2 goes away, Mosaic must carry on through m1.
    let body = json!({"name": "cluster", "url": cluster.urls[1].as_str(),
                      "fingerprint": cluster.fingerprint.to_hex(), "trust_password": mosaic_testkit::env().trust_password});
    let host: Value = expect_json(app.post("/api/v1/hosts", &body).await, 201).await;
    let id = host["id"].as_str().unwrap().to_owned();
    assert_eq!(host["status"]["clustered"], true, "{host:#}");
    let members: Vec<(&str, &str, &str)> = host["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["url"].as_str().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    let urls: Vec<String> =
        cluster.urls.iter().map(|u| u.as_str().trim_end_matches('/').to_owned()).collect();
    assert_eq!(members, [("m1", urls[0].as_str(), "online"), ("m2", urls[1].as_str(), "online")]);
    // One cluster, one host: registering it again through m1 is refused.
    let again = json!({"name": "cluster-again", "url": cluster.urls[0].as_str(),
                       "fingerprint": cluster.fingerprint.to_hex(), "trust_password": mosaic_testkit::env().trust_password});
    expect_error(app.post("/api/v1/hosts", &again).await, 409, "host_already_registered").await;

    let cc = app
        .cloud_config("Web", "Clustered", &mosaic_testkit::env().image_busybox, "#cloud-config\nruncmd: []\n")
        .await;
    // Container names are cluster-wide: a name of its own, so no other run's containers clash.
    let name = unique_name("clu").to_string();
    let deployment = app.deployment(&name, &[&cc]).await;
    cleanup.deployment(&on_m1, &deployment);
    let prefix = format!("{name}-web-");
    let prefix = prefix.as_str();

    // Spread over both members, and one more on a chosen member.
    let spread =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 4, "hosts": [id]}]});
    let done = app.run_job(&format!("/api/v1/deployments/{deployment}/deploy"), &spread).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let mut members = serde_json::Map::new();
    members.insert(id.clone(), json!(["m2"]));
    let chosen = json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [id],
                                                           "members": members}]});
    let done = app.run_job(&format!("/api/v1/deployments/{deployment}/deploy"), &chosen).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let lxc = lxc_locations(prefix).await;
    let on = |member: &str| lxc.values().filter(|m| *m == member).count();
    assert_eq!((on("m1"), on("m2")), (2, 3), "lxc list -c nL: {lxc:?}");
    assert_eq!(lxc[&format!("{prefix}5")], "m2", "the chosen member");
    app.fresh_cache().await;
    let view = api_view(&app, &deployment).await;
    for (name, member) in &lxc {
        assert_eq!(view[name], (member.clone(), "running".to_owned()), "{view:?}");
    }

    // m2 goes away. Until the cluster calls it offline, and after, its instances are unknown.
    let mut m2 = MemberDown::stop().await;
    let on_m2: Vec<String> = lxc.iter().filter(|(_, m)| *m == "m2").map(|(n, _)| n.clone()).collect();
    eventually(Duration::from_secs(90), "the cluster to call m2 offline", || async {
        let counts = detail(&app, &deployment).await["instances"].clone();
        assert_eq!(counts["missing"], 0, "an offline member's instances are never missing: {counts}");
        let host: Value = expect_json(app.get(&format!("/api/v1/hosts/{id}")).await, 200).await;
        let m2 = host["members"].as_array().unwrap().iter().find(|m| m["name"] == "m2").cloned();
        m2.is_some_and(|m2| m2["status"] == "offline").then_some(())
    })
    .await;
    let host: Value = expect_json(app.get(&format!("/api/v1/hosts/{id}")).await, 200).await;
    assert_eq!(host["status"]["online"], true, "m1 still answers for the cluster: {host:#}");
    let view = api_view(&app, &deployment).await;
    for name in &on_m2 {
        assert_eq!(view[name].1, "unknown", "{view:?}");
    }
    let counts = detail(&app, &deployment).await["instances"].clone();
    assert_eq!(
        (counts["running"].as_u64(), counts["unknown"].as_u64(), counts["missing"].as_u64()),
        (Some(2), Some(3), Some(0))
    );

    // Deploys place only on the live member; asking for m2 is refused.
    let done = app.run_job(&format!("/api/v1/deployments/{deployment}/deploy"), &spread).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let lxc_now = lxc_locations(prefix).await;
    let new: Vec<&String> = lxc_now.keys().filter(|n| !lxc.contains_key(*n)).collect();
    assert_eq!(new.len(), 4);
    assert!(new.iter().all(|n| lxc_now[*n] == "m1"), "{lxc_now:?}");
    expect_error(
        app.post(&format!("/api/v1/deployments/{deployment}/deploy"), &chosen).await,
        503,
        "member_offline",
    )
    .await;

    // Deleting: what lives on m1 goes, m2's instances wait; the deletion completes once m2 is back.
    let job: Value = expect_json(app.delete(&format!("/api/v1/deployments/{deployment}")).await, 202).await;
    let (done, _) = app.follow_job(&job).await;
    assert_eq!(done["state"], "failed", "{done:#}");
    assert_eq!(done["failed"], 3);
    let left = lxc_locations(prefix).await;
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.values().all(|m| m == "m2"));
    m2.start().await;
    eventually(Duration::from_secs(120), "the deletion to complete once m2 is back", || async {
        (app.get(&format!("/api/v1/deployments/{deployment}")).await.status() == 404).then_some(())
    })
    .await;
    assert!(lxc_locations(prefix).await.is_empty());
}
