//! Bad input of every kind gets the error envelope, never plain text.

use mosaic_testkit::{expect_error, spawn_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_requests_get_the_envelope() {
    let app = spawn_app().await;
    let post = |body: &'static str, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/deployments")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    expect_error(post("{not json", "application/json").await.unwrap(), 400, "invalid_json").await;
    expect_error(post("{\"name\": \"x\"}", "text/plain").await.unwrap(), 415, "unsupported_media_type").await;
    let unknown = app.post("/api/v1/deployments", &json!({"name": "A", "colour": "red"})).await;
    let message = expect_error(unknown, 400, "invalid_json").await;
    assert!(message.contains("colour"), "{message}");
    expect_error(app.post("/api/v1/deployments", &json!({"name": 5})).await, 400, "invalid_json").await;

    expect_error(app.get("/api/v1/deployments/not-a-uuid").await, 400, "invalid_path").await;
    expect_error(app.get("/api/v1/cloud-configs?limit=x&unknown=1").await, 400, "invalid_query").await;
    expect_error(app.get("/api/v1/nothing-here").await, 404, "route_not_found").await;

    let wrong_method = app.request(Method::PUT, "/api/v1/deployments").send().await.unwrap();
    assert_eq!(wrong_method.headers()["allow"], "GET, POST");
    expect_error(wrong_method, 405, "method_not_allowed").await;

    let huge = json!({"namespace": "A", "name": "B", "image": "busybox", "user_data": "#cloud-config\n".repeat(60_000)});
    expect_error(app.post("/api/v1/cloud-configs", &huge).await, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_a_nul_is_still_audited() {
    let app = spawn_app().await;
    let created: serde_json::Value =
        mosaic_testkit::expect_json(app.post("/api/v1/deployments", &json!({"name": "Kept"})).await, 201)
            .await;
    let id = created["id"].as_str().unwrap();
    // serde would read a struct from an array (its fields in order): `[null, null]` must not pass
    // as an update that changes nothing.
    let patched = app.patch(&format!("/api/v1/deployments/{id}"), &json!([null, null])).await;
    let message = expect_error(patched, 400, "invalid_json").await;
    assert!(message.contains("JSON object"), "{message}");
    expect_error(app.post("/api/v1/deployments", &json!(["Kept2"])).await, 400, "invalid_json").await;
    // An empty body is still the extractor's to judge.
    let empty = app
        .request(Method::POST, "/api/v1/deployments")
        .header("content-type", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    expect_error(empty, 400, "invalid_json").await;

    // A refused request whose error quotes a NUL is audited all the same (PostgreSQL text cannot
    // hold NUL: it is written as `\0`).
    let nul = app.patch(&format!("/api/v1/deployments/{id}"), &json!({"name": "a\u{0}b"})).await;
    assert_eq!(nul.status(), 400);
    let entries: Vec<serde_json::Value> = app.list("/api/v1/audit?limit=1").await;
    assert_eq!(entries[0]["action"], "update_deployment", "{entries:#?}");
    assert_eq!(entries[0]["outcome"], "failure", "{entries:#?}");
}
