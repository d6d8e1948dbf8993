//! `POST /api/v1/deployments/{id}/instances/start`.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_types::jobs::{Job, JobKind};
use mosaic_types::routing::InstanceSelection;
use mosaic_types::{DeploymentId, InstanceId};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Starts chosen instances of the deployment; on first boot their readiness is checked. A started
/// instance goes back into the load balancers' rotation once it is ready and its health check
/// passes. Starting a running instance counts as success.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = InstanceSelection,
    responses(
        (status = 202, description = "Accepted; the job starts the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/instances/start")]
pub async fn start_deployment_instances(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<InstanceSelection>,
) -> Result<HttpResponse, ApiError> {
    let chosen: HashSet<InstanceId> = body.into_inner().instance_ids.into_iter().collect();
    if chosen.is_empty() {
        return Err(ApiError::validation("instance_ids is empty: choose the instances to start"));
    }
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Start, Some(chosen)).await
}
