//! Several server processes over one database: a job is run by exactly one of them, and a job whose
//! server dies is finished by another.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use diesel::prelude::*;
use lxd::InstanceFilter;
use mosaic_db::models::jobs::{Claim, Hold, Job};
use mosaic_testkit::{create_database, env, eventually, expect_json, spawn_app_in, spawn_app_on};
use mosaic_types::jobs::JobStep;
use serde_json::{Value, json};

#[tokio::test]
async fn concurrent_claims_never_hand_out_a_job_twice() {
    let (url, database) = create_database().await;
    let app = spawn_app_on(&url, &database, "mosaic_claims_0123456789abcdef0123456789").await;
    // Twenty queued jobs on twenty empty deployments, written behind the API so no runner wakes.
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for i in 0..20 {
            let created: Value =
                expect_json(app.post("/api/v1/deployments", &json!({"name": format!("D{i}")})).await, 201)
                    .await;
            ids.push(created["id"].as_str().unwrap().to_owned());
        }
        ids
    };
    drop(app);
    let mut conn = PgConnection::establish(&url).unwrap();
    for id in &ids {
        diesel::sql_query(format!(
            "INSERT INTO jobs (id, deployment_id, deployment_name, kind, state, total, created_by) \
             VALUES (gen_random_uuid(), '{id}', 'x', 'start', 'queued', 0, 'test')"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    // Eight claimers race; each job must come out exactly once.
    let claimers: Vec<_> = (0..8)
        .map(|n| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                let mut mine = Vec::new();
                while let Some(claim) = Job::claim(&mut conn, &format!("claimer-{n}"), 3600.0, &[]).unwrap() {
                    mine.push(claim.job);
                }
                mine
            })
        })
        .collect();
    let claimed: Vec<_> = claimers.into_iter().flat_map(|c| c.join().unwrap()).collect();
    let unique: HashSet<_> = claimed.iter().collect();
    assert_eq!(claimed.len(), 20, "every job claimed");
    assert_eq!(unique.len(), 20, "no job claimed twice");
}

#[tokio::test]
async fn step_and_outcome_writes_racing_on_one_job_never_fail_and_count_right() {
    let (url, database) = create_database().await;
    let app = spawn_app_on(&url, &database, "mosaic_races_0123456789abcdef0123456789").await;
    let created: Value =
        expect_json(app.post("/api/v1/deployments", &json!({"name": "Races"})).await, 201).await;
    drop(app);
    let mut conn = PgConnection::establish(&url).unwrap();
    let job = uuid::Uuid::new_v4();
    let items: Vec<uuid::Uuid> = (0..24).map(|_| uuid::Uuid::new_v4()).collect();
    diesel::sql_query(format!(
        "INSERT INTO jobs (id, deployment_id, deployment_name, kind, state, total, created_by, claimed_by, attempts) \
         VALUES ('{job}', '{}', 'x', 'start', 'running', 24, 'test', 'worker', 1)",
        created["id"].as_str().unwrap()
    ))
    .execute(&mut conn)
    .unwrap();
    for (n, item) in items.iter().enumerate() {
        diesel::sql_query(format!(
            "INSERT INTO job_items (job_id, instance_id, instance_name, host_id, host_name, step) \
             VALUES ('{job}', '{item}', 'i-{n}', gen_random_uuid(), 'h', 'queued')"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    // One step writer rewriting every item's step, against outcomes of every item at once, as a
    // job's writers do; PostgreSQL must never need to abort one of them (a deadlock did before).
    let job = mosaic_types::JobId(job);
    let claim = Claim { job, worker: "worker".into(), attempt: 1 };
    let ids: Vec<mosaic_types::InstanceId> = items.iter().map(|i| mosaic_types::InstanceId(*i)).collect();
    let steps = {
        let (url, ids, claim) = (url.clone(), ids.clone(), claim.clone());
        std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            let batch: Vec<_> = ids.iter().map(|i| (*i, JobStep::Starting)).collect();
            for _ in 0..200 {
                claim.update_steps(&mut conn, &batch).unwrap();
            }
        })
    };
    let outcomes: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let (url, id, claim) = (url.clone(), *id, claim.clone());
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                let error = (n % 6 == 0).then_some("it broke");
                let step = if error.is_some() { JobStep::Failed } else { JobStep::Done };
                // As the job engine writes an outcome: hold the claim, then finish the item.
                let outcome = |conn: &mut PgConnection, step, error| {
                    conn.transaction(|conn| {
                        assert!(claim.hold(conn, Hold::Exclusive)?);
                        Job::finish_item(conn, job, id, step, error)
                    })
                };
                outcome(&mut conn, step, error).unwrap();
                // A second outcome for the same item is ignored.
                outcome(&mut conn, JobStep::Done, None).unwrap();
            })
        })
        .collect();
    for t in outcomes {
        t.join().expect("an outcome write failed");
    }
    steps.join().expect("a step write failed");
    let (done, failed): (i32, i32) = mosaic_db::schema::jobs::table
        .select((mosaic_db::schema::jobs::done, mosaic_db::schema::jobs::failed))
        .first(&mut conn)
        .unwrap();
    assert_eq!((done, failed), (24, 4));
    let unfinished: i64 = mosaic_db::schema::job_items::table
        .filter(mosaic_db::schema::job_items::finished.eq(false))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(unfinished, 0);
}

