//! LXD background operations and waiting for them.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::response::{self, Response};
use crate::status::StatusCode;

/// The state of an LXD operation (`GET /1.0/operations/{id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct OperationMetadata {
    /// The operation's UUID.
    pub id: String,
    /// `task`, `websocket` or `token`.
    #[serde(default)]
    pub class: String,
    /// What it does, in LXD's words ("Creating instance").
    #[serde(default)]
    pub description: String,
    /// Its status in words.
    #[serde(default)]
    pub status: String,
    /// Its status as a code (200 success, 400 failure, 401 cancelled, 103 running, ...).
    #[serde(default)]
    pub status_code: StatusCode,
    /// The resources it touches, e.g. `{"instances": ["/1.0/instances/c1"]}`.
    #[serde(default)]
    pub resources: Option<HashMap<String, Vec<String>>>,
    /// Operation-specific data: an exec's return code and output logs, a token's secret.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// The error text when it failed.
    #[serde(default)]
    pub err: String,
}

/// A running LXD operation that can be waited on.
#[derive(Debug, Clone)]
pub struct Operation {
    client: Client,
    path: String,
    /// The operation as LXD described it when it was created.
    pub metadata: OperationMetadata,
}

impl Operation {
    pub(crate) fn new(client: Client, path: &str, metadata: Value) -> Result<Self> {
        let metadata: OperationMetadata = response::decode(metadata)?;
        let path = if path.is_empty() {
            format!("/1.0/operations/{}", crate::profiles::urlencode(&metadata.id))
        } else {
            crate::client::checked_path("operation path", path)?.to_owned()
        };
        Ok(Operation { client, path, metadata })
    }

    /// The operation's UUID.
    pub fn id(&self) -> &str {
        &self.metadata.id
    }

    /// Waits up to `timeout` for the operation to finish; `Ok` only if it succeeded.
    ///
    /// LXD 5.0.2 answers `/wait` with HTTP 200 and the operation even when it failed or the wait
    /// timed out, so the operation's own status code decides; LXD 5.0.3 and later answer a failed
    /// operation with an error envelope instead. Both end up as [`Error::Operation`], keeping LXD's
    /// message, and a wait that runs out as [`Error::OperationTimeout`].
    pub async fn wait(&self, timeout: Duration) -> Result<OperationMetadata> {
        let secs = timeout.as_secs().max(1);
        let path = format!("{}/wait", self.path);
        let secs_text = secs.to_string();
        // Give the HTTP exchange a margin over LXD's own wait so LXD answers first.
        let http_timeout = Duration::from_secs(secs + 10);
        let answer = self
            .client
            .request::<()>(Method::GET, &path, &[("timeout", &secs_text)], None, http_timeout)
            .await;
        let timed_out = || Error::OperationTimeout { id: self.id().to_owned(), seconds: secs };
        match answer {
            Ok(Response::Sync(value)) => {
                let op: OperationMetadata = response::decode(value)?;
                match op.status_code {
                    StatusCode::SUCCESS => Ok(op),
                    StatusCode::FAILURE | StatusCode::CANCELLED => {
                        Err(Error::Operation { id: op.id.clone(), message: failure_text(&op) })
                    }
                    _ => Err(timed_out()),
                }
            }
            Ok(Response::Async { .. }) => Err(Error::Protocol("operation wait answered async".into())),
            Err(Error::Api { status, message }) if status != 403 && status != 404 => {
                if message.to_lowercase().contains("timeout") || message.contains("still running") {
                    Err(timed_out())
                } else {
                    Err(Error::Operation { id: self.id().to_owned(), message })
                }
            }
            Err(Error::Transport { source, .. }) if source.is_timeout() => Err(timed_out()),
            Err(other) => Err(other),
        }
    }

    /// Asks LXD to cancel the operation (only operations with `may_cancel` honour it).
    pub async fn cancel(&self) -> Result<()> {
        self.client.sync::<()>(Method::DELETE, &self.path, None).await.map(drop)
    }
}

fn failure_text(op: &OperationMetadata) -> String {
    if op.err.is_empty() { op.status.clone() } else { op.err.clone() }
}
