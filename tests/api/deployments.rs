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

    let list: Vec<Value> = expect_json(app.get("/api/v1/deployments").await, 200).await;
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
    let list: Vec<Value> = expect_json(app.get("/api/v1/deployments").await, 200).await;
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
