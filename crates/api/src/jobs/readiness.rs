//! Did the cloud-config apply? Asked of cloud-init itself, through LXD exec.

use std::time::Duration;

use lxd::{ExecRequest, InstanceName};

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
        Err(e) if looks_missing(&e.to_string()) => ("unknown", Some("the image has no cloud-init".into())),
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
        (126 | 127, false) => ("unknown", Some("the image has no cloud-init".into())),
        (_, false) if looks_missing(stderr) => ("unknown", Some("the image has no cloud-init".into())),
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
