//! Real hosts: images pulled from image servers, an LXD cluster as one host, LXD projects, the
//! socket allow-list, and forgetting a host that is gone.

mod cluster;
mod forget;
mod images;
mod projects;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use futures::StreamExt;
use lxd::{Client, InstanceFilter, InstanceName};
use mosaic_testkit::{JOB_DEADLINE, OP_TIMEOUT, TestApp, expect_json, remove_instance};
use serde_json::Value;

/// Runs async cleanup from `Drop`, on a runtime of its own in a thread of its own (the test's
/// runtime may be shutting down, or the test panicking).
fn block_on_cleanup<F>(work: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let done = std::thread::spawn(move || tokio::runtime::Runtime::new().unwrap().block_on(work)).join();
    // A cleanup failure fails the test, unless it is failing already (a second panic aborts).
    if done.is_err() && !std::thread::panicking() {
        panic!("cleanup failed");
    }
}

/// A daemon's unix socket and, optionally, a project: where a cleanup acts. Cleanup makes its own
/// clients: a client the test used keeps pooled connections whose tasks live on the test's
/// runtime, which is not running while `Drop` waits for the cleanup.
#[derive(Clone)]
pub struct On {
    socket: PathBuf,
    project: Option<String>,
}

impl On {
    /// The daemon behind `socket`, in its default project.
    pub fn daemon(socket: &Path) -> On {
        On { socket: socket.to_owned(), project: None }
    }

    /// The same daemon, in `project`.
    pub fn in_project(&self, project: &str) -> On {
        On { socket: self.socket.clone(), project: Some(project.to_owned()) }
    }

    fn client(&self) -> Client {
        let client = Client::unix(&self.socket).unwrap();
        match &self.project {
            Some(project) => client.in_project(project),
            None => client,
        }
    }
}

/// What a test leaves on the LXD daemons, removed when dropped (also when the test fails): the
/// containers of its deployments, the images and aliases it made, its projects, and the test
/// server's certificate in the daemons' trust stores. Containers go first, trust last.
#[derive(Default)]
pub struct LxdCleanup {
    /// `user.mosaic.deployment` values: every container carrying one.
    deployments: Mutex<Vec<(On, String)>>,
    /// Fingerprints.
    images: Mutex<Vec<(On, String)>>,
    /// Aliases.
    aliases: Mutex<Vec<(On, String)>>,
    /// Projects and their profiles.
    projects: Mutex<Vec<(On, String, Vec<String>)>>,
    /// Certificate fingerprints.
    trust: Mutex<Vec<(On, lxd::Fingerprint)>>,
}

impl LxdCleanup {
    /// Removes every container of `deployment` there.
    pub fn deployment(&self, on: &On, deployment: &str) {
        self.deployments.lock().unwrap().push((on.clone(), deployment.to_owned()));
    }

    /// Deletes an image.
    pub fn image(&self, on: &On, fingerprint: &str) {
        self.images.lock().unwrap().push((on.clone(), fingerprint.to_owned()));
    }

    /// Deletes an alias.
    pub fn alias(&self, on: &On, alias: &str) {
        self.aliases.lock().unwrap().push((on.clone(), alias.to_owned()));
    }

    /// Deletes a project and its profiles (after the containers).
    pub fn project(&self, on: &On, project: &str, profiles: &[&str]) {
        let profiles = profiles.iter().map(|p| (*p).to_owned()).collect();
        self.projects.lock().unwrap().push((on.clone(), project.to_owned(), profiles));
    }

    /// Removes the test server's certificate from a daemon's trust store.
    pub fn trust(&self, on: &On, app: &TestApp) {
        self.trust.lock().unwrap().push((on.clone(), app.state.identity.fingerprint()));
    }
}

impl Drop for LxdCleanup {
    fn drop(&mut self) {
        let deployments = std::mem::take(&mut *self.deployments.lock().unwrap());
        let images = std::mem::take(&mut *self.images.lock().unwrap());
        let aliases = std::mem::take(&mut *self.aliases.lock().unwrap());
        let projects = std::mem::take(&mut *self.projects.lock().unwrap());
        let trust = std::mem::take(&mut *self.trust.lock().unwrap());
        block_on_cleanup(async move {
            for (on, deployment) in deployments {
                let client = on.client();
                let filter = InstanceFilter::config_eq("user.mosaic.deployment", &deployment).unwrap();
                for instance in client.instances(Some(&filter)).await.unwrap() {
                    remove_instance(&client, &InstanceName::parse(&instance.name).unwrap()).await;
                }
            }
            for (on, alias) in aliases {
                let _ = on.client().delete_image_alias(&alias).await;
            }
            for (on, fingerprint) in images {
                if let Ok(op) = on.client().delete_image(&fingerprint).await {
                    let _ = op.wait(OP_TIMEOUT).await;
                }
            }
            for (on, project, profiles) in projects {
                let scoped = on.in_project(&project).client();
                for profile in profiles {
                    let _ = scoped.delete_profile(&profile).await;
                }
                if let Err(e) = on.client().delete_project(&project).await
                    && !e.is_not_found()
                {
                    panic!("cleanup could not delete project {project}: {e}");
                }
            }
            for (on, fingerprint) in trust {
                match on.client().delete_certificate(&fingerprint).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => panic!("cleanup could not untrust {fingerprint}: {e}"),
                }
            }
        });
    }
}

/// Follows a job's event stream to its end; returns the finished job and every `progress` event's
/// job, in order (what a person watching saw).
pub async fn follow_all(app: &TestApp, job: &Value) -> (Value, Vec<Value>) {
    let id = job["id"].as_str().expect("job id");
    let response = app.get(&format!("/api/v1/jobs/{id}/events")).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let (mut buffer, mut seen) = (String::new(), Vec::new());
    let deadline = Instant::now() + JOB_DEADLINE;
    loop {
        let chunk = tokio::time::timeout_at(deadline.into(), body.next())
            .await
            .unwrap_or_else(|_| panic!("job {id} did not finish within {JOB_DEADLINE:?}"))
            .unwrap_or_else(|| panic!("the event stream of job {id} ended early"))
            .expect("event stream");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
            let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
            let value: Value = serde_json::from_str(data).expect("event data is JSON");
            match name {
                "progress" => seen.push(value),
                "finished" => return (value, seen),
                other => panic!("unexpected event {other}: {data}"),
            }
        }
    }
}

/// A deployment's detail.
pub async fn detail(app: &TestApp, id: &str) -> Value {
    expect_json(app.get(&format!("/api/v1/deployments/{id}")).await, 200).await
}

/// A deployment's instances, from every host group.
pub fn instances(detail: &Value) -> Vec<Value> {
    detail["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["instances"].as_array().unwrap().clone())
        .collect()
}
