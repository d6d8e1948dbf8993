//! Helpers for lifecycle tests: hosts, cloud-configs, waiting for jobs, and a relay that can cut a
//! host off.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::{TestApp, env, expect_json};

/// Longest a test waits for a job.
pub const JOB_DEADLINE: Duration = Duration::from_secs(600);

impl TestApp {
    /// Registers both test hosts (trust password); returns their IDs (A, B).
    pub async fn register_hosts(&self) -> [String; 2] {
        let mut ids = Vec::new();
        for (i, host) in env().hosts.iter().enumerate() {
            let body = json!({
                "name": format!("lxd-{}", host.label),
                "url": host.url.as_str(),
                "fingerprint": host.fingerprint.to_hex(),
                "trust_password": env().trust_password,
            });
            let created: Value = expect_json(self.post("/api/v1/hosts", &body).await, 201).await;
            ids.push(created["id"].as_str().expect("id").to_owned());
            assert_eq!(i + 1, ids.len());
        }
        [ids[0].clone(), ids[1].clone()]
    }

    /// Registers a host by URL (e.g. through a [`Relay`]) with a host's fingerprint.
    pub async fn register_host_at(&self, name: &str, url: &str, host: usize) -> String {
        let body = json!({
            "name": name,
            "url": url,
            "fingerprint": env().hosts[host].fingerprint.to_hex(),
            "trust_password": env().trust_password,
        });
        let created: Value = expect_json(self.post("/api/v1/hosts", &body).await, 201).await;
        created["id"].as_str().expect("id").to_owned()
    }

    /// Waits for the host cache to list every host afresh and to read every running container's
    /// memory and addresses afresh: a finished job's states show at once, the figures of
    /// containers it just started come with their readings.
    pub async fn fresh_cache(&self) {
        let since = Instant::now();
        self.state.cache.poke();
        tokio::time::timeout(JOB_DEADLINE, self.state.cache.refreshed_since(since))
            .await
            .expect("the host cache never refreshed");
        tokio::time::timeout(JOB_DEADLINE, self.state.cache.read_since(since))
            .await
            .expect("the host cache never read the running containers' memory");
    }

    /// Removes this server's certificate from both hosts' trust stores.
    pub async fn untrust(&self) {
        for host in &env().hosts {
            match host.admin().delete_certificate(&self.state.identity.fingerprint()).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => panic!("cleanup: {e}"),
            }
        }
    }

    /// Creates a cloud-config; returns its ID.
    pub async fn cloud_config(&self, namespace: &str, name: &str, image: &str, user_data: &str) -> String {
        let body = json!({"namespace": namespace, "name": name, "image": image, "user_data": user_data});
        let created: Value = expect_json(self.post("/api/v1/cloud-configs", &body).await, 201).await;
        created["id"].as_str().expect("id").to_owned()
    }

    /// Creates a deployment of the given cloud-configs; returns its ID.
    pub async fn deployment(&self, name: &str, cloud_configs: &[&str]) -> String {
        let members: Vec<Value> = cloud_configs.iter().map(|id| json!({"cloud_config_id": id})).collect();
        let created: Value = expect_json(
            self.post("/api/v1/deployments", &json!({"name": name, "cloud_configs": members})).await,
            201,
        )
        .await;
        created["id"].as_str().expect("id").to_owned()
    }

    /// Follows a job's event stream until it finishes; returns the finished job and how many
    /// progress events arrived before.
    pub async fn follow_job(&self, job: &Value) -> (Value, usize) {
        let id = job["id"].as_str().expect("job id");
        let response = self.get(&format!("/api/v1/jobs/{id}/events")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        let mut progress = 0;
        let deadline = Instant::now() + JOB_DEADLINE;
        loop {
            let chunk = tokio::time::timeout_at(deadline.into(), body.next())
                .await
                .unwrap_or_else(|_| panic!("job {id} did not finish within {JOB_DEADLINE:?}"))
                .unwrap_or_else(|| panic!("the event stream of job {id} ended before the job finished"))
                .expect("event stream");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                // A comment-only block (`: keep-alive`) carries no event.
                if event.lines().all(|l| l.is_empty() || l.starts_with(':')) {
                    continue;
                }
                let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
                let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
                let value: Value = serde_json::from_str(data).expect("event data is JSON");
                match name {
                    "progress" => progress += 1,
                    "finished" => return (value, progress),
                    other => panic!("unexpected event {other}: {data}"),
                }
            }
        }
    }

    /// Posts to a lifecycle endpoint, expects 202, and follows the job to its end.
    pub async fn run_job(&self, path: &str, body: &Value) -> Value {
        let job: Value = expect_json(self.post(path, body).await, 202).await;
        self.follow_job(&job).await.0
    }

    /// `DELETE /api/v1/deployments/{id}` and follow the job.
    pub async fn delete_deployment(&self, id: &str) -> Value {
        let job: Value = expect_json(self.delete(&format!("/api/v1/deployments/{id}")).await, 202).await;
        self.follow_job(&job).await.0
    }
}

/// Waits until `check` returns `Some`, looking every 100 ms, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP relay on loopback in front of an LXD host, which a test can cut and restore: to Mosaic,
/// a cut host is one whose daemon stopped answering (connections refused, open ones reset). TLS
/// passes through untouched, so the pinned certificate is still the host's own.
pub struct Relay {
    /// Where the relay listens.
    pub address: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    /// A relay to `target`, listening.
    pub async fn start(target: SocketAddr) -> Relay {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        let address = socket.local_addr().expect("address");
        let relay = Relay { address, target, tasks: Arc::default() };
        relay.listen(socket.listen(64).expect("listen"));
        relay
    }

    fn listen(&self, listener: tokio::net::TcpListener) {
        let (target, tasks) = (self.target, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("lock").push(conn);
            }
        });
        self.tasks.lock().expect("lock").push(accept);
    }

    /// The relay's URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Cuts the host off: stops listening and resets every open connection.
    pub fn cut(&self) {
        for task in self.tasks.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    /// Lets the host answer again, on the same address.
    pub async fn restore(&self) {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        // The aborted listener is released asynchronously; retry the bind briefly.
        let mut bound = socket.bind(self.address);
        for _ in 0..50 {
            if bound.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            bound = socket.bind(self.address);
        }
        bound.expect("re-bind the relay");
        self.listen(socket.listen(64).expect("listen"));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}
