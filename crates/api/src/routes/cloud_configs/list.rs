//! `GET /api/v1/cloud-configs`.

use actix_web::{get, web};
use mosaic_db::models::cloud_configs::CloudConfig as Row;
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{CloudConfig, CloudConfigQuery};
use mosaic_types::page::Page;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;

/// Lists cloud-configs by namespace and name (then ID), a page at a time, optionally filtered by
/// namespace and by text in their name or description.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(CloudConfigQuery),
    responses(
        (status = 200, description = "A page of matching cloud-configs with their current revision", body = Page<CloudConfig>),
        (status = 400, description = "A bad limit, cursor or filter", body = mosaic_types::ErrorBody),
    )
)]
#[get("/cloud-configs")]
pub async fn list_cloud_configs(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<CloudConfigQuery>,
) -> Result<web::Json<Page<CloudConfig>>, ApiError> {
    let CloudConfigQuery { namespace, q, limit, cursor } = query.into_inner();
    for (what, value) in [("q", &q), ("namespace", &namespace)] {
        if let Some(v) = value {
            mosaic_types::validate::max_len(what, v, 200).map_err(ApiError::validation)?;
        }
    }
    let limit = paging::limit(limit)?;
    let after: Option<(String, String, CloudConfigId)> = match paging::after::<3>(cursor.as_deref())? {
        Some([namespace, name, id]) => Some((namespace, name, paging::parse(&id)?)),
        None => None,
    };
    let found = db::run(&state.pool, move |conn| {
        let after = after.as_ref().map(|(ns, name, id)| (ns.as_str(), name.as_str(), *id));
        let q = q.as_deref().filter(|q| !q.is_empty());
        let rows = Row::search(conn, namespace.as_deref(), q, after, limit + 1)?;
        let page =
            paging::finish(rows, limit, |(c, _)| paging::encode(&[&c.namespace, &c.name, &c.id.to_string()]));
        let items = super::to_wire(conn, page.items)?;
        Ok::<_, ApiError>(Page { items, next_cursor: page.next_cursor })
    })
    .await?;
    Ok(web::Json(found))
}
