//! Did the cloud-config apply? Asked of cloud-init itself, through LXD exec.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lxd::{ExecRequest, InstanceName};
use mosaic_types::HostId;
use tokio::sync::OnceCell;

/// Why an instance's readiness is `unknown`.
pub const NO_CLOUD_INIT: &str = "the image has no cloud-init";

/// An image (its fingerprint) on a host.
type ImageOnHost = (HostId, String);

/// Whether images have cloud-init, learnt once per host and image fingerprint.
///
/// An image's content never changes under its fingerprint, so one cheap probe in the first
/// container of an image tells about every later one. Without it, every container of an image
/// lacking cloud-init would cost LXD a full exec (an operation, two recorded logs, their reads and
/// deletes) just to learn that again: on two cores that contention slowed a 24-container deploy
/// by a fifth.
#[derive(Debug, Default)]
pub struct ImageFacts {
    cloud_init: Mutex<HashMap<ImageOnHost, Arc<OnceCell<bool>>>>,
    /// Probes made so far.
    probes: std::sync::atomic::AtomicU64,
}

impl ImageFacts {
    /// Whether the image has cloud-init, probing `name` (a running container of it) if nobody has
    /// yet. Concurrent callers wait for one probe; a probe that cannot tell is not remembered, so
    /// the next caller asks again. `None`: nobody could tell.
    pub async fn has_cloud_init(
        &self,
        client: &lxd::Client,
        host: HostId,
        fingerprint: &str,
        name: &InstanceName,
    ) -> Option<bool> {
        let cell = self
            .cloud_init
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((host, fingerprint.to_owned()))
            .or_default()
            .clone();
        let probe = || {
            self.probes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            probe(client, name)
        };
        cell.get_or_try_init(probe).await.ok().copied()
    }

    /// How many probes this server has made (a test shows it is one per host and image).
    pub fn probes(&self) -> u64 {
        self.probes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Runs `cloud-init --version` without recording output: exit 0 means it is there, 126/127 (or
/// LXD failing to find the program) means it is not; anything else cannot tell.
async fn probe(client: &lxd::Client, name: &InstanceName) -> Result<bool, ()> {
    let request = ExecRequest::new(["cloud-init", "--version"]).without_output();
    match client.exec(name, &request, Duration::from_secs(30)).await {
        Ok(out) if out.exit_code == 0 => Ok(true),
        Ok(out) if matches!(out.exit_code, 126 | 127) => Ok(false),
        Err(e) if looks_missing(&e.to_string()) => Ok(false),
        Ok(_) | Err(_) => Err(()),
    }
}

/// Runs `cloud-init status --wait --format json` in the instance (bounded by `timeout`) and reads
/// the verdict: `ready`, `failed` (with cloud-init's errors), `unknown` (no cloud-init in the
/// image) or `pending` (still running when the wait ended, or LXD could not be asked).
pub async fn check(
    client: &lxd::Client,
    name: &InstanceName,
    timeout: Duration,
) -> (&'static str, Option<String>) {
    let request = ExecRequest::new(["cloud-init", "status", "--wait", "--format", "json"]);
    match client.exec(name, &request, timeout).await {
        Ok(out) => verdict(out.exit_code, &out.stdout, &out.stderr),
        Err(lxd::Error::OperationTimeout { .. }) => {
            ("pending", Some(format!("cloud-init was still running after {} s", timeout.as_secs())))
        }
        Err(e) if looks_missing(&e.to_string()) => ("unknown", Some(NO_CLOUD_INIT.into())),
        Err(e) => ("pending", Some(format!("could not ask cloud-init: {e}"))),
    }
}

fn looks_missing(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("no such file") || text.contains("not found") || text.contains("executable file")
}

/// Reads cloud-init's answer. Exit 0 is done; 1 is an error; 2 is "done with recoverable errors"
/// on newer cloud-init (still applied, so ready, with the errors as detail).
pub fn verdict(exit_code: i64, stdout: &str, stderr: &str) -> (&'static str, Option<String>) {
    let report: Option<serde_json::Value> = serde_json::from_str(stdout).ok();
    let errors = report
        .as_ref()
        .and_then(|r| r.get("errors"))
        .and_then(|e| e.as_array())
        .map(|errors| {
            errors
                .iter()
                .map(|e| e.as_str().map(str::to_owned).unwrap_or_else(|| e.to_string()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let status = report.as_ref().and_then(|r| r.get("status")).and_then(|s| s.as_str()).unwrap_or("");
    match (exit_code, report.is_some()) {
        (0, true) if status == "done" && errors.is_empty() => ("ready", None),
        (0 | 2, true) if status == "done" => ("ready", Some(errors.join("; "))),
        (_, true) => (
            "failed",
            Some(if errors.is_empty() { format!("cloud-init status: {status}") } else { errors.join("; ") }),
        ),
        (126 | 127, false) => ("unknown", Some(NO_CLOUD_INIT.into())),
        (_, false) if looks_missing(stderr) => ("unknown", Some(NO_CLOUD_INIT.into())),
        (code, false) => ("failed", Some(format!("cloud-init status exited {code}: {}", stderr.trim()))),
    }
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn reads_cloud_inits_answers() {
        assert_eq!(verdict(0, r#"{"status":"done","errors":[]}"#, ""), ("ready", None));
        let (r, detail) = verdict(
            1,
            r#"{"status":"error","errors":["('scripts-user', RuntimeError('Runparts: 1 failures'))"]}"#,
            "",
        );
        assert_eq!(r, "failed");
        assert!(detail.unwrap().contains("scripts-user"));
        assert_eq!(verdict(127, "", "sh: cloud-init: not found").0, "unknown");
        assert_eq!(verdict(2, r#"{"status":"done","errors":["x"]}"#, "").0, "ready");
    }
}
