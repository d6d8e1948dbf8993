//! Who may do what: every operation of the OpenAPI document against every role, and tokens
//! limited by role, deployments and expiry.

use diesel::prelude::*;
use mosaic_testkit::{TestApp, expect_error, expect_json, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

const ROLES: [&str; 3] = ["viewer", "operator", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or_else(|| panic!("unknown role {role}"))
}

/// Every secured operation of the served document: its id, method, a concrete path (random IDs)
/// and the role it publishes in `x-required-role`.
async fn operations(app: &TestApp) -> Vec<(String, Method, String, String)> {
    let doc: Value = expect_json(app.http.get(app.url("/api/openapi.json")).send().await.unwrap(), 200).await;
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").and_then(Value::as_array).is_none_or(|s| s.is_empty()) {
                continue;
            }
            let role = op["x-required-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{path} publishes no role"))
                .to_owned();
            let concrete = path
                .replace("{revision}", "1")
                .split('/')
                .map(
                    |seg| {
                        if seg.starts_with('{') { uuid::Uuid::new_v4().to_string() } else { seg.to_owned() }
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            let id = op["operationId"].as_str().unwrap().to_owned();
            ops.push((id, method.to_uppercase().parse().unwrap(), concrete, role));
        }
    }
    ops
}

/// Creates a user with `role`; returns its first token's secret.
async fn user(app: &TestApp, name: &str, role: &str) -> String {
    let created: Value =
        expect_json(app.post("/api/v1/users", &json!({"name": name, "role": role})).await, 201).await;
    created["token"]["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_operation_refuses_every_role_below_its_own_and_the_refusal_is_audited() {
    let app = spawn_app().await;
    let tokens = [user(&app, "v", "viewer").await, user(&app, "o", "operator").await, app.token.clone()];
    let ops = operations(&app).await;
    assert!(ops.len() >= 40, "every operation but health is secured: found {}", ops.len());
    let (mut pairs, mut refused) = (0, 0);
    for (id, method, path, required) in &ops {
        for (role, token) in ROLES.iter().zip(&tokens) {
            pairs += 1;
            let mut request = app.http.request(method.clone(), app.url(path)).bearer_auth(token);
            if *method != Method::GET && *method != Method::DELETE {
                request = request.json(&json!({}));
            }
            let response = request.send().await.unwrap();
            if rank(role) < rank(required) {
                refused += 1;
                let message = expect_error(response, 403, "forbidden").await;
                assert!(message.contains(required.as_str()), "{id} as {role}: {message}");
            } else {
                assert_ne!(response.status(), 403, "{id} ({method} {path}) refused a {role}");
            }
        }
    }
    println!("role x operation pairs checked: {pairs} ({refused} refusals)");
    // Every refusal is in the audit log, as a failure of that operation by that user.
    let mut conn = app.state.pool.get().unwrap();
    use mosaic_db::schema::audit_log::dsl as a;
    let audited: i64 = a::audit_log
        .filter(a::outcome.eq("failure"))
        .filter(a::actor_name.eq_any(["v", "o"]))
        .filter(a::detail.like("%needs the %"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(audited, refused, "every refusal is recorded");
    let one: (String, String) = a::audit_log
        .filter(a::actor_name.eq("v"))
        .filter(a::action.eq("create_user"))
        .select((a::outcome, a::detail))
        .first(&mut conn)
        .unwrap();
    assert_eq!(one.0, "failure");
    assert!(one.1.contains("admin"), "{one:?}");
}

#[tokio::test]
async fn a_token_limited_to_a_deployment_acts_on_that_one_only() {
    let app = spawn_app().await;
    let mine: Value =
        expect_json(app.post("/api/v1/deployments", &json!({"name": "My_Site"})).await, 201).await;
    let other: Value =
        expect_json(app.post("/api/v1/deployments", &json!({"name": "Other"})).await, 201).await;
    let (mine, other) = (mine["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    let created: Value = expect_json(
        app.post("/api/v1/tokens", &json!({"name": "ci", "role": "operator", "deployments": [mine]})).await,
        201,
    )
    .await;
    assert_eq!(created["token"]["deployments"], json!([mine]));
    assert_eq!(created["token"]["role"], "operator");
    let ci = created["secret"].as_str().unwrap().to_owned();
    let as_ci = |method: Method, path: &str| app.http.request(method, app.url(path)).bearer_auth(&ci);

    // Its own deployment: readable and changeable (the role allows it).
    assert_eq!(
        as_ci(Method::GET, &format!("/api/v1/deployments/{mine}")).send().await.unwrap().status(),
        200
    );
    let renamed =
        as_ci(Method::PATCH, &format!("/api/v1/deployments/{mine}")).json(&json!({"name": "My_Site_2"}));
    assert_eq!(renamed.send().await.unwrap().status(), 200);
    let list: Value = expect_json(as_ci(Method::GET, "/api/v1/deployments").send().await.unwrap(), 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "the list shows only its deployment");
    assert_eq!(list["items"][0]["id"], mine);

    // Anything else is refused: another deployment, a new one, other resources' changes, and
    // making tokens (which could be wider than itself).
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/deployments/{other}"), None),
        (Method::POST, format!("/api/v1/deployments/{other}/start"), Some(json!({}))),
        (Method::POST, "/api/v1/deployments".to_owned(), Some(json!({"name": "New"}))),
        (Method::POST, "/api/v1/cloud-configs".to_owned(), Some(json!({}))),
        (Method::POST, "/api/v1/tokens".to_owned(), Some(json!({"name": "wider"}))),
        (Method::GET, format!("/api/v1/jobs/{}", uuid::Uuid::new_v4()), None),
    ] {
        let mut request = as_ci(method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let message = expect_error(request.send().await.unwrap(), 403, "forbidden").await;
        assert!(message.contains("its deployments"), "{method} {path}: {message}");
    }
    // Reads not about one deployment stay open to it.
    assert_eq!(as_ci(Method::GET, "/api/v1/cloud-configs").send().await.unwrap().status(), 200);
    // Its jobs, yes; the other deployment's, no.
    let stop: Value = expect_json(
        as_ci(Method::POST, &format!("/api/v1/deployments/{mine}/stop"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    let job = stop["id"].as_str().unwrap();
    assert_eq!(as_ci(Method::GET, &format!("/api/v1/jobs/{job}")).send().await.unwrap().status(), 200);
    let theirs: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{other}/stop"), &json!({})).await, 202).await;
    let theirs = theirs["id"].as_str().unwrap();
    expect_error(
        as_ci(Method::GET, &format!("/api/v1/jobs/{theirs}")).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    // The job list shows it only its deployment's jobs.
    let jobs: Value = expect_json(as_ci(Method::GET, "/api/v1/jobs").send().await.unwrap(), 200).await;
    let ids: Vec<&str> =
        jobs["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [job]);
}

#[tokio::test]
async fn a_token_never_gives_more_than_the_one_that_made_it_and_expires() {
    let app = spawn_app().await;
    let viewer = user(&app, "v", "viewer").await;
    let as_viewer =
        |body: Value| app.http.post(app.url("/api/v1/tokens")).bearer_auth(&viewer).json(&body).send();
    let message = expect_error(
        as_viewer(json!({"name": "up", "role": "admin"})).await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert!(message.contains("above"), "{message}");

    // An admin's token limited to viewer is a viewer.
    let limited: Value =
        expect_json(app.post("/api/v1/tokens", &json!({"name": "ro", "role": "viewer"})).await, 201).await;
    let ro = limited["secret"].as_str().unwrap();
    let me: Value =
        expect_json(app.http.get(app.url("/api/v1/me")).bearer_auth(ro).send().await.unwrap(), 200).await;
    assert_eq!((me["user"]["role"].as_str(), me["role"].as_str()), (Some("admin"), Some("viewer")));
    let refused = app.http.get(app.url("/api/v1/users")).bearer_auth(ro).send().await.unwrap();
    expect_error(refused, 403, "forbidden").await;
    // A token it makes without a limit is limited like it, never the user's full role.
    let child: Value = expect_json(
        app.http
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(ro)
            .json(&json!({"name": "child"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(child["token"]["role"], "viewer");
    let me: Value = expect_json(
        app.http
            .get(app.url("/api/v1/me"))
            .bearer_auth(child["secret"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["role"], "viewer");

    // Expiry: in the past is refused; a token past its expiry stops working.
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    expect_error(
        app.post("/api/v1/tokens", &json!({"name": "old", "expires_at": past})).await,
        400,
        "validation_failed",
    )
    .await;
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let expiring: Value =
        expect_json(app.post("/api/v1/tokens", &json!({"name": "soon", "expires_at": soon})).await, 201)
            .await;
    let secret = expiring["secret"].as_str().unwrap();
    // A token made by an expiring token cannot outlive it.
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let child = app
        .http
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(secret)
        .json(&json!({"name": "child", "expires_at": later}));
    expect_error(child.send().await.unwrap(), 400, "validation_failed").await;
    assert_eq!(app.http.get(app.url("/api/v1/me")).bearer_auth(secret).send().await.unwrap().status(), 200);
    {
        use mosaic_db::schema::api_tokens::dsl as t;
        let id: uuid::Uuid = expiring["token"]["id"].as_str().unwrap().parse().unwrap();
        let mut conn = app.state.pool.get().unwrap();
        diesel::update(t::api_tokens.find(id))
            .set(t::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(&mut conn)
            .unwrap();
    }
    expect_error(
        app.http.get(app.url("/api/v1/me")).bearer_auth(secret).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
}
