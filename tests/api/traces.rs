//! Traces: with `MOSAIC_LOG_FORMAT=json`, the log line of an LXD error names its job, deployment,
//! instance and host (the job's and the item's spans).

use std::process::Stdio;
use std::time::Duration;

use mosaic_testkit::{create_database, env, eventually, expect_json};
use serde_json::{Value, json};

/// The `mosaic` binary next to this test binary (built by `cargo build -p mosaic-api --bin mosaic`).
fn mosaic_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join("mosaic");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p mosaic-api --bin mosaic` first",
        path.display()
    );
    path
}

#[tokio::test]
async fn a_jobs_lxd_error_is_logged_in_json_with_its_job_and_item() {
    let (url, database) = create_database().await;
    let token = "mosaic_traces_0123456789abcdef0123456789";
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data_dir = std::env::temp_dir().join(format!("mosaic-traces-{database}"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log_path = data_dir.join("mosaic.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = tokio::process::Command::new(mosaic_binary())
        .env("MOSAIC_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOSAIC_PHONE_HOME_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_METRICS_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_DATABASE_URL", &url)
        .env("MOSAIC_DATA_DIR", &data_dir)
        .env("MOSAIC_ADMIN_TOKEN", token)
        .env("MOSAIC_LOG_FORMAT", "json")
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(log))
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = mosaic_testkit::http();
    eventually(Duration::from_secs(30), "the server to start", || async {
        http.get(format!("{base}/api/health")).send().await.ok().filter(|r| r.status() == 200).map(drop)
    })
    .await;
    let post =
        |path: &str, body: Value| http.post(format!("{base}{path}")).bearer_auth(token).json(&body).send();

    // A cloud-config whose config LXD refuses: the deploy is accepted, its create fails in LXD.
    let host = &env().hosts[0];
    let body = json!({"name": "lxd-a", "url": host.url.as_str(), "fingerprint": host.fingerprint.to_hex(),
        "trust_password": env().trust_password});
    let created: Value = expect_json(post("/api/v1/hosts", body).await.unwrap(), 201).await;
    let host_id = created["id"].as_str().unwrap().to_owned();
    let cc = json!({"namespace": "Traces", "name": "Refused", "image": env().image_busybox,
        "user_data": "#cloud-config\nruncmd: []\n", "config": {"limits.memory": "plenty"}});
    let cc: Value = expect_json(post("/api/v1/cloud-configs", cc).await.unwrap(), 201).await;
    let deployment = json!({"name": "Traced", "cloud_configs": [{"cloud_config_id": cc["id"]}]});
    let deployment: Value = expect_json(post("/api/v1/deployments", deployment).await.unwrap(), 201).await;
    let id = deployment["id"].as_str().unwrap().to_owned();
    let deploy = json!({"cloud_configs": [{"cloud_config_id": cc["id"], "count": 1, "hosts": [host_id]}]});
    let job: Value =
        expect_json(post(&format!("/api/v1/deployments/{id}/deploy"), deploy).await.unwrap(), 202).await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let finished: Value = eventually(Duration::from_secs(120), "the job to finish", || async {
        let j: Value = http
            .get(format!("{base}/api/v1/jobs/{job_id}"))
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        j["finished_at"].is_string().then_some(j)
    })
    .await;
    assert_eq!(finished["state"], "failed", "{finished:#}");
    let item = &finished["items"][0];
    let lxd_error = item["error"].as_str().unwrap().to_owned();
    assert!(lxd_error.contains("Invalid value: plenty"), "LXD's own words: {item}");

    // The log: one JSON object per line; the warning for the item's LXD error carries the spans.
    let lines = eventually(Duration::from_secs(10), "the item's failure in the log", || async {
        let text = std::fs::read_to_string(&log_path).ok()?;
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        lines
            .iter()
            .any(|l| {
                l["level"] == "WARN"
                    && l["fields"]["error"].as_str().is_some_and(|e| e.contains("Invalid value: plenty"))
            })
            .then_some(lines)
    })
    .await;
    let line = lines
        .iter()
        .find(|l| {
            l["level"] == "WARN"
                && l["fields"]["error"].as_str().is_some_and(|e| e.contains("Invalid value: plenty"))
        })
        .unwrap();
    let item_span = &line["span"];
    assert_eq!(item_span["name"], "run_item", "{line}");
    assert_eq!(item_span["job"], job_id.as_str(), "{line}");
    assert_eq!(item_span["deployment"], "Traced", "{line}");
    assert_eq!(item_span["instance"], item["instance_id"], "{line}");
    assert_eq!(item_span["host"], "lxd-a", "{line}");
    // The job's span encloses it, with the job's kind and deployment.
    let job_span = line["spans"].as_array().unwrap().iter().find(|s| s["name"] == "execute").unwrap();
    assert_eq!(job_span["job"], job_id.as_str(), "{line}");
    assert_eq!(job_span["kind"], "deploy", "{line}");
    assert_eq!(job_span["deployment"], "Traced", "{line}");

    server.kill().await.unwrap();
    for host in &env().hosts {
        let fingerprint = lxd::Identity::from_pem(
            &std::fs::read_to_string(data_dir.join("client.crt")).unwrap(),
            &std::fs::read_to_string(data_dir.join("client.key")).unwrap(),
        )
        .unwrap()
        .fingerprint();
        match host.admin().delete_certificate(&fingerprint).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => panic!("cleanup: {e}"),
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
