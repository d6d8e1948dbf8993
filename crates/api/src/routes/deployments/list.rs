//! `GET /api/v1/deployments`.

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_types::DeploymentId;
use mosaic_types::deployments::{Deployment, DeploymentQuery};
use mosaic_types::page::Page;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;

/// Lists deployments by name (then ID), a page at a time, with their cloud-configs, container
/// counts and memory; optionally only those whose name contains some text. A token limited to
/// deployments sees only those.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(DeploymentQuery),
    responses(
        (status = 200, description = "A page of deployments, by name", body = Page<Deployment>),
        (status = 400, description = "A bad limit, cursor or filter", body = mosaic_types::ErrorBody),
    )
)]
#[get("/deployments")]
pub async fn list_deployments(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<DeploymentQuery>,
) -> Result<HttpResponse, ApiError> {
    let DeploymentQuery { q, limit, cursor } = query.into_inner();
    if let Some(q) = &q {
        mosaic_types::validate::max_len("q", q, 200).map_err(ApiError::validation)?;
    }
    let q = q.filter(|q| !q.is_empty());
    let first_page = q.is_none() && limit.is_none() && cursor.is_none();
    let limit = paging::limit(limit)?;
    let after: Option<(String, DeploymentId)> = match paging::after::<2>(cursor.as_deref())? {
        Some([name, id]) => Some((name, paging::parse(&id)?)),
        None => None,
    };
    let scope = user.deployments;
    // The overview's default first page is what every open web app polls: many readers share one
    // rendering of it (not with a token limited to some deployments, which sees another page).
    let shared = first_page && scope.is_none();
    let key = state.overview.key(&state);
    if shared && let Some(body) = state.overview.get(key) {
        return Ok(HttpResponse::Ok().content_type("application/json").body(body));
    }
    let seen = super::seen(&state);
    let page = db::run(&state.pool, move |conn| {
        let after = after.as_ref().map(|(name, id)| (name.as_str(), *id));
        let rows = Row::page(conn, q.as_deref(), scope.as_deref(), after, limit + 1)?;
        let page = paging::finish(rows, limit, |d| paging::encode(&[&d.name, &d.id.to_string()]));
        let items = super::to_wire(conn, page.items, &seen)?;
        Ok::<_, ApiError>(Page { items, next_cursor: page.next_cursor })
    })
    .await?;
    let body = Bytes::from(serde_json::to_vec(&page).map_err(anyhow::Error::from)?);
    if shared {
        state.overview.put(key, body.clone());
    }
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}
