//! Instances as a resource: listed with filters a page at a time, acted on one at a time, their
//! cloud-init log read; orphans adopted or removed; healing on and off.

use std::collections::HashSet;
use std::time::Duration;

use lxd::{InstanceName, InstanceSource, InstancesPost, StatusCode};
use mosaic_testkit::{TestApp, env, eventually, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

/// Every page of `GET /api/v1/instances?{query}` at `limit` per page.
async fn all_pages(app: &TestApp, query: &str, limit: u32) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut path = format!("/api/v1/instances?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = expect_json(app.get(&path).await, 200).await;
        pages += 1;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
    }
}

async fn instance(app: &TestApp, id: &str) -> Value {
    expect_json(app.get(&format!("/api/v1/instances/{id}")).await, 200).await
}

async fn container(host: usize, name: &str) -> Option<lxd::Instance> {
    env().hosts[host].admin().instance_opt(&InstanceName::parse(name).unwrap()).await.unwrap()
}

#[tokio::test]
async fn instances_are_listed_filtered_paged_and_acted_on_one_at_a_time() {
    let app = spawn_app().await;
    let [a, b] = app.register_hosts().await;
    let web = app.cloud_config("Web", "Pages", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let db = app.cloud_config("Db", "Pages", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Pages", &[&web, &db]).await;
    let deploy = json!({"start": true, "cloud_configs": [
        {"cloud_config_id": web, "count": 4, "hosts": [a, b]},
        {"cloud_config_id": db, "count": 1, "hosts": [b]},
    ]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");
    app.fresh_cache().await;

    // Pages of 2 walk every instance once, in name order.
    let (every, pages) = all_pages(&app, &format!("deployment_id={id}"), 2).await;
    assert_eq!((every.len(), pages), (5, 3));
    let names: Vec<&str> = every.iter().map(|i| i["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 5);
    // Filters.
    assert_eq!(all_pages(&app, &format!("host_id={a}"), 100).await.0.len(), 2);
    assert_eq!(all_pages(&app, &format!("cloud_config_id={db}"), 100).await.0.len(), 1);
    assert_eq!(
        all_pages(&app, &format!("deployment_id={id}&revision=1&readiness=unknown"), 100).await.0.len(),
        5
    );
    assert_eq!(all_pages(&app, &format!("deployment_id={id}&status=running"), 1).await.0.len(), 5);
    assert_eq!(all_pages(&app, &format!("deployment_id={id}&revision=2"), 100).await.0.len(), 0);
    // Bad input.
    expect_error(app.get("/api/v1/instances?limit=0").await, 400, "validation_failed").await;
    expect_error(app.get("/api/v1/instances?limit=501").await, 400, "validation_failed").await;
    expect_error(app.get("/api/v1/instances?revision=0").await, 400, "validation_failed").await;
    expect_error(app.get("/api/v1/instances?cursor=nonsense").await, 400, "validation_failed").await;
    expect_error(app.get("/api/v1/instances?status=sleeping").await, 400, "invalid_query").await;
    expect_error(
        app.get(&format!("/api/v1/instances/{}", uuid::Uuid::new_v4())).await,
        404,
        "instance_not_found",
    )
    .await;

    // One instance: stop, start, restart — each checked in LXD.
    let one = every.iter().find(|i| i["host_id"] == a.as_str()).unwrap().clone();
    let (iid, name) = (one["id"].as_str().unwrap(), one["name"].as_str().unwrap());
    let act = |action: &str| format!("/api/v1/instances/{iid}/{action}");
    assert_eq!(app.run_job(&act("stop"), &json!({})).await["state"], "succeeded");
    assert_eq!(container(0, name).await.unwrap().status_code, StatusCode::STOPPED);
    let others = all_pages(&app, &format!("deployment_id={id}&status=running"), 100).await.0;
    assert_eq!(others.len(), 4, "only that one stopped");
    assert_eq!(app.run_job(&act("start"), &json!({})).await["state"], "succeeded");
    assert_eq!(container(0, name).await.unwrap().status_code, StatusCode::RUNNING);
    let before = instance(&app, iid).await["last_started_at"].clone();
    assert_eq!(app.run_job(&act("restart"), &json!({})).await["state"], "succeeded");
    assert_eq!(container(0, name).await.unwrap().status_code, StatusCode::RUNNING);
    assert_ne!(instance(&app, iid).await["last_started_at"], before, "it was started again");

    // Recreate at a new revision: a new container of the same name, at the revision the
    // deployment now pins.
    let old = container(0, name).await.unwrap();
    assert_eq!(app.revise(&web, "#cloud-config\nruncmd: [[true]]\n").await, 2);
    assert_eq!(
        app.put(&format!("/api/v1/deployments/{id}/cloud-configs/{web}"), &json!({"revision": 2}))
            .await
            .status(),
        200
    );
    let job = app.run_job(&act("recreate"), &json!({})).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["kind"], "recreate");
    let new = container(0, name).await.unwrap();
    assert_ne!(new.config.get("volatile.uuid"), old.config.get("volatile.uuid"), "a new container");
    assert_eq!(new.status_code, StatusCode::RUNNING);
    assert_eq!(new.config.get("user.mosaic.revision").map(String::as_str), Some("2"));
    assert_eq!(new.config.get("user.mosaic.instance").map(String::as_str), Some(iid));
    assert_eq!(instance(&app, iid).await["revision"], 2);

    // A busybox container has no cloud-init log.
    expect_error(app.get(&format!("/api/v1/instances/{iid}/cloud-init-log")).await, 404, "log_not_found")
        .await;
    expect_error(
        app.get(&format!("/api/v1/instances/{iid}/cloud-init-log?max_bytes=0")).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}

#[tokio::test]
async fn an_instance_shows_the_end_of_its_cloud_init_log() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let user_data = "#cloud-config\nruncmd:\n  - [sh, -c, \"seq 1 2000; echo the-end-of-the-log\"]\n";
    let cc = app.cloud_config("Web", "Logs", &env().image_cloudinit, user_data).await;
    let id = app.deployment("Logs", &[&cc]).await;
    let deploy = json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [a]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    let iid = detail["hosts"][0]["instances"][0]["id"].as_str().unwrap().to_owned();
    let log: Value =
        expect_json(app.get(&format!("/api/v1/instances/{iid}/cloud-init-log")).await, 200).await;
    assert!(log["content"].as_str().unwrap().contains("the-end-of-the-log"), "{log:#}");
    let tail: Value =
        expect_json(app.get(&format!("/api/v1/instances/{iid}/cloud-init-log?max_bytes=100")).await, 200)
            .await;
    assert_eq!(tail["truncated"], true);
    let (whole, end) = (log["content"].as_str().unwrap(), tail["content"].as_str().unwrap());
    assert_eq!(log["truncated"], false, "the whole log fits the default");
    assert_eq!(end, &whole[whole.len() - 100..], "the end, not the start");
    assert!(tail["size"].as_u64().unwrap() > 100);
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}

#[tokio::test]
async fn orphans_are_adopted_or_removed_and_healing_recreates_what_went_missing() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let cc = app.cloud_config("Web", "Heal", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Heal", &[&cc]).await;
    let deploy = json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [a]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");

    // Two containers carrying the deployment's key that Mosaic does not know.
    let admin = env().hosts[0].admin();
    for orphan in ["heal-orphan-1", "heal-orphan-2"] {
        let post = InstancesPost::new(
            InstanceName::parse(orphan).unwrap(),
            InstanceSource::image_alias(&env().image_busybox),
        )
        .config("user.mosaic.managed", "true")
        .config("user.mosaic.deployment", &id)
        .config("user.mosaic.instance", uuid::Uuid::new_v4().to_string())
        .config("user.mosaic.cloud-config", &cc);
        admin.create_instance(&post).await.unwrap().wait(mosaic_testkit::OP_TIMEOUT).await.unwrap();
    }
    app.fresh_cache().await;
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["orphaned"].as_array().unwrap().len(), 2, "{detail:#}");

    let adopted: Value = expect_json(
        app.post(
            &format!("/api/v1/deployments/{id}/orphans/adopt"),
            &json!({"host_id": a, "name": "heal-orphan-1"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(adopted["name"], "heal-orphan-1");
    assert_eq!(adopted["cloud_config_id"], cc.as_str());
    expect_error(
        app.post(
            &format!("/api/v1/deployments/{id}/orphans/adopt"),
            &json!({"host_id": a, "name": "heal-orphan-1"}),
        )
        .await,
        409,
        "not_an_orphan",
    )
    .await;
    assert_eq!(
        app.delete(&format!("/api/v1/deployments/{id}/orphans/{a}/heal-orphan-2")).await.status(),
        204
    );
    assert!(container(0, "heal-orphan-2").await.is_none(), "removed from LXD");
    expect_error(
        app.delete(&format!("/api/v1/deployments/{id}/orphans/{a}/heal-web-1")).await,
        409,
        "not_an_orphan",
    )
    .await;
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert!(detail["orphaned"].as_array().unwrap().is_empty(), "{detail:#}");
    assert_eq!(detail["instances"]["total"], 2);

    // A container deleted behind Mosaic's back: with healing off it is reported missing and
    // left alone.
    let name = InstanceName::parse("heal-web-1").unwrap();
    mosaic_testkit::remove_instance(&admin, &name).await;
    app.fresh_cache().await;
    app.state.jobs.sweeps(2).await;
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["instances"]["missing"], 1, "{detail:#}");
    let jobs: Vec<Value> = app.list(&format!("/api/v1/deployments/{id}/jobs")).await;
    assert_eq!(jobs.len(), 1, "nothing was done: {jobs:#?}");

    // With healing on, it is made again and runs.
    let on: Value =
        expect_json(app.patch(&format!("/api/v1/deployments/{id}"), &json!({"healing": true})).await, 200)
            .await;
    assert_eq!(on["healing"], true);
    let healed = eventually(Duration::from_secs(120), "a heal job to finish", || async {
        let jobs: Vec<Value> = app.list(&format!("/api/v1/deployments/{id}/jobs")).await;
        jobs.into_iter().find(|j| j["kind"] == "heal" && j["finished_at"].is_string())
    })
    .await;
    assert_eq!(healed["state"], "succeeded", "{healed:#}");
    assert_eq!(container(0, "heal-web-1").await.map(|c| c.status_code), Some(StatusCode::RUNNING));
    app.fresh_cache().await;
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["instances"]["missing"], 0, "{detail:#}");
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
}
