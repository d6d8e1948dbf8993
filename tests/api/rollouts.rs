//! Rolling a member out to another revision: new instances replace old ones while the service
//! serves, a failing revision leaves the old ones serving, a canary pauses, bad input starts
//! nothing, and a server killed mid-rollout is finished by the next without exceeding the surge.
//! Real LXD, real cloud-init, the real load balancer (loopback only, bounded request loops).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lxd::{ExecRequest, InstanceFilter, InstanceName};
use mosaic_testkit::{
    FrontendLoad, OP_TIMEOUT, Relay, TestApp, create_database, env, eventually, expect_error, expect_json,
    spawn_app, spawn_app_in, unique_name,
};
use serde_json::{Value, json};

/// A page on 8080 with `/health`, and the revision written where a test can read it with exec.
fn site(revision: u32) -> String {
    format!(
        "#cloud-config
write_files:
  - path: /srv/www/health
    content: \"ok\\n\"
  - path: /srv/www/revision
    content: \"{revision}\\n\"
runcmd:
  - [sh, -c, \"hostname > /srv/www/index.html\"]
  - [systemd-run, --unit=web, python3, -m, http.server, --directory, /srv/www, \"8080\"]
"
    )
}

/// A revision whose `runcmd` fails: cloud-init reports the error.
const FAILING: &str = "#cloud-config
runcmd:
  - [sh, -c, \"echo rollout-marker-broken >&2; exit 3\"]
";

/// The deployment's containers on both hosts: host index, name, `user.mosaic.revision`.
async fn containers(deployment: &str) -> Vec<(usize, String, String)> {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    let mut all = Vec::new();
    for (i, host) in env().hosts.iter().enumerate() {
        // Asked again if the daemon is slow to answer (a loaded machine): what it lists is the
        // point, not how fast.
        let mut listed = host.admin().instances(Some(&filter)).await;
        for _ in 0..3 {
            if listed.is_ok() {
                break;
            }
            listed = host.admin().instances(Some(&filter)).await;
        }
        for c in listed.unwrap() {
            let revision = c.config.get("user.mosaic.revision").cloned().unwrap_or_default();
            all.push((i, c.name, revision));
        }
    }
    all.sort();
    all
}

/// How many of the deployment's containers existed at one moment. The hosts are listed one
/// after the other, so a container removed from the first and another made on the second in
/// between would both be counted: the first host is listed again after the second, and only the
/// containers it had both times count (each of those existed while the second was listed).
async fn at_once(deployment: &str) -> usize {
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", deployment).unwrap();
    let list = |host: usize| {
        let filter = filter.clone();
        async move {
            let names: std::collections::HashSet<String> = env().hosts[host]
                .admin()
                .instances(Some(&filter))
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.name)
                .collect();
            names
        }
    };
    let before = list(0).await;
    let second = list(1).await;
    let after = list(0).await;
    before.intersection(&after).count() + second.len()
}

/// What a file inside a container says.
async fn read_file(host: usize, name: &str, path: &str) -> String {
    let name = InstanceName::parse(name).unwrap();
    let out =
        env().hosts[host].admin().exec(&name, &ExecRequest::new(["cat", path]), OP_TIMEOUT).await.unwrap();
    out.stdout.trim().to_owned()
}

/// Follows a job by polling (it may pause: a paused rollout's job runs on, so its event stream
/// does not end) until `done` says so.
async fn job_until(app: &TestApp, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(Duration::from_secs(600), what, || async {
        let job: Value = app.get(&format!("/api/v1/jobs/{id}")).await.json().await.ok()?;
        done(&job).then_some(job)
    })
    .await
}

fn finished(job: &Value) -> bool {
    matches!(job["state"].as_str(), Some("succeeded" | "failed"))
}

/// Starts a rollout with a canary pause (`body` names the member and revision) and follows it
/// until it pauses: returns its job ID and the paused job (it must not have ended instead).
async fn paused_at_canary(app: &TestApp, rollouts: &str, mut body: Value) -> (String, Value) {
    body["pause_after_canary"] = json!(true);
    let job: Value = expect_json(app.post(rollouts, &body).await, 202).await;
    let id = job["id"].as_str().unwrap().to_owned();
    let paused = job_until(app, &id, "the rollout to pause after its canary", |j| {
        j["rollout"]["phase"] == "paused" || finished(j)
    })
    .await;
    assert_eq!(paused["rollout"]["phase"], "paused", "{paused:#}");
    (id, paused)
}

#[tokio::test]
async fn a_rollout_replaces_every_instance_while_the_service_serves() {
    let app = spawn_app().await;
    let hosts = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Roll", &env().image_cloudinit, &site(1)).await;
    let name = format!("Ro{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let id = app.deployment(&name, &[&cc]).await;
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 4, "hosts": hosts}]});
    let done = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let check = json!({"type": "http", "path": "/health", "expect_status": 200});
    let port: Value = expect_json(
        app.post(
            &format!("/api/v1/deployments/{id}/ports"),
            &json!({"cloud_config_id": cc, "target_port": 8080, "health_check": check}),
        )
        .await,
        201,
    )
    .await;
    let frontend = port["frontend_address"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(120), "the four instances in rotation", || async {
        let detail: Value = app.get(&format!("/api/v1/deployments/{id}")).await.json().await.ok()?;
        (detail["service"]["counts"]["serving"] == 4).then_some(())
    })
    .await;
    assert_eq!(app.revise(&cc, &site(2)).await, 2);
    let rollouts = format!("/api/v1/deployments/{id}/rollouts");

    // Revision 1 → 2 under load: the latest revision by default, two at a time.
    let load =
        FrontendLoad::start(&frontend, 4, u64::MAX, Duration::from_secs(900), Duration::from_millis(20));
    // The backends as this server's load balancer sees them, each change with its time: what
    // a failed request met.
    let seen_backends = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (seen, watching, url) =
            (seen_backends.clone(), watching.clone(), app.url(&format!("/api/v1/deployments/{id}/ports")));
        let (http, token) = (app.http.clone(), app.token.clone());
        tokio::spawn(async move {
            let mut last = String::new();
            while watching.load(Ordering::SeqCst) {
                if let Ok(r) = http.get(&url).bearer_auth(&token).send().await
                    && let Ok(ports) = r.json::<Value>().await
                {
                    let states: Vec<String> = ports[0]["backends"]
                        .as_array()
                        .map(|b| {
                            b.iter()
                                .map(|b| {
                                    format!(
                                        "{}={}",
                                        b["instance_name"].as_str().unwrap_or("?"),
                                        b["state"].as_str().unwrap_or("?")
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let now = states.join(" ");
                    if now != last {
                        seen.lock().unwrap().push((Instant::now(), now.clone()));
                        last = now;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let marks = Mutex::new(vec![("start", Instant::now())]);
    let started = Instant::now();
    let job = app.run_job(&rollouts, &json!({"cloud_config_id": cc, "max_surge": 2})).await;
    eprintln!("rollout of 4 cloud-init instances took {:?}", started.elapsed());
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["kind"], "rollout");
    let r = &job["rollout"];
    assert_eq!(
        (r["phase"].as_str(), r["from_revision"].as_i64(), r["to_revision"].as_i64()),
        (Some("succeeded"), Some(1), Some(2)),
        "{job:#}"
    );
    assert_eq!(
        (r["old"].as_i64(), r["new"].as_i64(), r["ready"].as_i64()),
        (Some(0), Some(4), Some(4)),
        "{job:#}"
    );
    assert!(r["peak"].as_i64().unwrap() <= 6, "never more than count + surge: {job:#}");
    assert_eq!(job["total"], 8, "4 made, 4 removed: {job:#}");
    let now = containers(&id).await;
    assert_eq!(now.len(), 4, "{now:?}");
    assert!(now.iter().all(|(_, _, rev)| rev == "2"), "none of revision 1 is left: {now:?}");
    assert_eq!(
        now.iter().filter(|(h, ..)| *h == 0).count(),
        2,
        "the spread over both hosts is kept: {now:?}"
    );
    for (host, name, _) in &now {
        assert_eq!(read_file(*host, name, "/srv/www/revision").await, "2", "{name}");
    }
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["cloud_configs"][0]["revision"], 2, "the member is pinned to the new revision");

    // A revision whose runcmd fails: the rollout fails with cloud-init's words, the revision-2
    // instances serve on, no revision-3 container is left.
    assert_eq!(app.revise(&cc, FAILING).await, 3);
    marks.lock().unwrap().push(("failing rollout", Instant::now()));
    let failed = app.run_job(&rollouts, &json!({"cloud_config_id": cc, "revision": 3})).await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert_eq!(failed["rollout"]["phase"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("failed") && error.contains("1 new instance(s) removed"), "{error}");
    let item_error = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["error"].as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        item_error.contains("runcmd")
            || item_error.contains("scripts_user")
            || item_error.contains("cloud-config failed"),
        "cloud-init's words: {item_error}"
    );
    let now = containers(&id).await;
    assert_eq!(now.len(), 4, "{now:?}");
    assert!(now.iter().all(|(_, _, rev)| rev == "2"), "{now:?}");
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["cloud_configs"][0]["revision"], 2, "a failed rollout pins nothing");
    assert_eq!(detail["service"]["counts"]["serving"], 4);

    // Rolling back is a rollout to the previous revision: with a canary pause, then resumed.
    marks.lock().unwrap().push(("canary rollout", Instant::now()));
    let (pid, at_canary) =
        paused_at_canary(&app, &rollouts, json!({"cloud_config_id": cc, "revision": 1})).await;
    assert_eq!(
        (at_canary["rollout"]["old"].as_i64(), at_canary["rollout"]["ready"].as_i64()),
        (Some(4), Some(1))
    );
    let now = containers(&id).await;
    assert_eq!(now.iter().filter(|(_, _, r)| r == "1").count(), 1, "one canary: {now:?}");
    // Nothing else starts while it is paused.
    expect_error(
        app.post(&format!("/api/v1/deployments/{id}/stop"), &json!({})).await,
        409,
        "job_in_progress",
    )
    .await;
    let resumed: Value =
        expect_json(app.post(&format!("{rollouts}/current/resume"), &json!({})).await, 202).await;
    assert_eq!(resumed["id"], pid.as_str());
    marks.lock().unwrap().push(("resumed", Instant::now()));
    let back = job_until(&app, &pid, "the resumed rollout to finish", finished).await;
    marks.lock().unwrap().push(("done", Instant::now()));
    assert_eq!(back["state"], "succeeded", "{back:#}");
    let now = containers(&id).await;
    assert_eq!(now.len(), 4, "{now:?}");
    for (host, name, rev) in &now {
        assert_eq!(rev, "1");
        assert_eq!(read_file(*host, name, "/srv/www/revision").await, "1", "{name}");
    }
    expect_error(
        app.post(&format!("{rollouts}/current/resume"), &json!({})).await,
        409,
        "rollout_not_resumable",
    )
    .await;

    let outcomes = load.finish().await;
    let ok = outcomes.iter().filter(|(_, o)| o.is_none()).count();
    let failures: Vec<(Instant, String)> =
        outcomes.into_iter().filter_map(|(at, o)| o.map(|o| (at, o))).collect();
    watching.store(false, Ordering::SeqCst);
    watcher.await.unwrap();
    if !failures.is_empty() {
        let t0 = marks.lock().unwrap()[0].1;
        let at = |t: Instant| t.saturating_duration_since(t0).as_secs_f64();
        let mut timeline: Vec<(f64, String)> =
            marks.lock().unwrap().iter().map(|(m, t)| (at(*t), format!("== {m}"))).collect();
        timeline
            .extend(seen_backends.lock().unwrap().iter().map(|(t, b)| (at(*t), format!("backends: {b}"))));
        let (first, last) = (failures[0].0, failures[failures.len() - 1].0);
        timeline.push((at(first), format!("first failure: {}", failures[0].1)));
        timeline.push((at(last), "last failure".to_owned()));
        timeline.sort_by(|a, b| a.0.total_cmp(&b.0));
        let lines: Vec<String> = timeline.iter().map(|(t, what)| format!("{t:8.2}s {what}")).collect();
        panic!(
            "{} failed requests through the load balancer ({ok} succeeded):\n{}",
            failures.len(),
            lines.join("\n")
        );
    }
    assert!(ok > 100, "the loop ran: {ok}");
    eprintln!("{ok} requests through the load balancer, none failed, over three rollouts");
    let history: Vec<Value> = app.list(&format!("/api/v1/deployments/{id}/jobs")).await;
    let phases: Vec<&str> = history
        .iter()
        .filter(|j| j["kind"] == "rollout")
        .map(|j| j["rollout"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["succeeded", "failed", "succeeded"], "the rollout history, newest first");
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}

#[tokio::test]
async fn a_rollout_with_bad_input_is_refused_and_one_past_its_deadline_or_aborted_leaves_the_old_instances() {
    let app = spawn_app().await;
    let [a, b] = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Bad", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let other = app.cloud_config("Web", "Other", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let name = unique_name("badroll").to_string();
    let id = app.deployment(&name, &[&cc]).await;
    let rollouts = format!("/api/v1/deployments/{id}/rollouts");
    let refused = |body: Value, status: u16, code: &'static str| {
        let (app, rollouts) = (&app, rollouts.clone());
        async move { expect_error(app.post(&rollouts, &body).await, status, code).await }
    };
    let message = refused(json!({"cloud_config_id": cc, "revision": 7}), 400, "validation_failed").await;
    assert!(message.contains("has no revision 7"), "{message}");
    let message = refused(json!({"cloud_config_id": other}), 400, "validation_failed").await;
    assert!(message.contains(&format!("is not part of deployment {name}")), "{message}");
    let message = refused(
        json!({"cloud_config_id": cc, "max_surge": 0, "max_unavailable": 0}),
        400,
        "validation_failed",
    )
    .await;
    assert!(message.contains("both 0"), "{message}");
    refused(json!({"cloud_config_id": cc, "max_surge": -1}), 400, "validation_failed").await;
    refused(json!({"cloud_config_id": cc, "progress_deadline_seconds": 0}), 400, "validation_failed").await;
    refused(json!({"max_surge": 1}), 400, "invalid_json").await;
    expect_error(
        app.post(
            &format!("/api/v1/deployments/{}/rollouts", uuid::Uuid::new_v4()),
            &json!({"cloud_config_id": cc}),
        )
        .await,
        404,
        "deployment_not_found",
    )
    .await;
    expect_error(
        app.post(&format!("{rollouts}/current/abort"), &json!({})).await,
        409,
        "rollout_not_resumable",
    )
    .await;
    // While another job of the deployment runs.
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 2, "hosts": [a, b]}]});
    let job: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    let message = refused(json!({"cloud_config_id": cc}), 409, "job_in_progress").await;
    assert!(message.contains("deploy job in progress"), "{message}");
    assert_eq!(app.follow_job(&job).await.0["state"], "succeeded");
    // Nothing was started: the deploy is the deployment's only job, no instance at another revision.
    let history: Vec<Value> = app.list(&format!("/api/v1/deployments/{id}/jobs")).await;
    assert_eq!(history.len(), 1, "{history:#?}");
    let now = containers(&id).await;
    assert_eq!(now.len(), 2);
    assert!(now.iter().all(|(_, _, r)| r == "1"));

    // The progress deadline: a new instance must stay ready 5 s, 1 s is allowed. The rollout
    // fails, its new instance is removed, the old ones stay.
    app.revise(&cc, "#cloud-config\nruncmd: [[true]]\n").await;
    let late = app
        .run_job(
            &rollouts,
            &json!({"cloud_config_id": cc, "min_ready_seconds": 5, "progress_deadline_seconds": 1}),
        )
        .await;
    assert_eq!(
        (late["state"].as_str(), late["rollout"]["phase"].as_str()),
        (Some("failed"), Some("failed")),
        "{late:#}"
    );
    assert!(late["error"].as_str().unwrap().contains("progress deadline"), "{late:#}");
    let now = containers(&id).await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().all(|(_, _, r)| r == "1"), "{now:?}");

    // A canary, then abort: the canary goes, the old ones stay, the member stays pinned.
    let (pid, _) = paused_at_canary(&app, &rollouts, json!({"cloud_config_id": cc})).await;
    assert_eq!(containers(&id).await.len(), 3);
    let aborting: Value =
        expect_json(app.post(&format!("{rollouts}/current/abort"), &json!({})).await, 202).await;
    assert_eq!(aborting["id"], pid.as_str());
    let aborted = job_until(&app, &pid, "the abort", finished).await;
    assert_eq!(
        (aborted["state"].as_str(), aborted["rollout"]["phase"].as_str()),
        (Some("failed"), Some("aborted")),
        "{aborted:#}"
    );
    assert!(aborted["error"].as_str().unwrap().contains("aborted; 1 new instance(s) removed"), "{aborted:#}");
    let now = containers(&id).await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().all(|(_, _, r)| r == "1"), "{now:?}");
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["cloud_configs"][0]["revision"], 1);
    expect_error(
        app.post(&format!("{rollouts}/current/resume"), &json!({})).await,
        409,
        "rollout_not_resumable",
    )
    .await;

    // The rollout history is the deployment's jobs of kind `rollout`: the late one and the
    // aborted one, newest first, without the deploy.
    let history: Value =
        expect_json(app.get(&format!("/api/v1/deployments/{id}/jobs?kind=rollout")).await, 200).await;
    let ids: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [pid.as_str(), late["id"].as_str().unwrap()], "{history:#}");
    let all: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}/jobs")).await, 200).await;
    assert!(all["items"].as_array().unwrap().iter().any(|j| j["kind"] == "deploy"), "{all:#}");
    let everywhere: Value =
        expect_json(app.get(&format!("/api/v1/jobs?kind=rollout&deployment_id={id}")).await, 200).await;
    assert_eq!(everywhere["items"], history["items"]);
    expect_error(app.get(&format!("/api/v1/deployments/{id}/jobs?kind=upgrade")).await, 400, "invalid_query")
        .await;
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}

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
async fn a_rollout_whose_server_is_killed_is_finished_by_the_next_without_exceeding_the_surge() {
    let (url, database) = create_database().await;
    let token = "mosaic_killed_rollout_0123456789abcdef01";
    let data_dir = mosaic_testkit::test_data_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut first = tokio::process::Command::new(mosaic_binary())
        .env("MOSAIC_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOSAIC_PHONE_HOME_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_METRICS_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_DATABASE_URL", &url)
        .env("MOSAIC_DATA_DIR", &data_dir)
        .env("MOSAIC_ADMIN_TOKEN", token)
        .env("MOSAIC_JOB_STALE_AFTER_SECS", "4")
        .env("MOSAIC_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = mosaic_testkit::http();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = http.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    eventually(Duration::from_secs(30), "the server to start", || async {
        let r = http.get(format!("{base}/api/health")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    let mut hosts = Vec::new();
    for host in &env().hosts {
        let body = json!({"name": format!("lxd-{}", host.label), "url": host.url.as_str(),
            "fingerprint": host.fingerprint.to_hex(), "trust_password": env().trust_password});
        let created: Value =
            expect_json(call(reqwest::Method::POST, "/api/v1/hosts", Some(body)).await.unwrap(), 201).await;
        hosts.push(created["id"].as_str().unwrap().to_owned());
    }
    let cc = json!({"namespace": "Web", "name": "Killed", "image": env().image_busybox, "user_data": "#cloud-config\nruncmd: []\n"});
    let cc: Value =
        expect_json(call(reqwest::Method::POST, "/api/v1/cloud-configs", Some(cc)).await.unwrap(), 201).await;
    let cc = cc["id"].as_str().unwrap().to_owned();
    let dep =
        json!({"name": unique_name("killroll").to_string(), "cloud_configs": [{"cloud_config_id": cc}]});
    let dep: Value =
        expect_json(call(reqwest::Method::POST, "/api/v1/deployments", Some(dep)).await.unwrap(), 201).await;
    let id = dep["id"].as_str().unwrap().to_owned();
    let get_job = |job: String| {
        let call = &call;
        async move {
            call(reqwest::Method::GET, &format!("/api/v1/jobs/{job}"), None)
                .await
                .ok()?
                .json::<Value>()
                .await
                .ok()
        }
    };
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 4, "hosts": hosts}]});
    let job: Value = expect_json(
        call(reqwest::Method::POST, &format!("/api/v1/deployments/{id}/deploy"), Some(deploy)).await.unwrap(),
        202,
    )
    .await;
    let deploy_id = job["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(300), "the deploy", || async {
        let j = get_job(deploy_id.clone()).await?;
        (j["state"] == "succeeded").then_some(())
    })
    .await;
    let patched = call(
        reqwest::Method::PATCH,
        &format!("/api/v1/cloud-configs/{cc}"),
        Some(json!({"user_data": "#cloud-config\nruncmd: [[true]]\n"})),
    )
    .await
    .unwrap();
    assert_eq!(patched.status(), 200);

    // Watch LXD all along: the most containers of the deployment that ever existed at once.
    let watching = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (watching, peak, id) = (watching.clone(), peak.clone(), id.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(600);
            while watching.load(Ordering::SeqCst) && Instant::now() < deadline {
                peak.fetch_max(at_once(&id).await, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Held two seconds ready before it counts: the kill lands mid-rollout.
    let body = json!({"cloud_config_id": cc, "min_ready_seconds": 2});
    let rollout: Value = expect_json(
        call(reqwest::Method::POST, &format!("/api/v1/deployments/{id}/rollouts"), Some(body)).await.unwrap(),
        202,
    )
    .await;
    let rid = rollout["id"].as_str().unwrap().to_owned();
    let mid = eventually(Duration::from_secs(300), "the rollout to replace one instance", || async {
        let j = get_job(rid.clone()).await?;
        (j["done"].as_i64()? >= 2).then_some(j)
    })
    .await;
    first.kill().await.unwrap();
    assert_eq!(mid["state"], "running", "killed in the middle of the rollout: {mid:#}");

    let next = spawn_app_in(&url, &database, token, data_dir.clone()).await;
    let done = job_until(&next, &rid, "the next server to finish the rollout", finished).await;
    watching.store(false, Ordering::SeqCst);
    watcher.await.unwrap();
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let attempts = {
        let mut conn = next.state.pool.get().unwrap();
        use diesel::prelude::*;
        mosaic_db::schema::jobs::table
            .filter(mosaic_db::schema::jobs::id.eq(rid.parse::<uuid::Uuid>().unwrap()))
            .select(mosaic_db::schema::jobs::attempts)
            .first::<i32>(&mut conn)
            .unwrap()
    };
    assert_eq!(attempts, 2, "claimed once by each server");
    let most = peak.load(Ordering::SeqCst);
    eprintln!("most containers at once: {most} (LXD), {} (the rollout's count)", done["rollout"]["peak"]);
    assert!(most <= 5, "never more than count + surge in LXD: {most}");
    assert!(done["rollout"]["peak"].as_i64().unwrap() <= 5, "{done:#}");
    let now = containers(&id).await;
    let revisions: BTreeMap<String, String> = now.iter().map(|(_, n, r)| (n.clone(), r.clone())).collect();
    assert_eq!(now.len(), 4, "{revisions:?}");
    assert!(now.iter().all(|(_, _, r)| r == "2"), "{revisions:?}");
    let detail: Value = expect_json(next.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert!(detail["orphaned"].as_array().unwrap().is_empty(), "{detail:#}");
    assert_eq!(next.delete_deployment(&id).await["state"], "succeeded");
    next.untrust().await;
}

/// A host that stops answering mid-rollout: its old instance is never counted as gone. The
/// rollout fails (it can neither remove that instance nor replace it there), the instance keeps
/// its row, and its container is still on the host when the host answers again.
#[tokio::test]
async fn an_old_instance_on_a_host_that_stops_answering_mid_rollout_is_not_counted_as_gone() {
    let app = spawn_app().await;
    let target = {
        let url = &env().hosts[1].url;
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap()
    };
    let relay = Relay::start(target).await;
    let [a, _] = app.register_hosts().await;
    let b = app.register_host_at("lxd-b-relayed", &relay.url(), 1).await;
    let cc = app.cloud_config("Web", "Away", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let name = unique_name("awayroll").to_string();
    let id = app.deployment(&name, &[&cc]).await;
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 2, "hosts": [a, b]}]});
    let deployed = app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await;
    assert_eq!(deployed["state"], "succeeded", "{deployed:#}");
    let on_b = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .filter(|i| i["host_id"] == b.as_str())
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let before: Vec<Value> = app.list(&format!("/api/v1/instances?deployment_id={id}")).await;
    let old_on_b = on_b(&before);
    assert_eq!(old_on_b.len(), 1, "{before:#?}");
    app.revise(&cc, "#cloud-config\nruncmd: [[true]]\n").await;

    // Paused after its canary: nothing old has gone yet. Then host B stops answering.
    let rollouts = format!("/api/v1/deployments/{id}/rollouts");
    let (jid, _) = paused_at_canary(&app, &rollouts, json!({"cloud_config_id": cc})).await;
    relay.cut();
    expect_json::<Value>(app.post(&format!("{rollouts}/current/resume"), &json!({})).await, 202).await;
    let done = job_until(&app, &jid, "the rollout to end", finished).await;
    assert_eq!(done["state"], "failed", "the rollout cannot finish without host B: {done:#}");
    assert_eq!(done["rollout"]["phase"], "failed", "{done:#}");
    eprintln!("the rollout failed: {}", done["error"]);

    // B's old instance still has its row, at the old revision, and its container is still there.
    let after: Vec<Value> = app.list(&format!("/api/v1/instances?deployment_id={id}")).await;
    let kept: Vec<&Value> =
        after.iter().filter(|i| old_on_b.contains(&i["name"].as_str().unwrap().to_owned())).collect();
    assert_eq!(kept.len(), 1, "the old instance on B is not counted as gone: {after:#?}");
    assert_eq!(kept[0]["revision"], 1, "{after:#?}");
    relay.restore().await;
    let on_host_b: Vec<String> =
        containers(&id).await.into_iter().filter(|(host, _, _)| *host == 1).map(|(_, n, _)| n).collect();
    assert!(on_host_b.contains(&old_on_b[0]), "{on_host_b:?}");

    // Once B answers, the deployment can be deleted whole.
    let deleted = app.delete_deployment(&id).await;
    assert_eq!(deleted["state"], "succeeded", "{deleted:#}");
    assert!(containers(&id).await.is_empty());
    app.untrust().await;
}
