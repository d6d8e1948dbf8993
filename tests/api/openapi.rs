//! The committed OpenAPI document matches what the server generates and serves.

use mosaic_testkit::{expect_json, spawn_app};

fn committed() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json exists");
    serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
}

#[test]
fn the_committed_document_is_up_to_date() {
    let generated = serde_json::to_value(mosaic_api::openapi::document()).unwrap();
    assert!(
        generated == committed(),
        "openapi/openapi.json is stale: regenerate it with\n    cargo run -p mosaic-api --bin mosaic -- openapi > openapi/openapi.json"
    );
}

#[tokio::test]
async fn the_server_serves_the_document_and_the_docs_page() {
    let app = spawn_app().await;
    let served: serde_json::Value =
        expect_json(app.http.get(app.url("/api/openapi.json")).send().await.unwrap(), 200).await;
    assert_eq!(served, committed());
    assert_eq!(served["openapi"], "3.1.0");

    let page = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    // The page's assets are served by Mosaic itself (vendored), not fetched from a CDN.
    let asset = app.http.get(app.url("/api/docs/swagger-ui-bundle.js")).send().await.unwrap();
    assert_eq!(asset.status(), 200);
}
