//! Running a command inside an instance and collecting its exit code and output.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;

use crate::client::Client;
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
}

impl ExecRequest {
    /// Runs `command` (argv, no shell) non-interactively with its output recorded.
    pub fn new(command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        ExecRequest {
            command: command.into_iter().map(Into::into).collect(),
            environment: BTreeMap::new(),
            wait_for_websocket: false,
            interactive: false,
            record_output: true,
        }
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
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Client {
    /// Runs a command in a running instance and waits up to `timeout` for it to finish.
    ///
    /// LXD records stdout and stderr to log files on the host; they are read and then deleted so
    /// repeated probes (readiness checks run this often) leave nothing behind.
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
        let stdout = self.take_log(log("1")).await?;
        let stderr = self.take_log(log("2")).await?;
        Ok(ExecOutput { exit_code, stdout, stderr })
    }

    /// Reads one recorded output log and deletes it.
    async fn take_log(&self, path: Option<String>) -> Result<String> {
        let Some(path) = path else { return Ok(String::new()) };
        let (status, body) =
            self.exchange::<()>(Method::GET, &path, &[], None, Duration::from_secs(30)).await?;
        if !(200..300).contains(&status) {
            return Err(Error::Api { status, message: String::from_utf8_lossy(&body).into_owned() });
        }
        // A log left behind is only litter; failing to delete it must not fail the command.
        if let Err(e) = self.sync::<()>(Method::DELETE, &path, None).await {
            tracing::debug!(%path, error = %e, "could not delete exec log");
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}
