//! `GET /api/v1/audit`.

use actix_web::{get, web};
use mosaic_db::models::audit::AuditRow;
use mosaic_types::audit::AuditEntry;
use mosaic_types::page::{Page, PageQuery};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;

/// Lists audit entries, newest first, a page at a time.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of entries, newest first", body = Page<AuditEntry>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
    )
)]
#[get("/audit")]
pub async fn list_audit(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    let PageQuery { limit, cursor } = query.into_inner();
    let limit = paging::limit(limit)?;
    let before: Option<i64> = match paging::after::<1>(cursor.as_deref())? {
        Some([id]) => Some(paging::parse(&id)?),
        None => None,
    };
    let rows = db::query(&state.pool, move |conn| AuditRow::page(conn, before, limit + 1)).await?;
    let page = paging::finish(rows, limit, |r| paging::encode(&[&r.id.to_string()]));
    Ok(web::Json(paging::map(page, Into::into)))
}
