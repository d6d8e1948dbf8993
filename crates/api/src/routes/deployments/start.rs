//! `POST /api/v1/deployments/{id}/start`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_types::DeploymentId;
use mosaic_types::jobs::{Job, JobKind};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Starts every instance of the deployment, then checks whether each one's cloud-config applied.
/// Starting a running instance counts as success.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 202, description = "Accepted; the job starts the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/start")]
pub async fn start_deployment(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Start, None).await
}
