//! `GET /api/v1/deployments/{id}/jobs`.

use actix_web::{get, web};
use mosaic_db::models::jobs::JobFilter;
use mosaic_types::DeploymentId;
use mosaic_types::jobs::{DeploymentJobQuery, Job};
use mosaic_types::page::Page;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::routes::jobs::list::{before, page_of};
use crate::state::AppState;

/// The deployment's job history, newest first, a page at a time, optionally of one kind; a
/// rollout's job carries the rollout (`rollout`), so `?kind=rollout` is its rollout history.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment"), DeploymentJobQuery),
    responses(
        (status = 200, description = "A page of its jobs, newest first", body = Page<Job>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
    )
)]
#[get("/deployments/{id}/jobs")]
pub async fn list_deployment_jobs(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    query: web::Query<DeploymentJobQuery>,
) -> Result<web::Json<Page<Job>>, ApiError> {
    let id = id.into_inner();
    let DeploymentJobQuery { kind, limit, cursor } = query.into_inner();
    let limit = paging::limit(limit)?;
    let before = before(cursor.as_deref())?;
    let page = db::run(&state.pool, move |conn| {
        super::find(conn, id)?;
        page_of(conn, &JobFilter { deployment: Some(id), kind, ..JobFilter::default() }, before, limit)
    })
    .await?;
    Ok(web::Json(page))
}
