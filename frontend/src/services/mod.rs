//! Talking to the API: one request helper that keeps error bodies, one function per endpoint.
//!
//! Every endpoint function takes an [`Api`]: the session's token plus who to tell when the server
//! refuses it, so a 401 from any call signs the user out in one place, and a 403 makes the app
//! ask again what the token may do.

use gloo_net::http::{Method, RequestBuilder};
use mosaic_types::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;
use yew::{AttrValue, Callback};

pub mod cloud_configs;
pub mod deployments;
pub mod event_stream;
pub mod hosts;
pub mod instances;
pub mod jobs;
pub mod pages;
pub mod tokens;
pub mod users;

/// A failed call, in words for the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (0: the server could not be reached, or the failure was found in the browser).
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

    /// A mistake found in the browser before anything was sent (a form field, say): shown the
    /// same way as the server's own validation errors.
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError { status: 0, code: "validation_failed".into(), message: message.into() }
    }

    /// An answer with a non-success status: the server's envelope when it sent one, else the
    /// status and the raw text (a proxy's error page, say).
    pub fn from_response(status: u16, text: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(text) {
            Ok(e) => ApiError { status, code: e.error.code, message: e.error.message },
            Err(_) => ApiError { status, code: "http".into(), message: format!("HTTP {status}: {text}") },
        }
    }

    /// Whether the server refused the credentials (the token is unknown or revoked).
    pub fn is_unauthorized(&self) -> bool {
        self.status == 401
    }

    /// Whether the server refused the action to this token (its role or deployments).
    pub fn is_forbidden(&self) -> bool {
        self.status == 403
    }
}

/// The server refused a token: which one, and in its words why (a 401: it no longer accepts the
/// token; a 403: not for this action).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The token the refused request carried (a late answer to a request made with an older
    /// token says nothing about the newer session).
    pub token: AttrValue,
    /// The server's error.
    pub error: ApiError,
}

/// How to reach the API on the user's behalf: their token, and who to tell when the server
/// refuses it.
#[derive(Clone, PartialEq)]
pub struct Api {
    token: AttrValue,
    on_refused: Callback<Refusal>,
}

impl Api {
    /// An API handle for `token`; `on_refused` hears of every 401 (the session signs out) and 403
    /// (the session asks `/me` again: the user's role may have changed since sign-in).
    pub fn new(token: AttrValue, on_refused: Callback<Refusal>) -> Self {
        Api { token, on_refused }
    }

    /// The bearer token sent with each request.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Passes a failed call through, telling the session first when it was a 401 or a 403.
    pub(crate) fn check<T>(&self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Err(e) = &result
            && (e.is_unauthorized() || e.is_forbidden())
        {
            self.on_refused.emit(Refusal { token: self.token.clone(), error: e.clone() });
        }
        result
    }

    /// Sends a request and decodes the answer; errors keep the server's message.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        self.check(self.send(method, path, body).await)
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let request = RequestBuilder::new(path)
            .method(method)
            .header("Authorization", &format!("Bearer {}", self.token));
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
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call::<(), T>(Method::GET, path, None).await
    }

    /// `POST` with a JSON body.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PATCH` with a JSON body.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE`.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call::<(), T>(Method::DELETE, path, None).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    #[test]
    fn error_bodies_keep_the_servers_words() {
        let e = ApiError::from_response(409, r#"{"error":{"code":"conflict","message":"taken"}}"#);
        assert_eq!((e.status, e.code.as_str(), e.message.as_str()), (409, "conflict", "taken"));
        let e = ApiError::from_response(502, "Bad Gateway");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("http", "HTTP 502: Bad Gateway"));
    }

    #[test]
    fn only_a_401_or_a_403_is_reported_as_a_refusal() {
        let heard = Rc::new(RefCell::new(Vec::new()));
        let api = Api::new("t1".into(), {
            let heard = heard.clone();
            Callback::from(move |r: Refusal| heard.borrow_mut().push(r))
        });
        let conflict = ApiError::from_response(409, r#"{"error":{"code":"conflict","message":"taken"}}"#);
        assert!(api.check::<()>(Err(conflict)).is_err());
        assert!(api.check(Ok(())).is_ok());
        assert!(heard.borrow().is_empty());
        let refused = ApiError::from_response(
            401,
            r#"{"error":{"code":"unauthorized","message":"the token is not valid"}}"#,
        );
        let forbidden = ApiError::from_response(403, r#"{"error":{"code":"forbidden","message":"no"}}"#);
        assert_eq!(api.check::<()>(Err(refused.clone())), Err(refused.clone()));
        assert_eq!(api.check::<()>(Err(forbidden.clone())), Err(forbidden.clone()));
        assert_eq!(
            *heard.borrow(),
            [
                Refusal { token: "t1".into(), error: refused },
                Refusal { token: "t1".into(), error: forbidden }
            ]
        );
    }
}
