//! Bad deploy requests are refused before anything is created; scaling up and down.

use mosaic_testkit::{TestApp, env, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

async fn counts(app: &TestApp) -> (i64, i64) {
    use diesel::prelude::*;
    let mut conn = app.state.pool.get().unwrap();
    let instances: i64 = mosaic_db::schema::instances::table.count().get_result(&mut conn).unwrap();
    let jobs: i64 = mosaic_db::schema::jobs::table.count().get_result(&mut conn).unwrap();
    (instances, jobs)
}

#[tokio::test]
async fn bad_deploy_requests_are_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let [a, b] = app.register_hosts().await;
    let busybox = app.cloud_config("Web", "Site", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let no_image = app.cloud_config("Web", "Ghost", "no-such-image", "#cloud-config\nruncmd: []\n").await;
    let outsider =
        app.cloud_config("Other", "Site", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Site", &[&busybox, &no_image]).await;
    let path = format!("/api/v1/deployments/{id}/deploy");
    let one = |cc: &str, extra: Value| {
        let mut item = json!({"cloud_config_id": cc, "count": 1, "hosts": [a]});
        for (k, v) in extra.as_object().unwrap() {
            item[k] = v.clone();
        }
        json!({"cloud_configs": [item]})
    };

    let cases = [
        (one(&busybox, json!({"count": 0})), 400, "validation_failed"),
        (one(&busybox, json!({"count": -1})), 400, "validation_failed"),
        (one(&busybox, json!({"count": 101})), 400, "validation_failed"),
        (
            one(&busybox, json!({"count": 51, "hosts": [a, b], "placement": "per_host"})),
            400,
            "validation_failed",
        ),
        (one(&busybox, json!({"hosts": []})), 400, "validation_failed"),
        (one(&busybox, json!({"hosts": [a, a]})), 400, "validation_failed"),
        (one(&busybox, json!({"hosts": [uuid::Uuid::new_v4()]})), 400, "validation_failed"),
        (one(&busybox, json!({"profiles": ["default", "no-such-profile"]})), 400, "profile_missing"),
        (one(&no_image, json!({})), 400, "image_missing"),
        (one(&outsider, json!({})), 400, "validation_failed"),
        (json!({"cloud_configs": []}), 400, "validation_failed"),
        (one(&busybox, json!({"placement": "everywhere"})), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let message = expect_error(app.post(&path, &body).await, status, code).await;
        assert!(!message.is_empty());
    }
    expect_error(
        app.post(&format!("/api/v1/deployments/{}/deploy", uuid::Uuid::new_v4()), &one(&busybox, json!({})))
            .await,
        404,
        "deployment_not_found",
    )
    .await;
    assert_eq!(counts(&app).await, (0, 0), "a refused deploy writes nothing");
    let nobody = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/jobs/{nobody}"),
        format!("/api/v1/jobs/{nobody}/events"),
        format!("/api/v1/deployments/{nobody}/jobs"),
    ] {
        let code = if path.contains("/deployments/") { "deployment_not_found" } else { "job_not_found" };
        expect_error(app.get(&path).await, 404, code).await;
    }
    for action in ["start", "stop"] {
        expect_error(
            app.post(&format!("/api/v1/deployments/{nobody}/{action}"), &json!({})).await,
            404,
            "deployment_not_found",
        )
        .await;
    }
    expect_error(app.delete(&format!("/api/v1/deployments/{nobody}")).await, 404, "deployment_not_found")
        .await;
    expect_error(
        app.post(&format!("/api/v1/deployments/{id}/remove"), &json!({"instance_ids": []})).await,
        400,
        "validation_failed",
    )
    .await;
    app.untrust().await;
}

#[tokio::test]
async fn deploy_more_to_scale_up_remove_chosen_to_scale_down_and_one_job_at_a_time() {
    let app = spawn_app().await;
    let [a, b] = app.register_hosts().await;
    let web = app.cloud_config("Web", "Scale", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let id = app.deployment("Scale", &[&web]).await;
    let path = format!("/api/v1/deployments/{id}/deploy");

    // Two per host (LXDMosaic's way), then one more spread.
    let per_host = json!({"cloud_configs": [{"cloud_config_id": web, "count": 2, "hosts": [a, b], "placement": "per_host"}]});
    let first: Value = expect_json(app.post(&path, &per_host).await, 202).await;
    // A second job on the same deployment while the first runs is refused.
    expect_error(
        app.post(&format!("/api/v1/deployments/{id}/start"), &json!({})).await,
        409,
        "job_in_progress",
    )
    .await;
    assert_eq!(app.follow_job(&first).await.0["state"], "succeeded");

    // Deploy one more and start it in the same job.
    let more = json!({"start": true, "cloud_configs": [{"cloud_config_id": web, "count": 1, "hosts": [b]}]});
    assert_eq!(app.run_job(&path, &more).await["state"], "succeeded");
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["instances"]["running"], 1, "{detail:#}");
    assert_eq!(detail["instances"]["stopped"], 4);
    let mut names: Vec<(String, String)> = detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| {
            h["instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (h["host_name"].as_str().unwrap().to_owned(), i["name"].as_str().unwrap().to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    let expected: Vec<(String, String)> =
        [("lxd-a", 1), ("lxd-a", 2), ("lxd-b", 3), ("lxd-b", 4), ("lxd-b", 5)]
            .iter()
            .map(|(h, n)| (h.to_string(), format!("scale-web-{n}")))
            .collect();
    assert_eq!(names, expected);

    // Started busybox containers have no cloud-init: readiness is unknown, not failed.
    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await["state"],
        "succeeded"
    );
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["readiness"]["unknown"], 5, "{detail:#}");
    let every = detail["hosts"].as_array().unwrap().iter().flat_map(|h| h["instances"].as_array().unwrap());
    assert!(every.clone().all(|i| i["readiness_detail"] == "the image has no cloud-init"), "{detail:#}");
    // Learnt once per host and image within a job, not asked again of every container; a guest's
    // "no cloud-init" is not trusted beyond its job, so: one probe when the second deploy started
    // its container on B, then one per host for the start of the rest.
    assert_eq!(app.state.image_facts.probes(), 3);

    // Scale down: remove two chosen instances.
    let chosen: Vec<Value> =
        detail["hosts"][1]["instances"].as_array().unwrap()[..2].iter().map(|i| i["id"].clone()).collect();
    expect_error(
        app.post(
            &format!("/api/v1/deployments/{id}/remove"),
            &json!({"instance_ids": [uuid::Uuid::new_v4()]}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    let removed =
        app.run_job(&format!("/api/v1/deployments/{id}/remove"), &json!({"instance_ids": chosen})).await;
    assert_eq!(removed["state"], "succeeded", "{removed:#}");
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["instances"]["total"], 3);
    assert_eq!(detail["instances"]["running"], 3);

    let history: Vec<Value> = app.list(&format!("/api/v1/deployments/{id}/jobs")).await;
    let kinds: Vec<&str> = history.iter().map(|j| j["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["remove", "start", "deploy", "deploy"]);

    // A host with instances cannot be removed from Mosaic.
    expect_error(app.delete(&format!("/api/v1/hosts/{a}")).await, 409, "host_in_use").await;
    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    assert_eq!(app.delete(&format!("/api/v1/hosts/{a}")).await.status(), 204);
    app.untrust().await;
}
