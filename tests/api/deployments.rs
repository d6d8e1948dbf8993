//! Deployments: grouping pinned cloud-config revisions.

use mosaic_testkit::{TestApp, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

async fn cloud_config(app: &TestApp, namespace: &str) -> String {
    let body = json!({"namespace": namespace, "name": "My_Site", "user_data": "#cloud-config\nruncmd: []\n", "image": "busybox"});
    let created: Value = expect_json(app.post("/api/v1/cloud-configs", &body).await, 201).await;
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn create_list_get_rename_and_change_members() {
    let app = spawn_app().await;
    let web = cloud_config(&app, "Webservers").await;
    let db = cloud_config(&app, "Mysql").await;

    let created: Value = expect_json(
        app.post(
            "/api/v1/deployments",
            &json!({"name": "My_Site", "cloud_configs": [{"cloud_config_id": web}]}),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/deployments/{id}");
    assert_eq!(created["cloud_configs"][0]["namespace"], "Webservers");
    assert_eq!(created["cloud_configs"][0]["revision"], 1);
    assert_eq!(created["instances"]["total"], 0);
    assert_eq!(created["memory_bytes"], 0);

    let added: Value =
        expect_json(app.post(&format!("{path}/cloud-configs"), &json!({"cloud_config_id": db})).await, 201)
            .await;
    let namespaces: Vec<&str> =
        added["cloud_configs"].as_array().unwrap().iter().map(|c| c["namespace"].as_str().unwrap()).collect();
    assert_eq!(namespaces, ["Mysql", "Webservers"]);
    expect_error(
        app.post(&format!("{path}/cloud-configs"), &json!({"cloud_config_id": db})).await,
        409,
        "cloud_config_already_added",
    )
    .await;

    // A new revision of the web cloud-config: the deployment stays pinned until upgraded.
    app.patch(&format!("/api/v1/cloud-configs/{web}"), &json!({"image": "debian-cloudinit"})).await;
    let got: Value = expect_json(app.get(&path).await, 200).await;
    let web_member = got["cloud_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cloud_config_id"] == web.as_str())
        .unwrap()
        .clone();
    assert_eq!(web_member["revision"], 1);
    assert_eq!(web_member["latest_revision"], 2);
    let upgraded: Value =
        expect_json(app.put(&format!("{path}/cloud-configs/{web}"), &json!({"revision": 2})).await, 200)
            .await;
    assert!(
        upgraded["cloud_configs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["cloud_config_id"] == web.as_str() && c["revision"] == 2)
    );
    expect_error(
        app.put(&format!("{path}/cloud-configs/{web}"), &json!({"revision": 5})).await,
        400,
        "validation_failed",
    )
    .await;

    let renamed: Value = expect_json(app.patch(&path, &json!({"name": "My_Site_2"})).await, 200).await;
    assert_eq!(renamed["name"], "My_Site_2");
    // An empty patch changes nothing and answers the deployment as it is.
    let same: Value = expect_json(app.patch(&path, &json!({})).await, 200).await;
    assert_eq!((same["name"].clone(), same["healing"].clone()), (json!("My_Site_2"), json!(false)));
    app.post("/api/v1/deployments", &json!({"name": "Other"})).await;
    expect_error(app.patch(&path, &json!({"name": "Other"})).await, 409, "deployment_name_taken").await;

    let list: Vec<Value> = app.list("/api/v1/deployments").await;
    let names: Vec<&str> = list.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["My_Site_2", "Other"]);

    let removed: Value = expect_json(app.delete(&format!("{path}/cloud-configs/{db}")).await, 200).await;
    assert_eq!(removed["cloud_configs"].as_array().unwrap().len(), 1);
    expect_error(
        app.delete(&format!("{path}/cloud-configs/{db}")).await,
        404,
        "cloud_config_not_in_deployment",
    )
    .await;
}

#[tokio::test]
async fn bad_deployments_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let web = cloud_config(&app, "Webservers").await;
    let missing = uuid::Uuid::new_v4().to_string();
    let cases = [
        json!({"name": "my site"}),
        json!({"name": ""}),
        json!({"name": "Ok", "cloud_configs": [{"cloud_config_id": missing}]}),
        json!({"name": "Ok", "cloud_configs": [{"cloud_config_id": web}, {"cloud_config_id": web}]}),
        json!({"name": "Ok", "cloud_configs": [{"cloud_config_id": web, "revision": 2}]}),
    ];
    for body in cases {
        expect_error(app.post("/api/v1/deployments", &body).await, 400, "validation_failed").await;
    }
    let list: Vec<Value> = app.list("/api/v1/deployments").await;
    assert!(list.is_empty(), "{list:?}");

    let nobody = uuid::Uuid::new_v4();
    expect_error(app.get(&format!("/api/v1/deployments/{nobody}")).await, 404, "deployment_not_found").await;
    expect_error(
        app.patch(&format!("/api/v1/deployments/{nobody}"), &json!({"name": "X"})).await,
        404,
        "deployment_not_found",
    )
    .await;
    expect_error(
        app.post(&format!("/api/v1/deployments/{nobody}/cloud-configs"), &json!({"cloud_config_id": web}))
            .await,
        404,
        "deployment_not_found",
    )
    .await;
}

#[tokio::test]
async fn deployments_and_their_jobs_are_listed_a_page_at_a_time_and_searched() {
    let app = spawn_app().await;
    let names = ["Shop", "SiteB", "SiteA", "Blog", "Wiki", "SiteC", "Api"];
    let mut ids = Vec::new();
    for name in names {
        let created: Value =
            expect_json(app.post("/api/v1/deployments", &json!({"name": name})).await, 201).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let all = app.check_paging("/api/v1/deployments", "id", 2).await;
    let listed: Vec<&str> = all.iter().map(|d| d["name"].as_str().unwrap()).collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "by name");
    assert_eq!(listed.len(), names.len());

    // The name filter: case-insensitive, literal (`%` is no wildcard), paged alike.
    let found: Vec<Value> = app.list_all("/api/v1/deployments?q=SITE", 1).await;
    let found: Vec<&str> = found.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(found, ["SiteA", "SiteB", "SiteC"]);
    let nothing: Vec<Value> = app.list("/api/v1/deployments?q=%25").await;
    assert!(nothing.is_empty());
    expect_error(
        app.get(&format!("/api/v1/deployments?q={}", "x".repeat(201))).await,
        400,
        "validation_failed",
    )
    .await;

    // Jobs, newest first: finished ones written straight to the database, some created at the
    // same instant (the ID breaks the tie), and one of another deployment.
    {
        use diesel::prelude::*;
        let mut conn = app.state.pool.get().unwrap();
        for (deployment, n) in [(&ids[0], 7), (&ids[1], 1)] {
            diesel::sql_query(format!(
                "INSERT INTO jobs (id, deployment_id, deployment_name, kind, state, then_start, total, done, \
                 failed, created_by, attempts, created_at, updated_at) \
                 SELECT gen_random_uuid(), '{deployment}', 'X', 'start', 'succeeded', false, 0, 0, 0, 'admin', \
                 0, now() - (g / 3) * interval '1 second', now() FROM generate_series(1, {n}) g"
            ))
            .execute(&mut conn)
            .unwrap();
        }
    }
    let path = format!("/api/v1/deployments/{}/jobs", ids[0]);
    let jobs = app.check_paging(&path, "id", 3).await;
    assert_eq!(jobs.len(), 7);
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = jobs
        .iter()
        .map(|j| chrono::DateTime::parse_from_rfc3339(j["created_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    let filtered = app.check_paging(&format!("/api/v1/jobs?deployment_id={}", ids[0]), "id", 2).await;
    assert_eq!(filtered, jobs);
    let everyone = app.check_paging("/api/v1/jobs", "id", 4).await;
    assert_eq!(everyone.len(), 8);
}