#[tokio::test]
async fn two_servers_share_the_work_and_never_run_a_job_twice() {
    let (url, database) = create_database().await;
    let first = spawn_app_on(&url, &database, "mosaic_two_0123456789abcdef0123456789ab").await;
    let second = spawn_app_on(&url, &database, "mosaic_two_0123456789abcdef0123456789ab").await;
    let mut jobs = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { &first } else { &second };
        let created: Value =
            expect_json(app.post("/api/v1/deployments", &json!({"name": format!("Pair{i}")})).await, 201)
                .await;
        let id = created["id"].as_str().unwrap();
        let job: Value =
            expect_json(app.post(&format!("/api/v1/deployments/{id}/start"), &json!({})).await, 202).await;
        jobs.push(job);
    }
    for job in &jobs {
        assert_eq!(first.follow_job(job).await.0["state"], "succeeded");
    }
    let mut conn = first.state.pool.get().unwrap();
    let rows: Vec<(i32, Option<String>)> = mosaic_db::schema::jobs::table
        .select((mosaic_db::schema::jobs::attempts, mosaic_db::schema::jobs::claimed_by))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|(attempts, _)| *attempts == 1), "a job was claimed twice: {rows:?}");
    let workers: HashSet<_> = rows.iter().filter_map(|(_, w)| w.clone()).collect();
    assert!(workers.iter().all(|w| w == first.state.worker.as_ref() || w == second.state.worker.as_ref()));
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

/// The real `mosaic` binary, run as a process of its own on a database.
struct Process {
    child: tokio::process::Child,
    base: String,
    token: &'static str,
    http: reqwest::Client,
}

