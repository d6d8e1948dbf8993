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

#[tokio::test]
async fn a_job_whose_server_is_killed_is_finished_by_the_next_one() {
    let (url, database) = create_database().await;
    let token = "mosaic_killed_server_0123456789abcdef01";
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data_dir = std::env::temp_dir().join(format!("mosaic-killed-{database}"));
    let mut server = tokio::process::Command::new(mosaic_binary())
        .env("MOSAIC_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOSAIC_PHONE_HOME_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_METRICS_LISTEN", "127.0.0.1:0")
        .env("MOSAIC_DATABASE_URL", &url)
        .env("MOSAIC_DATA_DIR", &data_dir)
        .env("MOSAIC_ADMIN_TOKEN", token)
        .env("MOSAIC_JOB_STALE_AFTER_SECS", "4")
        // One container at a time per host, so the job is still running when it is killed.
        .env("MOSAIC_PER_HOST_CONCURRENCY", "1")
        .env("MOSAIC_LOG_FORMAT", "json")
        .stdout(Stdio::null())
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
        |path: String, body: Value| http.post(format!("{base}{path}")).bearer_auth(token).json(&body).send();

    // Hosts, a cloud-config, a deployment, and a deploy of eight containers through process one.
    let mut hosts = Vec::new();
    for host in &env().hosts {
        let body = json!({"name": format!("lxd-{}", host.label), "url": host.url.as_str(),
            "fingerprint": host.fingerprint.to_hex(), "trust_password": env().trust_password});
        let created: Value = expect_json(post("/api/v1/hosts".into(), body).await.unwrap(), 201).await;
        hosts.push(created["id"].as_str().unwrap().to_owned());
    }
    let cc: Value = expect_json(
        post("/api/v1/cloud-configs".into(), json!({"namespace": "Web", "name": "Crash", "image": env().image_busybox, "user_data": "#cloud-config\nruncmd: []\n"})).await.unwrap(),
        201,
    )
    .await;
    let dep: Value = expect_json(
        post(
            "/api/v1/deployments".into(),
            json!({"name": "Crash", "cloud_configs": [{"cloud_config_id": cc["id"]}]}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    let id = dep["id"].as_str().unwrap().to_owned();
    let deploy = json!({"cloud_configs": [{"cloud_config_id": cc["id"], "count": 8, "hosts": hosts}]});
    let job: Value =
        expect_json(post(format!("/api/v1/deployments/{id}/deploy"), deploy).await.unwrap(), 202).await;
    let job_id = job["id"].as_str().unwrap().to_owned();

    // Kill the server as soon as it has made some progress.
    eventually(Duration::from_secs(60), "the job to make progress", || async {
        let j: Value = http
            .get(format!("{base}/api/v1/jobs/{job_id}"))
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (j["done"].as_i64().unwrap_or(0) >= 1).then_some(())
    })
    .await;
    server.kill().await.unwrap();
    let state_when_killed: String = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            mosaic_db::schema::jobs::table.select(mosaic_db::schema::jobs::state).first(&mut conn).unwrap()
        })
        .await
        .unwrap()
    };
    assert_eq!(state_when_killed, "running", "the server was killed in the middle of the job");

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
