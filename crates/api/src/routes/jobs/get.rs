//! `GET /api/v1/jobs/{id}`.

use actix_web::{get, web};
use mosaic_types::JobId;
use mosaic_types::jobs::Job;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::jobs;
use crate::state::AppState;

/// Shows a job: its state, done/total, and each instance's step and error.
#[utoipa::path(
    tag = "jobs",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "The job")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job", body = mosaic_types::ErrorBody),
    )
)]
#[get("/jobs/{id}")]
pub async fn get_job(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<JobId>,
) -> Result<web::Json<Job>, ApiError> {
    let id = id.into_inner();
    Ok(web::Json(db::run(&state.pool, move |conn| jobs::load(conn, id)).await?))
}
