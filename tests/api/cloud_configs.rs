//! Cloud-configs: validation, revisions, diff, restore, search, delete.

use mosaic_testkit::{TestApp, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

const WEB: &str = "#cloud-config\nwrite_files:\n  - path: /etc/site\n    content: web\nruncmd:\n  - [sh, -c, \"echo web > /var/tmp/marker\"]\n";

async fn create(app: &TestApp, namespace: &str, name: &str) -> Value {
    let body = json!({
        "namespace": namespace, "name": name, "description": "the web tier",
        "user_data": WEB, "image": "busybox", "config": {"limits.memory": "256MiB"}
    });
    expect_json(app.post("/api/v1/cloud-configs", &body).await, 201).await
}

#[tokio::test]
async fn create_get_and_search() {
    let app = spawn_app().await;
    let web = create(&app, "Webservers", "My_Site").await;
    create(&app, "Mysql", "My_Site").await;
    assert_eq!(web["revision"], 1);
    assert_eq!(web["config"]["limits.memory"], "256MiB");
    assert_eq!(web["used_by"], json!([]));

    let got: Value =
        expect_json(app.get(&format!("/api/v1/cloud-configs/{}", web["id"].as_str().unwrap())).await, 200)
            .await;
    assert_eq!(got, web);

    let all: Vec<Value> = app.list("/api/v1/cloud-configs").await;
    let names: Vec<String> = all
        .iter()
        .map(|c| format!("{}/{}", c["namespace"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, ["Mysql/My_Site", "Webservers/My_Site"]);
    let found: Vec<Value> = app.list("/api/v1/cloud-configs?q=webservers/my").await;
    assert_eq!(found.len(), 1);
    let in_ns: Vec<Value> = app.list("/api/v1/cloud-configs?namespace=Mysql").await;
    assert_eq!(in_ns.len(), 1);
    let none: Vec<Value> = app.list("/api/v1/cloud-configs?q=%25").await;
    assert!(none.is_empty(), "% must match literally");

    expect_error(
        app.post(
            "/api/v1/cloud-configs",
            &json!({"namespace": "Mysql", "name": "My_Site", "user_data": WEB, "image": "x"}),
        )
        .await,
        409,
        "cloud_config_exists",
    )
    .await;
    expect_error(
        app.get(&format!("/api/v1/cloud-configs/{}", uuid::Uuid::new_v4())).await,
        404,
        "cloud_config_not_found",
    )
    .await;
}

#[tokio::test]
async fn invalid_cloud_configs_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let cases = [
        (json!({"user_data": "runcmd: []\n"}), "line 1"),
        (json!({"user_data": "#cloud-config\nruncmd:\n  - [echo\n"}), "line "),
        (json!({"user_data": "#cloud-config\na: b\n c: d\n"}), "line 3"),
        (json!({"user_data": "#cloud-config\n- a\n"}), "mapping"),
        (json!({"config": {"security.privileged": "true"}}), "security.privileged"),
        (json!({"config": {"raw.lxc": "x"}}), "raw.lxc"),
        (json!({"config": {"user.mosaic.deployment": "x"}}), "reserved"),
        (json!({"namespace": "has space"}), "namespace"),
        (json!({"name": "9lives"}), "start with a letter"),
        (json!({"image": ""}), "image"),
    ];
    for (patch, expected) in cases {
        let mut body = json!({"namespace": "Web", "name": "Site", "user_data": WEB, "image": "busybox"});
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let message =
            expect_error(app.post("/api/v1/cloud-configs", &body).await, 400, "validation_failed").await;
        assert!(message.contains(expected), "{patch}: {message}");
    }
    let all: Vec<Value> = app.list("/api/v1/cloud-configs").await;
    assert!(all.is_empty());
}

#[tokio::test]
async fn content_changes_make_revisions_that_can_be_diffed_and_restored() {
    let app = spawn_app().await;
    let web = create(&app, "Webservers", "My_Site").await;
    let id = web["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cloud-configs/{id}");

    // Metadata only: no new revision.
    let renamed: Value = expect_json(app.patch(&path, &json!({"description": "front end"})).await, 200).await;
    assert_eq!(renamed["revision"], 1);
    assert_eq!(renamed["description"], "front end");

    // Content: revision 2.
    let v2_data = WEB.replace("echo web", "echo web2");
    let v2: Value = expect_json(
        app.patch(&path, &json!({"user_data": v2_data, "config": {"limits.cpu": "1"}})).await,
        200,
    )
    .await;
    assert_eq!(v2["revision"], 2);
    // The same content again changes nothing.
    let same: Value = expect_json(app.patch(&path, &json!({"user_data": v2_data})).await, 200).await;
    assert_eq!(same["revision"], 2);
    // A bad edit is refused and leaves revision 2 current.
    expect_error(app.patch(&path, &json!({"user_data": "nope"})).await, 400, "validation_failed").await;

    let revisions: Vec<Value> = app.list(&format!("{path}/revisions")).await;
    let numbers: Vec<i64> = revisions.iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [2, 1]);
    assert!(revisions.iter().all(|r| r["author"] == "admin"));
    let r1: Value = expect_json(app.get(&format!("{path}/revisions/1")).await, 200).await;
    assert_eq!(r1["user_data"], WEB);
    expect_error(app.get(&format!("{path}/revisions/9")).await, 404, "revision_not_found").await;

    let diff: Value = expect_json(app.get(&format!("{path}/diff?from=1&to=2")).await, 200).await;
    let unified = diff["user_data"].as_str().unwrap();
    assert!(unified.contains("-  - [sh, -c, \"echo web > /var/tmp/marker\"]"), "{unified}");
    assert!(unified.contains("+  - [sh, -c, \"echo web2 > /var/tmp/marker\"]"), "{unified}");
    assert_eq!(diff["config"]["limits.memory"], json!(["256MiB", null]));
    assert_eq!(diff["config"]["limits.cpu"], json!([null, "1"]));
    assert_eq!(diff["image"], Value::Null);
    expect_error(app.get(&format!("{path}/diff?from=1&to=7")).await, 404, "revision_not_found").await;
    expect_error(app.get(&format!("{path}/diff?from=1")).await, 400, "invalid_query").await;

    let restored: Value =
        expect_json(app.post(&format!("{path}/revisions/1/restore"), &json!({})).await, 201).await;
    assert_eq!(restored["revision"], 3);
    assert_eq!(restored["user_data"], WEB);
    assert_eq!(restored["config"], json!({"limits.memory": "256MiB"}));
}

#[tokio::test]
async fn a_cloud_config_in_use_cannot_be_deleted() {
    let app = spawn_app().await;
    let web = create(&app, "Webservers", "My_Site").await;
    let id = web["id"].as_str().unwrap();
    let deployment: Value = expect_json(
        app.post(
            "/api/v1/deployments",
            &json!({"name": "My_Site", "cloud_configs": [{"cloud_config_id": id}]}),
        )
        .await,
        201,
    )
    .await;

    let message =
        expect_error(app.delete(&format!("/api/v1/cloud-configs/{id}")).await, 409, "cloud_config_in_use")
            .await;
    assert!(message.contains("My_Site"), "{message}");
    let still: Value = expect_json(app.get(&format!("/api/v1/cloud-configs/{id}")).await, 200).await;
    assert_eq!(still["used_by"][0]["name"], "My_Site");

    let dep_id = deployment["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/deployments/{dep_id}/cloud-configs/{id}")).await.status(), 200);
    assert_eq!(app.delete(&format!("/api/v1/cloud-configs/{id}")).await.status(), 204);
    expect_error(app.get(&format!("/api/v1/cloud-configs/{id}")).await, 404, "cloud_config_not_found").await;
    expect_error(app.delete(&format!("/api/v1/cloud-configs/{id}")).await, 404, "cloud_config_not_found")
        .await;
}

