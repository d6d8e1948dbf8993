//! Did the cloud-config apply? Asked of cloud-init itself, through LXD exec.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lxd::{ExecRequest, InstanceName};
use mosaic_types::HostId;
use mosaic_types::instances::Readiness;
use tokio::sync::OnceCell;

/// Why an instance's readiness is `unknown`.
pub const NO_CLOUD_INIT: &str = "the image has no cloud-init";

/// An image (its fingerprint) on a host.
type ImageOnHost = (HostId, String);

/// Cloud-init's verdict on an instance: its readiness and, where there is one, why.
pub type Verdict = (Readiness, Option<String>);

/// Longest readiness detail kept: cloud-init's errors come from the guest, which may say anything
/// at any length.
pub const MAX_DETAIL: usize = 4096;

/// Whether images have cloud-init, learnt by probing a running container of the image.
///
/// An image's content never changes under its fingerprint, so one cheap probe in the first
/// container of an image tells about every later one. Without it, every container of an image
/// lacking cloud-init would cost LXD a full exec (an operation, two recorded logs, their reads and
/// deletes) just to learn that again: on two cores that contention slowed a 24-container deploy
/// by a fifth.
///
/// But the probe runs in a guest, and a guest controls its own files: one that removed cloud-init
/// from itself would make the image look cloud-init-less to everyone, and every later instance of
/// it — in anyone's deployment — would skip its check. So only a *yes* is remembered for the
/// server's life ([`ImageFacts`]); a *no* holds within one job ([`JobImageFacts`]), whose
/// containers all belong to one deployment.
#[derive(Debug, Default)]
pub struct ImageFacts {
    with_cloud_init: Mutex<HashSet<ImageOnHost>>,
    /// Probes made so far.
    probes: AtomicU64,
}

impl ImageFacts {
    /// How many probes this server has made (a test shows it is one per host and image).
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }
}

/// What one job has learnt about images (see [`ImageFacts`]).
#[derive(Debug, Default)]
pub struct JobImageFacts {
    cloud_init: Mutex<HashMap<ImageOnHost, Arc<OnceCell<bool>>>>,
}

impl JobImageFacts {
    /// Whether the image has cloud-init, probing `name` (a running container of it) unless the
    /// server knows it has or this job has asked already. Concurrent callers wait for one probe; a
    /// probe that cannot tell is not remembered, so the next caller asks again. `None`: nobody
    /// could tell.
    pub async fn has_cloud_init(
        &self,
        server: &ImageFacts,
        client: &lxd::Client,
        host: HostId,
        fingerprint: &str,
        name: &InstanceName,
    ) -> Option<bool> {
        let key = (host, fingerprint.to_owned());
        if server.with_cloud_init.lock().unwrap_or_else(|e| e.into_inner()).contains(&key) {
            return Some(true);
        }
        let cell =
            self.cloud_init.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default().clone();
        let probe = || {
            server.probes.fetch_add(1, Ordering::Relaxed);
            probe(client, name)
        };
        let answer = cell.get_or_try_init(probe).await.ok().copied();
        if answer == Some(true) {
            server.with_cloud_init.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
        }
        answer
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
pub async fn check(client: &lxd::Client, name: &InstanceName, timeout: Duration) -> Verdict {
    let request = ExecRequest::new(["cloud-init", "status", "--wait", "--format", "json"]);
    match client.exec(name, &request, timeout).await {
        Ok(out) => verdict(out.exit_code, &out.stdout, &out.stderr),
        Err(lxd::Error::OperationTimeout { .. }) => {
            (Readiness::Pending, Some(format!("cloud-init was still running after {} s", timeout.as_secs())))
        }
        Err(e) if looks_missing(&e.to_string()) => (Readiness::Unknown, Some(NO_CLOUD_INIT.into())),
        Err(e) => (Readiness::Pending, Some(format!("could not ask cloud-init: {e}"))),
    }
}

fn looks_missing(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("no such file") || text.contains("not found") || text.contains("executable file")
}

/// Reads cloud-init's answer. Exit 0 is done; 1 is an error; 2 is "done with recoverable errors"
/// on newer cloud-init (still applied, so ready, with the errors as detail). The detail is cut to
/// [`MAX_DETAIL`].
pub fn verdict(exit_code: i64, stdout: &str, stderr: &str) -> Verdict {
    let (readiness, detail) = read_verdict(exit_code, stdout, stderr);
    (readiness, detail.map(|d| cap(d, MAX_DETAIL)))
}

/// `text` cut to at most `max` bytes (at a character boundary), saying so when cut.
pub fn cap(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(" … (cut)");
    text
}

fn read_verdict(exit_code: i64, stdout: &str, stderr: &str) -> Verdict {
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
        (0, true) if status == "done" && errors.is_empty() => (Readiness::Ready, None),
        (0 | 2, true) if status == "done" => (Readiness::Ready, Some(errors.join("; "))),
        (_, true) => (
            Readiness::Failed,
            Some(if errors.is_empty() { format!("cloud-init status: {status}") } else { errors.join("; ") }),
        ),
        (126 | 127, false) => (Readiness::Unknown, Some(NO_CLOUD_INIT.into())),
        (_, false) if looks_missing(stderr) => (Readiness::Unknown, Some(NO_CLOUD_INIT.into())),
        (code, false) => {
            (Readiness::Failed, Some(format!("cloud-init status exited {code}: {}", stderr.trim())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Readiness, cap, verdict};

    #[test]
    fn reads_cloud_inits_answers() {
        assert_eq!(verdict(0, r#"{"status":"done","errors":[]}"#, ""), (Readiness::Ready, None));
        let (r, detail) = verdict(
            1,
            r#"{"status":"error","errors":["('scripts-user', RuntimeError('Runparts: 1 failures'))"]}"#,
            "",
        );
        assert_eq!(r, Readiness::Failed);
        assert!(detail.unwrap().contains("scripts-user"));
        assert_eq!(verdict(127, "", "sh: cloud-init: not found").0, Readiness::Unknown);
        assert_eq!(verdict(2, r#"{"status":"done","errors":["x"]}"#, "").0, Readiness::Ready);
    }

    #[test]
    fn a_guests_long_answer_is_cut() {
        let noisy = format!("{{\"status\":\"error\",\"errors\":[\"{}\"]}}", "é".repeat(10_000));
        let (r, detail) = verdict(1, &noisy, "");
        assert_eq!(r, Readiness::Failed);
        let detail = detail.unwrap();
        assert!(detail.len() <= super::MAX_DETAIL + 16, "{}", detail.len());
        assert!(detail.ends_with("(cut)"));
        assert_eq!(cap("short".into(), 10), "short");
    }
}
