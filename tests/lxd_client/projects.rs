//! LXD projects: a client scoped to a project sees and changes only that project.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use lxd::{
    Client, EventType, ExecRequest, InstanceName, InstanceSource, InstancesPost, ProfilesPost, ProjectsPost,
};
use mosaic_testkit::{OP_TIMEOUT, env, remove_instance, unique_name};

/// Removes the project's instance, its profile and the project when dropped, also on failure.
struct ProjectCleanup {
    admin: Client,
    project: String,
    instance: InstanceName,
    profile: String,
}

impl Drop for ProjectCleanup {
    fn drop(&mut self) {
        let (admin, project) = (self.admin.clone(), self.project.clone());
        let (instance, profile) = (self.instance.clone(), self.profile.clone());
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let scoped = admin.clone().in_project(&project);
                remove_instance(&scoped, &instance).await;
                let _ = scoped.delete_profile(&profile).await;
                if let Err(e) = admin.delete_project(&project).await
                    && !e.is_not_found()
                {
                    panic!("cleanup could not delete project {project}: {e}");
                }
            })
        })
        .join()
        .unwrap();
    }
}

#[tokio::test]
async fn a_project_client_works_inside_its_project_only() {
    let host = &env().hosts[0];
    let project = unique_name("proj").to_string();
    let name = unique_name("inproj");
    let _cleanup = ProjectCleanup {
        admin: host.admin(),
        project: project.clone(),
        instance: name.clone(),
        profile: "web".into(),
    };
    let client = host.client();
    client
        .create_project(
            &ProjectsPost::new(&project).own_profiles(true).own_images(false).description("mosaic test"),
        )
        .await
        .expect("create the project");
    assert!(client.projects().await.unwrap().iter().any(|p| p.name == project));

    let scoped = client.clone().in_project(&project);
    assert_eq!(scoped.project(), Some(project.as_str()));
    // Its own profiles: an empty `default`, then ours with a root disk.
    let root: BTreeMap<String, String> = [("type", "disk"), ("path", "/"), ("pool", "default")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    scoped
        .create_profile(&ProfilesPost::new("web").config("user.mosaic.role", "web").device("root", root))
        .await
        .expect("create the project's profile");
    let mut profiles: Vec<String> = scoped.profiles().await.unwrap().into_iter().map(|p| p.name).collect();
    profiles.sort();
    assert_eq!(profiles, ["default", "web"]);
    assert!(client.profile("web").await.unwrap_err().is_not_found(), "the profile is not in default");

    // Events of the project only; and a quiet stream stays open past its silence limit (3 s):
    // LXD answers the pings.
    let mut events = scoped.events_with_ping(&[EventType::Lifecycle], Duration::from_secs(1)).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_secs(4), events.next()).await;
    assert!(quiet.is_err(), "a quiet project's stream must stay open, got {quiet:?}");

    let post =
        InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox)).profiles(["web"]);
    scoped.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.expect("create in the project");
    scoped.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();

    let listed = scoped.instances(None).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), [name.as_str()]);
    assert_eq!(listed[0].project, project);
    assert_eq!(listed[0].expanded_config.get("user.mosaic.role").map(String::as_str), Some("web"));
    assert!(client.instance_opt(&name).await.unwrap().is_none(), "not in default");
    assert!(!client.instances(None).await.unwrap().iter().any(|i| i.name == name.as_str()));

    // Exec (its log paths) and files go to the project's instance.
    let out = scoped
        .exec(&name, &ExecRequest::new(["sh", "-c", "echo in-project | tee /tmp/p"]), OP_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(out.stdout, "in-project\n");
    assert_eq!(scoped.read_file_tail(&name, "/tmp/p", 100).await.unwrap().text(), "in-project\n");

    // The project's events said so, with the project named.
    let mut seen = Vec::new();
    while !seen.iter().any(|a| a == "instance-started") {
        let event = tokio::time::timeout(OP_TIMEOUT, events.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(event.project, project);
        let lifecycle = event.lifecycle().unwrap();
        assert_eq!(lifecycle.instance_name(), Some(name.as_str()), "{lifecycle:?}");
        seen.push(lifecycle.action);
    }
    assert!(seen.iter().any(|a| a == "instance-created"), "{seen:?}");
}
