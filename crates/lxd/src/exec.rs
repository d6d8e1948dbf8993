//! Running a command inside an instance and collecting its exit code and output.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;

use crate::client::{Call, Client, checked_path, read_tail};
use crate::error::{Error, Result};
use crate::name::InstanceName;

/// A command to run inside an instance (`POST /1.0/instances/{name}/exec`).
#[derive(Debug, Clone, Serialize)]
pub struct ExecRequest {
    command: Vec<String>,
    environment: BTreeMap<String, String>,
    #[serde(rename = "wait-for-websocket")]
    wait_for_websocket: bool,
    interactive: bool,
    #[serde(rename = "record-output")]
    record_output: bool,
    #[serde(skip)]
    output_limit: usize,
}

/// How much of each of stdout and stderr an exec keeps by default: the last 64 KiB.
///
/// A guest decides how much it writes; Mosaic decides how much it reads. The tail is kept because
/// that is where a failing command says why (cloud-init's last lines, a stack trace's end).
pub const DEFAULT_EXEC_OUTPUT_LIMIT: usize = 64 * 1024;

impl ExecRequest {
    /// Runs `command` (argv, no shell) non-interactively with its output recorded.
    pub fn new(command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        ExecRequest {
            command: command.into_iter().map(Into::into).collect(),
            environment: BTreeMap::new(),
            wait_for_websocket: false,
            interactive: false,
            record_output: true,
            output_limit: DEFAULT_EXEC_OUTPUT_LIMIT,
        }
    }

    /// Keeps at most the last `bytes` (at least 1) of stdout and of stderr (default
    /// [`DEFAULT_EXEC_OUTPUT_LIMIT`]). Only that much is read from LXD: the logs are fetched with
    /// an HTTP range for their tail.
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Does not record the command's output: only its exit code comes back. Spares LXD writing,
    /// serving and deleting two log files when the exit code is all that matters.
    pub fn without_output(mut self) -> Self {
        self.record_output = false;
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.insert(key.into(), value.into());
        self
    }
}

/// What a finished command left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its exit code (LXD reports the operation as a success whatever this is).
    pub exit_code: i64,
    /// What it wrote to stdout: all of it, or its last bytes up to the request's output limit
    /// (then `stdout_truncated`). Invalid UTF-8, including a character cut by the limit, is
    /// replaced by U+FFFD.
    pub stdout: String,
    /// What it wrote to stderr, kept like `stdout`.
    pub stderr: String,
    /// Whether stdout was longer than the limit, so `stdout` is only its tail.
    pub stdout_truncated: bool,
    /// Whether stderr was longer than the limit, so `stderr` is only its tail.
    pub stderr_truncated: bool,
}

impl Client {
    /// Runs a command in a running instance and waits up to `timeout` for it to finish.
    ///
    /// LXD records stdout and stderr to log files on the host; the tail of each (up to the
    /// request's output limit) is read and then the files are deleted, so repeated probes
    /// (readiness checks run this often) leave nothing behind and a guest that writes gigabytes
    /// costs Mosaic at most the limit. Log paths LXD names must be relative `/1.0/` paths
    /// ([`Error::UnsafePath`] otherwise).
    pub async fn exec(
        &self,
        name: &InstanceName,
        req: &ExecRequest,
        timeout: Duration,
    ) -> Result<ExecOutput> {
        if req.command.is_empty() {
            return Err(Error::invalid("exec command", "it is empty"));
        }
        let op = self.operation(Method::POST, &format!("/1.0/instances/{name}/exec"), Some(req)).await?;
        let done = op.wait(timeout).await?;
        let meta = done.metadata.unwrap_or_default();
        let exit_code = meta
            .get("return")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| Error::Protocol("exec finished without a return code".into()))?;
        let log =
            |fd: &str| meta.get("output").and_then(|o| o.get(fd)).and_then(|v| v.as_str()).map(str::to_owned);
        let (stdout, stdout_truncated) = self.take_log(log("1"), req.output_limit).await?;
        let (stderr, stderr_truncated) = self.take_log(log("2"), req.output_limit).await?;
        Ok(ExecOutput { exit_code, stdout, stderr, stdout_truncated, stderr_truncated })
    }

    /// Reads the tail of one recorded output log and deletes it.
    async fn take_log(&self, path: Option<String>, keep: usize) -> Result<(String, bool)> {
        let Some(path) = path else { return Ok((String::new(), false)) };
        let path = checked_path("exec log path", &path)?;
        let keep = keep.max(1);
        let call = Call::new(Method::GET, path)
            .header(reqwest::header::RANGE, format!("bytes=-{keep}"))
            .timeout(Duration::from_secs(30));
        let (url, resp) = self.send(call).await?;
        let tail = read_tail(&url, resp, keep, self.body_limit()).await;
        // A log left behind is only litter; failing to delete it must not fail the command.
        if let Err(e) = self.sync::<()>(Method::DELETE, path, None).await {
            tracing::debug!(%path, error = %e, "could not delete exec log");
        }
        let tail = tail?;
        Ok((String::from_utf8_lossy(&tail.bytes).into_owned(), tail.truncated))
    }
}