impl Process {
    /// Starts `mosaic` on `url` with a data directory and the given extra settings, making one
    /// LXD change at a time per host (so a job is still running when the test acts on the
    /// process).
    async fn start(
        url: &str,
        data_dir: &std::path::Path,
        token: &'static str,
        settings: &[(&str, &str)],
    ) -> Process {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut command = tokio::process::Command::new(mosaic_binary());
        command
            .env("MOSAIC_LISTEN", format!("127.0.0.1:{port}"))
            .env("MOSAIC_PHONE_HOME_LISTEN", "127.0.0.1:0")
            .env("MOSAIC_METRICS_LISTEN", "127.0.0.1:0")
            .env("MOSAIC_DATABASE_URL", url)
            .env("MOSAIC_DATA_DIR", data_dir)
            .env("MOSAIC_ADMIN_TOKEN", token)
            .env("MOSAIC_PER_HOST_CONCURRENCY", "1")
            .env("MOSAIC_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (key, value) in settings {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let process = Process { child, base, token, http: mosaic_testkit::http() };
        eventually(Duration::from_secs(30), "the server to start", || async {
            let health = process.http.get(format!("{}/api/health", process.base)).send().await.ok()?;
            (health.status() == 200).then_some(())
        })
        .await;
        process
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Both hosts, a busybox cloud-config and a deployment of it, then a deploy of `count`
    /// containers over both hosts. Returns the deployment's ID and the deploy job.
    async fn deploy(&self, name: &str, count: u32) -> (String, Value) {
        let mut hosts = Vec::new();
        for host in &env().hosts {
            let body = json!({"name": format!("lxd-{}", host.label), "url": host.url.as_str(),
                "fingerprint": host.fingerprint.to_hex(), "trust_password": env().trust_password});
            let created: Value = expect_json(self.post("/api/v1/hosts", body).await, 201).await;
            hosts.push(created["id"].as_str().unwrap().to_owned());
        }
        let cc = json!({"namespace": "Web", "name": name, "image": env().image_busybox,
            "user_data": "#cloud-config\nruncmd: []\n"});
        let cc: Value = expect_json(self.post("/api/v1/cloud-configs", cc).await, 201).await;
        let dep = json!({"name": name, "cloud_configs": [{"cloud_config_id": cc["id"]}]});
        let dep: Value = expect_json(self.post("/api/v1/deployments", dep).await, 201).await;
        let id = dep["id"].as_str().unwrap().to_owned();
        let deploy =
            json!({"cloud_configs": [{"cloud_config_id": cc["id"], "count": count, "hosts": hosts}]});
        let job: Value =
            expect_json(self.post(&format!("/api/v1/deployments/{id}/deploy"), deploy).await, 202).await;
        (id, job)
    }

    /// Waits until the job has finished at least `done` items.
    async fn until_done(&self, job: &Value, done: i64) {
        let id = job["id"].as_str().unwrap();
        let url = format!("{}/api/v1/jobs/{id}", self.base);
        eventually(Duration::from_secs(60), "the job to make progress", || async {
            let j: Value =
                self.http.get(&url).bearer_auth(self.token).send().await.ok()?.json().await.ok()?;
            (j["done"].as_i64().unwrap_or(0) >= done).then_some(())
        })
        .await;
    }
}

/// The (only) job's state, claimant and claim count, read behind the API.
async fn job_row(url: &str) -> (String, Option<String>, i32) {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        use mosaic_db::schema::jobs::dsl as j;
        j::jobs.select((j::state, j::claimed_by, j::attempts)).first(&mut conn).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_server_stopped_with_sigterm_gives_its_job_back_at_once() {
    let (url, database) = create_database().await;
    let token = "mosaic_sigterm_server_0123456789abcdef01";
    let data_dir = std::env::temp_dir().join(format!("mosaic-sigterm-{database}"));
    // A heartbeat that takes a minute to look dead: a takeover sooner than that is the server
    // giving the job back, not another one finding it abandoned.
    let settings = [("MOSAIC_JOB_STALE_AFTER_SECS", "60"), ("MOSAIC_SHUTDOWN_GRACE_SECS", "5")];
    let mut server = Process::start(&url, &data_dir, token, &settings).await;
    let (id, job) = server.deploy("Term", 8).await;
    server.until_done(&job, 1).await;

    let pid = server.child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped_at = std::time::Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the server stops within its grace period")
        .unwrap();
    assert!(status.success(), "{status}");
    // The unfinished job is back in the queue, claimable by anyone at once.
    let (state, claimed_by, attempts) = job_row(&url).await;
    assert_eq!((state.as_str(), claimed_by, attempts), ("queued", None, 1));

    let next = spawn_app_in(&url, &database, token, data_dir.clone()).await;
    let (done, _) = next.follow_job(&job).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(done["done"], 8);
    assert!(stopped_at.elapsed() < Duration::from_secs(60), "taken over only when the heartbeat went stale");
    assert_eq!(job_row(&url).await.2, 2, "claimed once by each server");
    assert_eq!(next.delete_deployment(&id).await["state"], "succeeded");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_job_whose_server_is_killed_is_finished_by_the_next_one() {
    let (url, database) = create_database().await;
    let token = "mosaic_killed_server_0123456789abcdef01";
    let data_dir = std::env::temp_dir().join(format!("mosaic-killed-{database}"));
    let mut server = Process::start(&url, &data_dir, token, &[("MOSAIC_JOB_STALE_AFTER_SECS", "4")]).await;
    let (id, job) = server.deploy("Crash", 8).await;

    // Kill the server as soon as it has made some progress.
    server.until_done(&job, 1).await;
    server.child.kill().await.unwrap();
    assert_eq!(job_row(&url).await.0, "running", "the server was killed in the middle of the job");

    // A new server on the same database finds the orphaned job and finishes it.
    let next = spawn_app_in(&url, &database, token, data_dir.clone()).await;
    let (done, _) = next.follow_job(&job).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(done["done"], 8);
    let mut conn = next.state.pool.get().unwrap();
    let attempts: i32 =
        mosaic_db::schema::jobs::table.select(mosaic_db::schema::jobs::attempts).first(&mut conn).unwrap();
    assert_eq!(attempts, 2, "claimed once by each server");

    // LXD has exactly the eight, once each; none is unknown to Mosaic.
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", &id).unwrap();
    let mut names = Vec::new();
    for host in &env().hosts {
        names.extend(host.admin().instances(Some(&filter)).await.unwrap().into_iter().map(|i| i.name));
    }
    names.sort();
    let expected: Vec<String> = (1..=8).map(|n| format!("crash-web-{n}")).collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(names, expected_sorted);
    let detail: Value = expect_json(next.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert!(detail["orphaned"].as_array().unwrap().is_empty());

    assert_eq!(next.delete_deployment(&id).await["state"], "succeeded");
    next.untrust().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}
