//! `DELETE /api/v1/deployments/{id}`.

use actix_web::{HttpRequest, HttpResponse, delete, web};
use mosaic_types::DeploymentId;
use mosaic_types::jobs::{Job, JobKind};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Deletes the deployment: stops and deletes every instance, then the deployment itself. If a
/// host is offline, the deployment stays `deleting` with its pending instances listed, and the
/// deletion completes by itself when the host answers again (or when asked again with this call).
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 202, description = "Accepted; the job deletes the instances, then the deployment", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/deployments/{id}")]
pub async fn delete_deployment(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Delete, None).await
}
