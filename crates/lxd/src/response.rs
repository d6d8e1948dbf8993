//! The one place LXD's response envelope is turned into a `Result`.
//!
//! Every LXD answer is one of three envelopes: `sync` (the result is in `metadata`), `async` (a
//! background operation was started; `operation` is its URL and `metadata` its first state) or
//! `error` (`error` holds LXD's message, `error_code` the HTTP status).

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    error_code: u16,
    #[serde(default)]
    error: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    metadata: Value,
}

/// A successful LXD answer.
#[derive(Debug)]
pub(crate) enum Response {
    /// The request is complete; here is its result.
    Sync(Value),
    /// A background operation was started.
    Async {
        /// The operation's URL path, `/1.0/operations/<uuid>`.
        operation: String,
        /// The operation as it was when created.
        metadata: Value,
    },
}

impl Response {
    /// The result of a request that LXD answers synchronously.
    pub(crate) fn into_sync(self) -> Result<Value> {
        match self {
            Response::Sync(v) => Ok(v),
            Response::Async { operation, .. } => {
                Err(Error::Protocol(format!("expected a sync answer, got operation {operation}")))
            }
        }
    }
}

/// Parses an LXD answer given its HTTP status and body.
pub(crate) fn parse(http_status: u16, body: &[u8]) -> Result<Response> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if !(200..300).contains(&http_status) => {
            // Proxies and very old daemons answer errors in plain text; keep the words.
            let text = String::from_utf8_lossy(body).trim().to_owned();
            return Err(Error::Api { status: http_status, message: text });
        }
        Err(e) => return Err(Error::Protocol(format!("not an LXD response envelope: {e}"))),
    };
    match envelope.kind.as_str() {
        "sync" => Ok(Response::Sync(envelope.metadata)),
        "async" => Ok(Response::Async { operation: envelope.operation, metadata: envelope.metadata }),
        "error" => Err(Error::Api {
            status: if envelope.error_code != 0 { envelope.error_code } else { http_status },
            message: envelope.error,
        }),
        other => Err(Error::Protocol(format!("unknown response type {other:?}"))),
    }
}

/// Decodes an envelope's `metadata` into a typed value.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::Protocol(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_answer_yields_metadata() {
        let body = br#"{"type":"sync","status":"Success","status_code":200,"metadata":{"a":1}}"#;
        let v = parse(200, body).unwrap().into_sync().unwrap();
        assert_eq!(v["a"], 1);
    }

    #[test]
    fn async_answer_yields_operation() {
        let body = br#"{"type":"async","status":"Operation created","status_code":100,
            "operation":"/1.0/operations/abc","metadata":{"id":"abc"}}"#;
        match parse(202, body).unwrap() {
            Response::Async { operation, metadata } => {
                assert_eq!(operation, "/1.0/operations/abc");
                assert_eq!(metadata["id"], "abc");
            }
            other => panic!("expected async, got {other:?}"),
        }
    }

    #[test]
    fn error_answer_keeps_lxds_words_and_status() {
        let body = br#"{"type":"error","error":"Instance not found","error_code":404}"#;
        let err = parse(404, body).unwrap_err();
        assert!(err.is_not_found());
        assert!(err.to_string().contains("Instance not found"), "{err}");
    }

    #[test]
    fn plain_text_error_is_kept() {
        let err = parse(502, b"Bad Gateway").unwrap_err();
        assert_eq!(err.status(), Some(502));
        assert!(err.to_string().contains("Bad Gateway"));
    }

    #[test]
    fn garbage_success_is_a_protocol_error() {
        assert!(matches!(parse(200, b"<html>"), Err(Error::Protocol(_))));
    }
}
