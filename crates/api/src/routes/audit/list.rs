//! `GET /api/v1/audit`.

use actix_web::{get, web};
use mosaic_db::models::audit::AuditRow;
use mosaic_types::audit::AuditEntry;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Paging through the log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Only entries older than this id (the last id of the previous page).
    before: Option<i64>,
    /// How many entries, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Lists audit entries, newest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(Page),
    responses((status = 200, description = "Entries, newest first", body = Vec<AuditEntry>))
)]
#[get("/audit")]
pub async fn list_audit(
    _user: AuthUser,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<web::Json<Vec<AuditEntry>>, ApiError> {
    let Page { before, limit } = page.into_inner();
    let limit = limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit must be between 1 and 500"));
    }
    let rows = db::query(&state.pool, move |conn| AuditRow::page(conn, before, limit)).await?;
    Ok(web::Json(rows.into_iter().map(Into::into).collect()))
}
