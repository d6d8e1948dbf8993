//! Who did what: successes and failures are both recorded.

use mosaic_testkit::spawn_app;
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

    let entries: Vec<serde_json::Value> = app.list("/api/v1/audit?limit=10").await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let (failure, success) = (&entries[0], &entries[1]);
    assert_eq!(success["action"], "create_deployment");
    assert_eq!(success["actor"], "admin");
    assert_eq!(success["outcome"], "success");
    assert!(success["target"].as_str().unwrap().starts_with("deployment My_Site ("), "{success}");
    assert_eq!(failure["outcome"], "failure");
    assert!(failure["detail"].as_str().unwrap().contains("already exists"), "{failure}");

    // A page at a time, newest first: every entry exactly once, whatever the page size.
    for n in 0..5 {
        app.post("/api/v1/deployments", &json!({"name": format!("Paged{n}")})).await;
    }
    let all: Vec<serde_json::Value> = app.list("/api/v1/audit").await;
    assert_eq!(all.len(), 7);
    let paged: Vec<serde_json::Value> = app.list_all("/api/v1/audit", 2).await;
    assert_eq!(paged, all);
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    for bad in ["limit=0", "limit=501", "limit=x", "cursor=nonsense", "before=3"] {
        let response = app.get(&format!("/api/v1/audit?{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{bad}: {body}");
    }
}
