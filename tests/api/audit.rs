//! Who did what: successes and failures are both recorded.

use mosaic_testkit::{expect_json, spawn_app};
use serde_json::json;

#[tokio::test]
async fn changes_and_refusals_are_audited() {
    let app = spawn_app().await;
    let ok = app.post("/api/v1/deployments", &json!({"name": "My_Site"})).await;
    assert_eq!(ok.status(), 201);
    let refused = app.post("/api/v1/deployments", &json!({"name": "My_Site"})).await;
    assert_eq!(refused.status(), 409);
    // Reads are not audited.
    app.get("/api/v1/deployments").await;

    let entries: Vec<serde_json::Value> = expect_json(app.get("/api/v1/audit?limit=10").await, 200).await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let (failure, success) = (&entries[0], &entries[1]);
    assert_eq!(success["action"], "create_deployment");
    assert_eq!(success["actor"], "admin");
    assert_eq!(success["outcome"], "success");
    assert!(success["target"].as_str().unwrap().starts_with("deployment My_Site ("), "{success}");
    assert_eq!(failure["outcome"], "failure");
    assert!(failure["detail"].as_str().unwrap().contains("already exists"), "{failure}");

    let older: Vec<serde_json::Value> =
        expect_json(app.get(&format!("/api/v1/audit?before={}", failure["id"])).await, 200).await;
    assert_eq!(older.len(), 1);
    assert_eq!(app.get("/api/v1/audit?limit=0").await.status(), 400);
}
