//! `GET /api/v1/hosts`.

use actix_web::{get, web};
use mosaic_db::models::hosts::Host as HostRow;
use mosaic_types::HostId;
use mosaic_types::hosts::{Host, HostQuery};
use mosaic_types::page::Page;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::hosts::to_wire;
use crate::paging;
use crate::state::AppState;

/// Lists hosts by name (then ID), a page at a time, optionally only those whose name contains
/// some text, each with its status as the host cache last saw it (no LXD call per request); a
/// host that did not answer is shown offline, with why. A cluster is one host, with its members
/// and their status.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(HostQuery),
    responses(
        (status = 200, description = "A page of hosts, by name, with their status", body = Page<Host>),
        (status = 400, description = "A bad limit, cursor or filter", body = mosaic_types::ErrorBody),
    )
)]
#[get("/hosts")]
pub async fn list_hosts(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<HostQuery>,
) -> Result<web::Json<Page<Host>>, ApiError> {
    let HostQuery { q, limit, cursor } = query.into_inner();
    if let Some(q) = &q {
        mosaic_types::validate::max_len("q", q, 200).map_err(ApiError::validation)?;
    }
    let q = q.filter(|q| !q.is_empty());
    let limit = paging::limit(limit)?;
    let after: Option<(String, HostId)> = match paging::after::<2>(cursor.as_deref())? {
        Some([name, id]) => Some((name, paging::parse(&id)?)),
        None => None,
    };
    let rows = db::query(&state.pool, move |conn| {
        let after = after.as_ref().map(|(name, id)| (name.as_str(), *id));
        HostRow::page(conn, q.as_deref(), after, limit + 1)
    })
    .await?;
    let page = paging::finish(rows, limit, |h| paging::encode(&[&h.name, &h.id.to_string()]));
    Ok(web::Json(paging::map(page, |h| to_wire(h, &state.cache))))
}
