//! `GET /api/v1/deployments/{id}`.

use actix_web::{get, web};
use mosaic_types::DeploymentId;
use mosaic_types::deployments::Deployment;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Shows one deployment.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 200, description = "The deployment", body = Deployment),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
    )
)]
#[get("/deployments/{id}")]
pub async fn get_deployment(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<web::Json<Deployment>, ApiError> {
    let id = id.into_inner();
    Ok(web::Json(db::run(&state.pool, move |conn| super::load(conn, id)).await?))
}
