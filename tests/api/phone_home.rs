//! cloud-init's `phone_home`, through an LXD proxy device to Mosaic on the host's loopback.

use diesel::prelude::*;
use mosaic_testkit::{env, expect_error, expect_json, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn an_instance_phones_home_once_with_its_own_secret() {
    let app = spawn_app().await;
    let [a, _] = app.register_hosts().await;
    let cc = app
        .cloud_config(
            "Web",
            "Phone",
            &env().image_cloudinit,
            "#cloud-config\nruncmd:\n  - [sh, -c, \"echo phoning\"]\n",
        )
        .await;
    let id = app.deployment("Phone", &[&cc]).await;
    let deploy =
        json!({"phone_home": true, "cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [a]}]});
    assert_eq!(app.run_job(&format!("/api/v1/deployments/{id}/deploy"), &deploy).await["state"], "succeeded");

    // The container carries the proxy device and the phone_home stanza.
    let container =
        env().hosts[0].admin().instance(&lxd::InstanceName::parse("phone-web-1").unwrap()).await.unwrap();
    assert_eq!(container.devices["mosaic-phone-home"]["bind"], "instance");
    // It leads to the phone-home listener, not to the API.
    assert_eq!(
        container.devices["mosaic-phone-home"]["connect"],
        format!("tcp:127.0.0.1:{}", app.state.phone_home_address.port())
    );
    let api = app.http.get(format!("http://{}/api/v1/deployments", app.state.phone_home_address)).send();
    assert_eq!(api.await.unwrap().status(), 404, "the phone-home listener serves nothing but phone-home");
    assert!(container.config["user.user-data"].contains("phone_home"));

    assert_eq!(
        app.run_job(&format!("/api/v1/deployments/{id}/start"), &json!({})).await["state"],
        "succeeded"
    );
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    let instance = &detail["hosts"][0]["instances"][0];
    assert!(instance["phoned_home_at"].is_string(), "the instance phoned home: {instance:#}");
    assert_eq!(instance["readiness"], "ready", "{instance:#}");

    // Only its own secret is accepted, and only once.
    let instance_id: uuid::Uuid = instance["id"].as_str().unwrap().parse().unwrap();
    let secret: String = {
        let mut conn = app.state.pool.get().unwrap();
        mosaic_db::schema::instances::table
            .find(instance_id)
            .select(mosaic_db::schema::instances::phone_home_secret)
            .first::<Option<String>>(&mut conn)
            .unwrap()
            .unwrap()
    };
    // Phone-home has a listener of its own, which serves nothing else.
    let listener = app.state.phone_home_address;
    let post = |path: String| app.http.post(format!("http://{listener}{path}")).body("instance_id=x").send();
    expect_error(post(format!("/api/phone-home/{instance_id}/wrong")).await.unwrap(), 403, "forbidden").await;
    expect_error(
        post(format!("/api/phone-home/{instance_id}/{secret}")).await.unwrap(),
        409,
        "already_phoned_home",
    )
    .await;
    expect_error(
        post(format!("/api/phone-home/{}/{secret}", uuid::Uuid::new_v4())).await.unwrap(),
        404,
        "instance_not_found",
    )
    .await;

    // A phone-home never turns cloud-init's "failed" into "ready".
    {
        use mosaic_db::schema::instances::dsl as i;
        let mut conn = app.state.pool.get().unwrap();
        diesel::update(i::instances.find(instance_id))
            .set((i::readiness.eq("failed"), i::phoned_home_at.eq(None::<chrono::DateTime<chrono::Utc>>)))
            .execute(&mut conn)
            .unwrap();
    }
    let late = post(format!("/api/phone-home/{instance_id}/{secret}")).await.unwrap();
    assert_eq!(late.status(), 204);
    let detail: Value = expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await;
    assert_eq!(detail["hosts"][0]["instances"][0]["readiness"], "failed");

    assert_eq!(app.delete_deployment(&id).await["state"], "succeeded");
    app.untrust().await;
}
