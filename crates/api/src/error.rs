//! The one error type of the API and its JSON envelope.
//!
//! Handlers return `Result<_, ApiError>`. Expected failures (bad input, missing or conflicting
//! resources, an LXD host refusing) carry a stable code and a message for the operator;
//! everything else is `Unexpected`, answered as an opaque 500 and logged once with its cause chain.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error};
use mosaic_types::{ErrorBody, ErrorDetail};

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or fails validation (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No (valid) credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// The resource in the path does not exist (404).
    #[error("{message}")]
    NotFound {
        /// Stable code, e.g. `deployment_not_found`.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What it conflicts with.
        message: String,
    },
    /// The request is well-formed but cannot be carried out: an LXD host refused or could not be
    /// reached while registering it (422).
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Why, with LXD's own words where LXD answered.
        message: String,
    },
    /// The caller has too many of something open at once (429).
    #[error("{message}")]
    TooMany {
        /// Stable code.
        code: &'static str,
        /// What, and the limit.
        message: String,
    },
    /// A registered LXD host needed for the request does not answer (503).
    #[error("{message}")]
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// Which host and why.
        message: String,
    },
    /// Anything unexpected (500). The cause is logged, never sent.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 with the `validation_failed` code.
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::BadRequest { code: "validation_failed", message: message.into() }
    }

    /// A 404 for a resource kind (`deployment` → `deployment_not_found`).
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound { code, message: message.into() }
    }

    /// The stable machine-readable code of the envelope.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooMany { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Unexpected(_) => "internal_error",
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::not_found("not_found", "no such resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => ApiError::Conflict {
                code: "already_exists",
                message: format!("already exists ({})", info.constraint_name().unwrap_or("unique")),
            },
            other => ApiError::Unexpected(anyhow::Error::new(other).context("Database query failed")),
        }
    }
}

impl From<crate::db::Error> for ApiError {
    fn from(e: crate::db::Error) -> Self {
        match e {
            crate::db::Error::Query(e) => e.into(),
            other => ApiError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "request failed unexpectedly");
                "An internal error occurred; it has been logged.".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(envelope(self.code(), message))
    }
}

/// The envelope for a code and message.
pub fn envelope(code: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.into() } }
}

/// Routes actix's JSON extractor errors into the envelope.
pub fn json_error(err: error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use error::JsonPayloadError as E;
    let (status, code) = match &err {
        E::ContentType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        E::Overflow { .. } | E::OverflowKnownLength { .. } => {
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        }
        E::Deserialize(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
        _ => (StatusCode::BAD_REQUEST, "invalid_body"),
    };
    let message = match &err {
        E::ContentType => "the body must be JSON (Content-Type: application/json)".to_owned(),
        other => format!("invalid request body: {other}"),
    };
    error::InternalError::from_response(err, HttpResponse::build(status).json(envelope(code, message))).into()
}

/// Routes path extractor errors (e.g. an ID that is not a UUID) into the envelope. A path that
/// only looked like a parameter (`PATCH /hosts/fingerprint` reaching `PATCH /hosts/{id}`) is
/// answered 405, as for any other documented path used with the wrong method.
pub fn path_error(err: error::PathError, req: &HttpRequest) -> actix_web::Error {
    let known = req.app_data::<actix_web::web::Data<crate::routes::fallback::KnownPaths>>();
    if let Some(response) = known.and_then(|k| crate::routes::fallback::method_not_allowed(req, k)) {
        return error::InternalError::from_response(err, response).into();
    }
    let body = envelope("invalid_path", format!("invalid path parameter: {err}"));
    error::InternalError::from_response(err, HttpResponse::BadRequest().json(body)).into()
}

/// Routes query-string extractor errors into the envelope.
pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let body = envelope("invalid_query", format!("invalid query string: {err}"));
    error::InternalError::from_response(err, HttpResponse::BadRequest().json(body)).into()
}

/// Refuses a JSON request body that is not an object, in the envelope (400 `invalid_json`).
///
/// Every request body Mosaic takes is an object, but serde's derived `Deserialize` also reads a
/// struct from a JSON array (its fields in order), so `[null, null]` would pass as an update that
/// changes nothing. The body is read here (up to the JSON limit) and handed on unchanged.
pub async fn json_objects_only(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    use actix_web::http::Method;
    use futures::StreamExt;

    let has_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if has_body && json {
        let mut payload = req.take_payload();
        let mut body = actix_web::web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > crate::startup::MAX_JSON_BYTES {
                let message =
                    format!("the body is larger than {} KiB", crate::startup::MAX_JSON_BYTES / 1024);
                let response = HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE)
                    .json(envelope("payload_too_large", message));
                return Err(error::InternalError::from_response("payload too large", response).into());
            }
            body.extend_from_slice(&chunk);
        }
        let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first.is_some_and(|b| b != b'{') {
            let response = HttpResponse::BadRequest()
                .json(envelope("invalid_json", "invalid request body: it must be a JSON object"));
            return Err(error::InternalError::from_response("not an object", response).into());
        }
        req.set_payload(actix_web::dev::Payload::from(body.freeze()));
    }
    next.call(req).await
}
