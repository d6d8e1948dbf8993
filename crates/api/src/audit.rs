//! The audit trail: every state-changing request by an authenticated user is recorded with its
//! outcome, whether it succeeded or was refused.
//!
//! Recording happens in one middleware rather than in each handler, so no handler can forget it
//! and failures are recorded as surely as successes. The action is the operation's OpenAPI
//! `operationId` (`create_host`, `update_cloud_config`, ...); the target is the request path
//! unless a handler names it better with [`AuditTarget`].

use std::collections::HashMap;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use mosaic_db::models::audit::{AuditRow, NewAuditEntry};
use mosaic_types::audit::Outcome;

use crate::auth::AuthUser;
use crate::db;
use crate::state::AppState;

/// A handler's better name for what a request acted on (e.g. `host lxd-a (<id>)`).
#[derive(Debug, Clone)]
pub struct AuditTarget(pub String);

impl AuditTarget {
    /// Names the target of `req`.
    pub fn set(req: &HttpRequest, target: impl Into<String>) {
        req.extensions_mut().insert(AuditTarget(target.into()));
    }
}

/// `(METHOD, path pattern)` → OpenAPI operation id.
#[derive(Debug, Default)]
pub struct OperationNames(HashMap<(String, String), String>);

impl OperationNames {
    /// The operation id of a method and route pattern.
    pub fn get(&self, method: &str, pattern: &str) -> Option<&str> {
        self.0.get(&(method.to_owned(), pattern.to_owned())).map(String::as_str)
    }
}

impl OperationNames {
    /// Reads the operation ids from the OpenAPI document.
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let mut names = HashMap::new();
        for (path, item) in &api.paths.paths {
            for (method, op) in crate::openapi::operations(item) {
                if let Some(id) = &op.operation_id {
                    names.insert((method.to_owned(), path.clone()), id.clone());
                }
            }
        }
        OperationNames(names)
    }
}

/// The middleware: runs the request, then records it if it changed (or tried to change) state.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mutating = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let res = next.call(req).await?;
    // Reads are not recorded, but a refused read is: someone tried something they may not.
    if !mutating && res.status() != actix_web::http::StatusCode::FORBIDDEN {
        return Ok(res);
    }
    let request = res.request();
    let Some(actor) = request.extensions().get::<AuthUser>().cloned() else {
        return Ok(res);
    };
    let (Some(state), Some(names)) =
        (request.app_data::<web::Data<AppState>>(), request.app_data::<web::Data<OperationNames>>())
    else {
        return Ok(res);
    };
    let method = request.method().as_str().to_owned();
    let pattern = request.match_pattern().unwrap_or_else(|| request.path().to_owned());
    let action =
        names.0.get(&(method.clone(), pattern.clone())).cloned().unwrap_or(format!("{method} {pattern}"));
    let target = request
        .extensions()
        .get::<AuditTarget>()
        .map(|t| t.0.clone())
        .unwrap_or_else(|| request.path().to_owned());
    let success = res.status().is_success();
    let detail = match res.response().error() {
        Some(_) if res.status().is_server_error() => "internal error".to_owned(),
        Some(e) => e.to_string(),
        None => String::new(),
    };
    // PostgreSQL text cannot hold NUL, and a refused request may quote one it was sent.
    let (action, target, detail) = (storable(action), storable(target), storable(detail));
    let pool = state.pool.clone();
    let written = db::query(&pool, move |conn| {
        let entry = NewAuditEntry {
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: &action,
            target: &target,
            outcome: if success { Outcome::Success } else { Outcome::Failure },
            detail: &detail,
        };
        AuditRow::insert(conn, &entry)
    })
    .await;
    if let Err(e) = written {
        tracing::error!(error = ?e, "failed to write the audit log");
    }
    Ok(res)
}

/// `text` with each NUL shown as `\0`, which PostgreSQL's text type can store.
fn storable(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\\0") } else { text }
}
