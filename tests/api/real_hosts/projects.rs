//! LXD projects: daemon a registered twice, in `default` and in a project of its own with its own
//! profiles; each host sees and changes only its project.

use std::collections::BTreeMap;

use lxd::{InstanceFilter, ProfilesPost, ProjectsPost};
use mosaic_testkit::{env, expect_error, expect_json, spawn_app, unique_name};
use serde_json::{Value, json};

use super::{LxdCleanup, On, detail, instances};

#[tokio::test]
async fn the_same_daemon_in_two_projects_is_two_hosts_each_in_its_own() {
    let a = &env().hosts[0];
    let cleanup = LxdCleanup::default();
    let on_a = On::daemon(&a.socket);
    let project = unique_name("proj").to_string();
    let admin = a.admin();
    admin.create_project(&ProjectsPost::new(&project).own_profiles(true).own_images(false)).await.unwrap();
    cleanup.project(&on_a, &project, &["web"]);
    let scoped = admin.clone().in_project(&project);
    let root: BTreeMap<String, String> = [("type", "disk"), ("path", "/"), ("pool", "default")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    scoped
        .create_profile(&ProfilesPost::new("web").config("user.mosaic-test.role", "web").device("root", root))
        .await
        .unwrap();

    let app = spawn_app().await;
    cleanup.trust(&on_a, &app);
    let register = |name: &str, project: Option<&str>| {
        let mut body = json!({"name": name, "url": a.url.as_str(), "fingerprint": a.fingerprint.to_hex(),
                              "trust_password": env().trust_password});
        if let Some(project) = project {
            body["project"] = json!(project);
        }
        body
    };
    let plain: Value = expect_json(app.post("/api/v1/hosts", &register("a", None)).await, 201).await;
    let team: Value =
        expect_json(app.post("/api/v1/hosts", &register("a-team", Some(&project))).await, 201).await;
    assert_eq!(plain["project"], "default");
    assert_eq!(team["project"], project.as_str());
    assert_eq!(team["status"]["online"], true, "{team:#}");
    assert_eq!(team["members"], json!([]), "a standalone daemon has no members");
    expect_error(
        app.post("/api/v1/hosts", &register("a-team-2", Some(&project))).await,
        409,
        "host_already_registered",
    )
    .await;
    let nowhere = unique_name("noproj").to_string();
    expect_error(
        app.post("/api/v1/hosts", &register("a-none", Some(&nowhere))).await,
        422,
        "project_missing",
    )
    .await;
    expect_error(app.post("/api/v1/hosts", &register("a-bad", Some("a b"))).await, 400, "validation_failed")
        .await;
    let (plain, team) = (plain["id"].as_str().unwrap().to_owned(), team["id"].as_str().unwrap().to_owned());

    // The project's profiles; the default project's images (the project shares them).
    let names =
        |list: Vec<Value>| list.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let profiles: Vec<Value> =
        expect_json(app.get(&format!("/api/v1/hosts/{team}/profiles")).await, 200).await;
    assert_eq!(names(profiles), ["default", "web"]);
    let profiles: Vec<Value> =
        expect_json(app.get(&format!("/api/v1/hosts/{plain}/profiles")).await, 200).await;
    assert!(!names(profiles).contains(&"web".to_owned()));
    let images: Vec<Value> = expect_json(app.get(&format!("/api/v1/hosts/{team}/images")).await, 200).await;
    assert!(
        images.iter().any(|i| i["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == env().image_busybox.as_str()))
    );

    // A deploy to the project's host makes its containers in the project, with its profile.
    let cc = app.cloud_config("Team", "Site", &env().image_busybox, "#cloud-config\nruncmd: []\n").await;
    let deployment = app.deployment(unique_name("projdep").as_ref(), &[&cc]).await;
    cleanup.deployment(&on_a.in_project(&project), &deployment);
    let deploy = json!({"start": true, "cloud_configs": [{"cloud_config_id": cc, "count": 2, "hosts": [team],
                                                           "profiles": ["web"]}]});
    let done = app.run_job(&format!("/api/v1/deployments/{deployment}/deploy"), &deploy).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let filter = InstanceFilter::config_eq("user.mosaic.deployment", &deployment).unwrap();
    let inside = scoped.instances(Some(&filter)).await.unwrap();
    assert_eq!(inside.len(), 2);
    assert!(inside.iter().all(|i| i.project == project && i.profiles == ["web"] && i.is_running()));
    for instance in &inside {
        let name = lxd::InstanceName::parse(&instance.name).unwrap();
        assert!(admin.instance_opt(&name).await.unwrap().is_none(), "nothing in the default project");
    }
    // A profile of the default project only is refused for the project's host.
    let wrong = json!({"cloud_configs": [{"cloud_config_id": cc, "count": 1, "hosts": [plain], "profiles": ["web"]}]});
    expect_error(
        app.post(&format!("/api/v1/deployments/{deployment}/deploy"), &wrong).await,
        400,
        "profile_missing",
    )
    .await;

    // The overview reads each host in its project: running, not missing, nothing orphaned.
    app.fresh_cache().await;
    let shown = detail(&app, &deployment).await;
    assert_eq!(shown["instances"]["running"], 2, "{shown:#}");
    assert_eq!(shown["instances"]["missing"], 0);
    assert!(shown["orphaned"].as_array().unwrap().is_empty());
    assert!(instances(&shown).iter().all(|i| i["host_id"] == team.as_str() && i["location"].is_null()));

    assert_eq!(app.delete_deployment(&deployment).await["state"], "succeeded");
    assert!(scoped.instances(Some(&filter)).await.unwrap().is_empty());
}
