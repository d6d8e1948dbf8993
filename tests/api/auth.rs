//! Authentication: every protected operation refuses a missing or wrong token; tokens and users.

use mosaic_testkit::{expect_error, expect_json, spawn_app};
use reqwest::Method;
use serde_json::json;

/// Every operation the document marks as needing a token, with its path parameters filled in.
fn protected_operations() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(mosaic_api::openapi::document()).expect("document");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let secured = op.get("security").and_then(|s| s.as_array()).is_some_and(|s| !s.is_empty());
            if secured {
                let concrete =
                    path.replace("{revision}", "1")
                        .split('/')
                        .map(|seg| {
                            if seg.starts_with('{') {
                                uuid::Uuid::new_v4().to_string()
                            } else {
                                seg.to_owned()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("/");
                ops.push((method.to_uppercase().parse().expect("method"), concrete));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_protected_operation_answers_401_without_a_valid_token() {
    let app = spawn_app().await;
    let ops = protected_operations();
    assert!(ops.len() >= 25, "expected every operation but health to be protected, found {}", ops.len());
    for (method, path) in ops {
        for token in [None, Some("mosaic_wrong"), Some("")] {
            let mut req = app.http.request(method.clone(), app.url(&path)).json(&json!({}));
            if let Some(t) = token {
                req = req.header("Authorization", format!("Bearer {t}"));
            }
            let response = req.send().await.unwrap();
            assert_eq!(
                response.headers().get("www-authenticate").map(|v| v.to_str().unwrap()),
                Some("Bearer"),
                "{method} {path}"
            );
            expect_error(response, 401, "unauthorized").await;
        }
    }
}

#[tokio::test]
async fn tokens_can_be_created_listed_used_and_revoked() {
    let app = spawn_app().await;
    let created: serde_json::Value =
        expect_json(app.post("/api/v1/tokens", &json!({"name": "ci"})).await, 201).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_str().unwrap().to_owned();

    // The new token works and belongs to the admin.
    let me: serde_json::Value =
        expect_json(app.http.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap(), 200)
            .await;
    assert_eq!(me["name"], "admin");

    let list: Vec<serde_json::Value> = expect_json(app.get("/api/v1/tokens").await, 200).await;
    assert!(list.iter().any(|t| t["id"] == id.as_str() && t["name"] == "ci"));
    assert!(list.iter().all(|t| t.get("secret").is_none() && t.get("token_hash").is_none()));

    assert_eq!(app.delete(&format!("/api/v1/tokens/{id}")).await.status(), 204);
    let after = app.http.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
    expect_error(after, 401, "unauthorized").await;
    expect_error(app.delete(&format!("/api/v1/tokens/{id}")).await, 404, "token_not_found").await;

    // Stored hashed: the secret itself is nowhere in the table.
    use diesel::prelude::*;
    let mut conn = app.state.pool.get().unwrap();
    let hashes: Vec<Vec<u8>> = mosaic_db::schema::api_tokens::table
        .select(mosaic_db::schema::api_tokens::token_hash)
        .load(&mut conn)
        .unwrap();
    assert!(hashes.iter().all(|h| h.len() == 32 && h.as_slice() != secret.as_bytes()));
}

#[tokio::test]
async fn token_names_are_validated() {
    let app = spawn_app().await;
    expect_error(app.post("/api/v1/tokens", &json!({"name": ""})).await, 400, "validation_failed").await;
    expect_error(
        app.post("/api/v1/tokens", &json!({"name": "x".repeat(101)})).await,
        400,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = spawn_app().await;
    let created: serde_json::Value =
        expect_json(app.post("/api/v1/users", &json!({"name": "operator"})).await, 201).await;
    assert_eq!(created["user"]["is_admin"], false);
    let secret = created["token"]["secret"].as_str().unwrap();

    let as_operator = app.http.get(app.url("/api/v1/users")).bearer_auth(secret).send().await.unwrap();
    expect_error(as_operator, 403, "forbidden").await;
    let create =
        app.http.post(app.url("/api/v1/users")).bearer_auth(secret).json(&json!({"name": "x"})).send().await;
    expect_error(create.unwrap(), 403, "forbidden").await;

    expect_error(app.post("/api/v1/users", &json!({"name": "operator"})).await, 409, "user_name_taken").await;
    expect_error(app.post("/api/v1/users", &json!({"name": "bad name"})).await, 400, "validation_failed")
        .await;
    let users: Vec<serde_json::Value> = expect_json(app.get("/api/v1/users").await, 200).await;
    let names: Vec<_> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "operator"]);
}
