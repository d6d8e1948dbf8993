//! `POST /api/v1/deployments/{id}/stop`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_types::DeploymentId;
use mosaic_types::jobs::{Job, JobKind};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Stops every instance of the deployment: a clean shutdown bounded by the stop timeout, then a
/// kill. Stopping a stopped instance counts as success.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 202, description = "Accepted; the job stops the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/stop")]
pub async fn stop_deployment(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Stop, None).await
}
