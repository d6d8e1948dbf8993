//! `GET /api/v1/deployments/{id}/jobs`.

use actix_web::{get, web};
use mosaic_db::models::jobs::Job as Row;
use mosaic_types::DeploymentId;
use mosaic_types::jobs::Job;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::jobs;
use crate::state::AppState;

/// The deployment's job history, newest first (the last 50); a rollout's job carries the
/// rollout (`rollout`), so its history is the jobs of kind `rollout`.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 200, description = "Its jobs, newest first", body = Vec<Job>),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
    )
)]
#[get("/deployments/{id}/jobs")]
pub async fn list_deployment_jobs(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<web::Json<Vec<Job>>, ApiError> {
    let id = id.into_inner();
    let list = db::run(&state.pool, move |conn| {
        super::find(conn, id)?;
        let rows = Row::for_deployment(conn, id, 50)?;
        rows.into_iter()
            .map(|job| {
                let items = Row::items(conn, job.id)?;
                Ok(jobs::to_wire(job, items))
            })
            .collect::<Result<Vec<_>, ApiError>>()
            .and_then(|list| jobs::with_rollouts(conn, list))
    })
    .await?;
    Ok(web::Json(list))
}
