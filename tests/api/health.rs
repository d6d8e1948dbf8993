use mosaic_testkit::{expect_json, spawn_app};

#[tokio::test]
async fn health_reports_the_database_and_needs_no_token() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/api/health")).send().await.unwrap();
    let body: serde_json::Value = expect_json(response, 200).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], true);
    assert_eq!(body["hosts"], serde_json::json!({"total": 0, "online": 0}));
    // The detailed view names hosts, so it needs a token.
    let anonymous = app.http.get(app.url("/api/v1/health")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let detail: serde_json::Value = expect_json(app.get("/api/v1/health").await, 200).await;
    assert_eq!(detail["host_details"], serde_json::json!([]));
    assert_eq!(detail["database"], true);
}
