//! Talking to the API: one request helper that keeps error bodies, one function per endpoint.

use gloo_net::http::{Method, RequestBuilder};
use mosaic_types::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod cloud_configs;
pub mod deployments;
pub mod event_stream;
pub mod hosts;
pub mod jobs;

/// A failed call, in words for the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (0: the server could not be reached).
    pub status: u16,
    /// The envelope's code.
    pub code: String,
    /// The envelope's message.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    /// The server could not be reached, or the browser refused the request.
    pub fn network(e: impl std::fmt::Display) -> Self {
        ApiError { status: 0, code: "network".into(), message: format!("Mosaic could not be reached: {e}") }
    }

    /// An answer with a non-success status: the server's envelope when it sent one, else the
    /// status and the raw text (a proxy's error page, say).
    pub fn from_response(status: u16, text: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(text) {
            Ok(e) => ApiError { status, code: e.error.code, message: e.error.message },
            Err(_) => ApiError { status, code: "http".into(), message: format!("HTTP {status}: {text}") },
        }
    }
}

/// Sends a request and decodes the answer; errors keep the server's message.
pub async fn call<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    token: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let request =
        RequestBuilder::new(path).method(method).header("Authorization", &format!("Bearer {token}"));
    let request = match body {
        Some(b) => request.json(b).map_err(ApiError::network)?,
        None => request.build().map_err(ApiError::network)?,
    };
    let response = request.send().await.map_err(ApiError::network)?;
    let status = response.status();
    let text = response.text().await.map_err(ApiError::network)?;
    if !(200..300).contains(&status) {
        return Err(ApiError::from_response(status, &text));
    }
    let text = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(text).map_err(|e| ApiError {
        status,
        code: "decode".into(),
        message: format!("unexpected answer: {e}"),
    })
}

/// `GET`.
pub async fn get<T: DeserializeOwned>(path: &str, token: &str) -> Result<T, ApiError> {
    call::<(), T>(Method::GET, path, token, None).await
}

/// `POST` with a JSON body.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    token: &str,
    body: &B,
) -> Result<T, ApiError> {
    call(Method::POST, path, token, Some(body)).await
}

/// `PATCH` with a JSON body.
pub async fn patch<B: Serialize, T: DeserializeOwned>(
    path: &str,
    token: &str,
    body: &B,
) -> Result<T, ApiError> {
    call(Method::PATCH, path, token, Some(body)).await
}

/// `DELETE`.
pub async fn delete<T: DeserializeOwned>(path: &str, token: &str) -> Result<T, ApiError> {
    call::<(), T>(Method::DELETE, path, token, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_keep_the_servers_words() {
        let e = ApiError::from_response(409, r#"{"error":{"code":"conflict","message":"taken"}}"#);
        assert_eq!((e.status, e.code.as_str(), e.message.as_str()), (409, "conflict", "taken"));
        let e = ApiError::from_response(502, "Bad Gateway");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("http", "HTTP 502: Bad Gateway"));
    }
}
