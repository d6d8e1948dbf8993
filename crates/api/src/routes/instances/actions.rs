//! `POST /api/v1/instances/{id}/{start,stop,restart,recreate}`: jobs on one instance.

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_types::InstanceId;
use mosaic_types::jobs::{Job, JobKind};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Starts one instance (and, on its first start, checks whether its cloud-config applied).
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(("id" = InstanceId, Path, description = "The instance")),
    responses(
        (status = 202, description = "Accepted; the job starts it", body = Job),
        (status = 404, description = "No such instance", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of its deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/instances/{id}/start")]
pub async fn start_instance(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Start).await
}

/// Stops one instance: a clean shutdown bounded by the stop timeout, then a kill.
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(("id" = InstanceId, Path, description = "The instance")),
    responses(
        (status = 202, description = "Accepted; the job stops it", body = Job),
        (status = 404, description = "No such instance", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of its deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/instances/{id}/stop")]
pub async fn stop_instance(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Stop).await
}

/// Restarts one instance (starts it if it is stopped).
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(("id" = InstanceId, Path, description = "The instance")),
    responses(
        (status = 202, description = "Accepted; the job restarts it", body = Job),
        (status = 404, description = "No such instance", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of its deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/instances/{id}/restart")]
pub async fn restart_instance(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Restart).await
}

/// Replaces one instance: its container is deleted and made again at the revision the deployment
/// pins for its cloud-config, started, and its readiness checked. The instance keeps its ID and
/// name.
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(("id" = InstanceId, Path, description = "The instance")),
    responses(
        (status = 202, description = "Accepted; the job recreates it", body = Job),
        (status = 404, description = "No such instance", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of its deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/instances/{id}/recreate")]
pub async fn recreate_instance(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Recreate).await
}
