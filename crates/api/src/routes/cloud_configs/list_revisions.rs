//! `GET /api/v1/cloud-configs/{id}/revisions`.

use actix_web::{get, web};
use mosaic_db::models::cloud_configs::Revision;
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::RevisionSummary;
use mosaic_types::page::{Page, PageQuery};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;

/// Lists a cloud-config's revisions, newest first, a page at a time.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(("id" = CloudConfigId, Path, description = "The cloud-config"), PageQuery),
    responses(
        (status = 200, description = "A page of its revisions, newest first", body = Page<RevisionSummary>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such cloud-config", body = mosaic_types::ErrorBody),
    )
)]
#[get("/cloud-configs/{id}/revisions")]
pub async fn list_cloud_config_revisions(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<CloudConfigId>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<RevisionSummary>>, ApiError> {
    let id = id.into_inner();
    let PageQuery { limit, cursor } = query.into_inner();
    let limit = paging::limit(limit)?;
    let before: Option<i32> = match paging::after::<1>(cursor.as_deref())? {
        Some([revision]) => Some(paging::parse(&revision)?),
        None => None,
    };
    let revisions = db::run(&state.pool, move |conn| {
        super::find(conn, id, false)?;
        Ok::<_, ApiError>(Revision::page(conn, id, before, limit + 1)?)
    })
    .await?;
    let page = paging::finish(revisions, limit, |r| paging::encode(&[&r.revision.to_string()]));
    Ok(web::Json(paging::map(page, |r| RevisionSummary {
        revision: r.revision,
        author: r.author_name,
        created_at: r.created_at,
    })))
}
