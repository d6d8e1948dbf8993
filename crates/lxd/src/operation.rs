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
    /// Whether LXD can cancel it ([`Operation::cancel`]); image downloads can, most others not.
    #[serde(default)]
    pub may_cancel: bool,
    /// The cluster member running it (`none` outside clusters).
    #[serde(default)]
    pub location: String,
}

/// How far a running operation has got, as LXD reports it in the operation's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What it is doing, e.g. `rootfs` or `metadata` for an image download (may be empty).
    pub stage: String,
    /// Percent done, when LXD says.
    pub percent: Option<u8>,
    /// LXD's own words, e.g. `rootfs: 40% (12.3MB/s)`, to show as they are.
    pub text: String,
}

impl OperationMetadata {
    /// The progress of a running operation: LXD 5.0 writes image downloads as
    /// `download_progress: "rootfs: 40% (12.3MB/s)"` and other transfers as `*_progress`
    /// strings; newer LXD adds `progress: {stage, percent, speed}`. `None` when there is none.
    pub fn progress(&self) -> Option<Progress> {
        let meta = self.metadata.as_ref()?.as_object()?;
        if let Some(p) = meta.get("progress").and_then(Value::as_object) {
            let field = |k: &str| match p.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let (stage, percent, speed) = (field("stage"), field("percent"), field("speed"));
            let text = format!("{stage}: {percent}% ({speed})");
            return Some(Progress { stage, percent: percent.trim().parse().ok(), text });
        }
        let (_, text) = meta
            .iter()
            .filter(|(k, _)| k.ends_with("_progress"))
            .find_map(|(k, v)| v.as_str().map(|s| (k, s)))?;
        let (stage, rest) = text.split_once(": ").unwrap_or(("", text));
        let percent = rest.split('%').next().and_then(|n| n.trim().parse::<f64>().ok());
        let percent = percent.filter(|_| rest.contains('%')).map(|p| p.clamp(0.0, 100.0) as u8);
        Some(Progress { stage: stage.to_owned(), percent, text: text.to_owned() })
    }

    /// The fingerprint of the image a finished image operation made (pull or publish).
    pub fn image_fingerprint(&self) -> Option<&str> {
        self.metadata.as_ref()?.get("fingerprint")?.as_str()
    }
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
        let path = sub_path(&self.path, "wait");
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

    /// The operation as it is now (`GET /1.0/operations/{id}`), e.g. to show its
    /// [`OperationMetadata::progress`] while it runs. A finished operation is kept by LXD for a
    /// few seconds only; after that this is a 404.
    pub async fn refresh(&self) -> Result<OperationMetadata> {
        let value = self
            .client
            .request::<()>(Method::GET, &self.path, &[], None, crate::client::REQUEST_TIMEOUT)
            .await?
            .into_sync()?;
        response::decode(value)
    }

    /// Asks LXD to cancel the operation, e.g. a pull that is no longer wanted or takes too long.
    /// Only operations with `may_cancel` honour it (image downloads do); others answer with
    /// LXD's refusal as [`Error::Api`]. Waiting on a cancelled operation ends in
    /// [`Error::Operation`].
    pub async fn cancel(&self) -> Result<()> {
        self.client.sync::<()>(Method::DELETE, &self.path, None).await.map(drop)
    }
}

/// `{operation}/{sub}`, keeping the operation URL's query after it: LXD's operation URLs carry
/// `?project=...` on clusters, and `/wait` appended after the query would become part of it.
fn sub_path(operation: &str, sub: &str) -> String {
    match operation.split_once('?') {
        Some((path, query)) => format!("{path}/{sub}?{query}"),
        None => format!("{operation}/{sub}"),
    }
}

fn failure_text(op: &OperationMetadata) -> String {
    if op.err.is_empty() { op.status.clone() } else { op.err.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(metadata: Value) -> OperationMetadata {
        serde_json::from_value(serde_json::json!({"id": "x", "status_code": 103, "metadata": metadata}))
            .unwrap()
    }

    #[test]
    fn wait_goes_before_the_query() {
        assert_eq!(sub_path("/1.0/operations/x", "wait"), "/1.0/operations/x/wait");
        assert_eq!(
            sub_path("/1.0/operations/x?project=default", "wait"),
            "/1.0/operations/x/wait?project=default"
        );
    }

    #[test]
    fn progress_is_read_in_both_spellings() {
        let p = op(serde_json::json!({"download_progress": "rootfs: 40% (12.30MB/s)"})).progress().unwrap();
        assert_eq!(
            (p.stage.as_str(), p.percent, p.text.as_str()),
            ("rootfs", Some(40), "rootfs: 40% (12.30MB/s)")
        );
        let p = op(serde_json::json!({"progress": {"stage": "metadata", "percent": "7", "speed": "1MB/s"}}))
            .progress()
            .unwrap();
        assert_eq!((p.stage.as_str(), p.percent), ("metadata", Some(7)));
        let p = op(serde_json::json!({"fs_progress": "rootfs: 123.4MB (10MB/s)"})).progress().unwrap();
        assert_eq!(p.percent, None);
        assert!(op(serde_json::json!({"return": 0})).progress().is_none());
        assert!(op(Value::Null).progress().is_none());
        assert_eq!(op(serde_json::json!({"fingerprint": "abc", "size": 1})).image_fingerprint(), Some("abc"));
    }
}