#[tokio::test]
async fn cloud_configs_and_revisions_are_listed_a_page_at_a_time_and_searched() {
    let app = spawn_app().await;
    for (namespace, name) in
        [("Web", "Shop"), ("Web", "Blog"), ("Db", "Shop"), ("Web", "Api"), ("Cache", "Redis"), ("Db", "Blog")]
    {
        create(&app, namespace, name).await;
    }
    // The longest names make the longest cursor (still within the documented 400 characters).
    let (long_ns, long_name) = (format!("N{}", "s".repeat(63)), format!("N{}", "n".repeat(63)));
    create(&app, &long_ns, &long_name).await;
    let all = app.check_paging("/api/v1/cloud-configs", "id", 2).await;
    let names: Vec<String> =
        all.iter().map(|c| format!("{}/{}", c["namespace"], c["name"]).replace('"', "")).collect();
    let long = format!("{long_ns}/{long_name}");
    assert_eq!(names, ["Cache/Redis", "Db/Blog", "Db/Shop", &long, "Web/Api", "Web/Blog", "Web/Shop"]);

    // Filters page alike: a namespace, text in the name.
    let web: Vec<Value> = app.list_all("/api/v1/cloud-configs?namespace=Web", 2).await;
    assert_eq!(web.len(), 3);
    let shops: Vec<Value> = app.list_all("/api/v1/cloud-configs?q=shop", 1).await;
    let shops: Vec<&str> = shops.iter().map(|c| c["namespace"].as_str().unwrap()).collect();
    assert_eq!(shops, ["Db", "Web"]);
    let both: Vec<Value> = app.list("/api/v1/cloud-configs?namespace=Db&q=blog").await;
    assert_eq!(both.len(), 1);

    // Revisions, newest first.
    let id = all[0]["id"].as_str().unwrap();
    for n in 2..=5 {
        let body = json!({"user_data": WEB.replace("echo web", &format!("echo web{n}"))});
        let changed: Value =
            expect_json(app.patch(&format!("/api/v1/cloud-configs/{id}"), &body).await, 200).await;
        assert_eq!(changed["revision"], n);
    }
    let revisions = app.check_paging(&format!("/api/v1/cloud-configs/{id}/revisions"), "revision", 2).await;
    let numbers: Vec<i64> = revisions.iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
}
