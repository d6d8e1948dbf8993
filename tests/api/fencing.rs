//! Jobs that cannot run twice, and that ride out the database going away: a server whose claim
//! was taken stops at once and writes nothing more; a PostgreSQL restart in the middle of a job
//! loses nothing.

use std::time::Duration;

use diesel::prelude::*;
use lxd::InstanceFilter;
use mosaic_api::embedded_pg::EmbeddedPostgres;
use mosaic_testkit::{TestApp, env, eventually, expect_json, quick, spawn_app_with};
use mosaic_types::JobId;
use serde_json::{Value, json};

/// A busybox cloud-config and a deployment of it; returns the deployment's ID and the
/// cloud-config's.
async fn busybox_deployment(app: &TestApp, name: &str) -> (String, String) {
    let cc = app.cloud_config("Web", name, &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    (app.deployment(name, &[&cc]).await, cc)
}

/// The job as the API shows it now.
async fn job(app: &TestApp, id: &str) -> Option<Value> {
    let response = app.get(&format!("/api/v1/jobs/{id}")).await;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

#[tokio::test]
async fn a_server_whose_claim_is_taken_stops_its_lxd_calls_and_writes_nothing_more() {
    let app = spawn_app_with(|s| {
        quick(s);
        // One LXD change at a time, so the job is mid-way when its claim is taken.
        s.per_host_concurrency = 1;
    })
    .await;
    let [a, _] = app.register_hosts().await;
    let (id, cc) = busybox_deployment(&app, "Stolen").await;
    let deploy = json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 8, "hosts": [a]}]});
    let started: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    let job_id = started["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(120), "two instances done", || async {
        job(&app, &job_id).await.filter(|j| j["done"].as_i64() >= Some(2)).map(drop)
    })
    .await;

    // Another server takes the claim, as it would if this one's heartbeat had looked dead.
    let uuid: uuid::Uuid = job_id.parse().unwrap();
    let stolen_at: chrono::DateTime<chrono::Utc> = {
        let mut conn = app.state.pool.get().unwrap();
        diesel::sql_query(
            "UPDATE jobs SET claimed_by = 'another-server', attempts = attempts + 1, \
             heartbeat_at = now() + interval '1 hour' WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid)
        .execute(&mut conn)
        .unwrap();
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("clock_timestamp()"))
            .get_result(&mut conn)
            .unwrap()
    };
    // The first server notices (at its next write or heartbeat) and stops working on the job.
    tokio::time::timeout(Duration::from_secs(30), app.state.jobs.until_not_running(JobId(uuid)))
        .await
        .expect("the first server kept running a job it no longer holds");

    // Nothing it did after the claim was taken reached the database…
    let (done, last_write): (i32, Option<chrono::DateTime<chrono::Utc>>) = {
        use mosaic_db::schema::{job_items, jobs};
        let mut conn = app.state.pool.get().unwrap();
        let done = jobs::table.find(uuid).select(jobs::done).first(&mut conn).unwrap();
        let last = job_items::table
            .filter(job_items::job_id.eq(uuid))
            .select(diesel::dsl::max(job_items::updated_at))
            .first(&mut conn)
            .unwrap();
        (done, last)
    };
    assert!(last_write.is_some_and(|t| t <= stolen_at), "an item was written after the claim was taken");
    assert!(done < 8, "the job ran to its end regardless: {done} of 8 done");
    // …and it made no LXD change past the one in flight when it noticed.
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", &id).unwrap();
    let made = env().hosts[0].admin().instances(Some(&filter)).await.unwrap().len();
    assert!(made <= usize::try_from(done).unwrap() + 1, "{made} containers for {done} finished items");
    println!("claim taken after {done} of 8 items; {made} containers exist");

    // Clean up: end the orphaned job, then delete the deployment for real.
    {
        let mut conn = app.state.pool.get().unwrap();
        diesel::sql_query("UPDATE jobs SET state = 'failed', finished_at = now() WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(uuid)
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}

#[tokio::test]
async fn a_postgresql_restart_in_the_middle_of_a_deploy_loses_nothing() {
    // A PostgreSQL of this test's own: restarting the shared one would disturb every other test.
    let dir = std::env::temp_dir().join(format!("mosaic-pg-restart-{}", uuid::Uuid::new_v4().simple()));
    let postgres = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || EmbeddedPostgres::start(&dir.join("postgres"), None).expect("a private PostgreSQL")
    })
    .await
    .unwrap();
    let url = postgres.url().to_owned();
    let app = spawn_app_with(|s| {
        quick(s);
        s.database_url = Some(secrecy::SecretString::from(url.clone()));
        s.per_host_concurrency = 1;
    })
    .await;
    let [a, b] = app.register_hosts().await;
    let (id, cc) = busybox_deployment(&app, "Restart").await;
    let deploy =
        json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 8, "hosts": [a, b]}]});
    let started: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await, 202).await;
    let job_id = started["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(120), "an instance done", || async {
        job(&app, &job_id).await.filter(|j| j["done"].as_i64() >= Some(1)).map(drop)
    })
    .await;

    // Restart PostgreSQL under the running job (every connection is cut).
    let data = dir.join("postgres/data");
    let restarted = tokio::process::Command::new("runuser")
        .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D"])
        .arg(&data)
        .args(["-m", "fast", "-w", "restart", "-l"])
        .arg(dir.join("postgres/server.log"))
        // The new postmaster would keep a captured stdout open forever.
        .stdout(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(restarted.status.success(), "{}", String::from_utf8_lossy(&restarted.stderr));

    let finished = eventually(Duration::from_secs(300), "the job to finish", || async {
        job(&app, &job_id).await.filter(|j| j["finished_at"].is_string())
    })
    .await;
    assert_eq!(finished["state"], "succeeded", "{finished:#}");
    assert_eq!(finished["done"], 8);
    assert!(
        finished["items"].as_array().unwrap().iter().all(|i| i["finished"] == true && i["step"] == "done")
    );
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    let instances =
        detail["hosts"].as_array().unwrap().iter().flat_map(|h| h["instances"].as_array().unwrap());
    assert!(instances.clone().all(|i| i["lifecycle"] == "created"), "{detail:#}");
    assert_eq!(instances.count(), 8);

    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
    drop(app);
    drop(postgres);
    let _ = std::fs::remove_dir_all(&dir);
}
