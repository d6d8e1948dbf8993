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
    assert_eq!(me["user"]["name"], "admin");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["token"]["id"], id.as_str());

    let list: Vec<serde_json::Value> = app.list("/api/v1/tokens").await;
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
async fn admins_manage_users_roles_and_everyones_tokens() {
    let app = spawn_app().await;
    let created: serde_json::Value =
        expect_json(app.post("/api/v1/users", &json!({"name": "ops", "role": "operator"})).await, 201).await;
    assert_eq!(created["user"]["role"], "operator");
    let user = created["user"]["id"].as_str().unwrap().to_owned();
    let secret = created["token"]["secret"].as_str().unwrap().to_owned();
    let as_ops = |method: Method, path: &str| app.http.request(method, app.url(path)).bearer_auth(&secret);

    expect_error(
        app.post("/api/v1/users", &json!({"name": "ops", "role": "viewer"})).await,
        409,
        "user_name_taken",
    )
    .await;
    expect_error(
        app.post("/api/v1/users", &json!({"name": "bad name", "role": "viewer"})).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(app.post("/api/v1/users", &json!({"name": "norole"})).await, 400, "invalid_json").await;

    // An admin sees the user's tokens and can revoke one; it stops working at once.
    let tokens: Vec<serde_json::Value> = app.list(&format!("/api/v1/users/{user}/tokens")).await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["user_name"], "ops");
    let extra: serde_json::Value = expect_json(
        as_ops(Method::POST, "/api/v1/tokens").json(&json!({"name": "extra"})).send().await.unwrap(),
        201,
    )
    .await;
    let extra_id = extra["token"]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/tokens/{extra_id}")).await.status(), 204);
    let revoked = app.http.get(app.url("/api/v1/me")).bearer_auth(extra["secret"].as_str().unwrap()).send();
    expect_error(revoked.await.unwrap(), 401, "unauthorized").await;
    // Someone else's token is not an operator's to revoke.
    let admins: Vec<serde_json::Value> = app.list("/api/v1/tokens").await;
    let admin_token = admins[0]["id"].as_str().unwrap();
    let theirs = as_ops(Method::DELETE, &format!("/api/v1/tokens/{admin_token}")).send().await.unwrap();
    expect_error(theirs, 404, "token_not_found").await;

    // A role change applies to the user's existing tokens at once.
    let viewer: serde_json::Value =
        expect_json(app.patch(&format!("/api/v1/users/{user}"), &json!({"role": "viewer"})).await, 200).await;
    assert_eq!(viewer["role"], "viewer");
    let refused =
        as_ops(Method::POST, "/api/v1/deployments").json(&json!({"name": "D"})).send().await.unwrap();
    expect_error(refused, 403, "forbidden").await;

    // Disabling stops every token of the user at once; enabling brings them back.
    let disabled: serde_json::Value =
        expect_json(app.patch(&format!("/api/v1/users/{user}"), &json!({"disabled": true})).await, 200).await;
    assert!(disabled["disabled_at"].is_string());
    expect_error(as_ops(Method::GET, "/api/v1/me").send().await.unwrap(), 401, "unauthorized").await;
    expect_json::<serde_json::Value>(
        app.patch(&format!("/api/v1/users/{user}"), &json!({"disabled": false})).await,
        200,
    )
    .await;
    assert_eq!(as_ops(Method::GET, "/api/v1/me").send().await.unwrap().status(), 200);

    // The last enabled admin can be neither demoted nor disabled.
    let me: serde_json::Value = expect_json(app.get("/api/v1/me").await, 200).await;
    let admin = me["user"]["id"].as_str().unwrap();
    for change in [json!({"role": "operator"}), json!({"disabled": true})] {
        expect_error(app.patch(&format!("/api/v1/users/{admin}"), &change).await, 409, "last_admin").await;
    }
    // Nothing to change is a no-op, not an error: the user as it is.
    let same: serde_json::Value =
        expect_json(app.patch(&format!("/api/v1/users/{admin}"), &json!({})).await, 200).await;
    assert_eq!(same["role"], "admin");
    assert!(same["disabled_at"].is_null(), "{same}");
    let nobody = uuid::Uuid::new_v4();
    expect_error(
        app.patch(&format!("/api/v1/users/{nobody}"), &json!({"role": "viewer"})).await,
        404,
        "user_not_found",
    )
    .await;
}

#[tokio::test]
async fn users_and_tokens_are_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    for name in ["zed", "amy", "bob", "kim"] {
        expect_json::<serde_json::Value>(
            app.post("/api/v1/users", &json!({"name": name, "role": "viewer"})).await,
            201,
        )
        .await;
    }
    let users = app.check_paging("/api/v1/users", "id", 2).await;
    let names: Vec<&str> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "amy", "bob", "kim", "zed"]);

    for n in 0..4 {
        expect_json::<serde_json::Value>(
            app.post("/api/v1/tokens", &json!({"name": format!("ci{n}")})).await,
            201,
        )
        .await;
    }
    let mine = app.check_paging("/api/v1/tokens", "id", 2).await;
    let admin = users[0]["id"].as_str().unwrap();
    let theirs = app.check_paging(&format!("/api/v1/users/{admin}/tokens"), "id", 3).await;
    assert_eq!(theirs, mine);
    // Newest first: the last made comes first, the admin's own login token last.
    assert_eq!(mine[0]["name"], "ci3");
    assert_eq!(mine.len(), 5, "{mine:#?}");
}
