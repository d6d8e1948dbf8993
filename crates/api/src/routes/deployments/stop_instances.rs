//! `POST /api/v1/deployments/{id}/instances/stop`.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_types::jobs::{Job, JobKind};
use mosaic_types::routing::InstanceSelection;
use mosaic_types::{DeploymentId, InstanceId};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Stops chosen instances of the deployment (the others keep running): each is first taken out of
/// the load balancers' rotation and drained, then shut down cleanly within the stop timeout, then
/// killed. Stopping a stopped instance counts as success.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = InstanceSelection,
    responses(
        (status = 202, description = "Accepted; the job stops the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/instances/stop")]
pub async fn stop_deployment_instances(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<InstanceSelection>,
) -> Result<HttpResponse, ApiError> {
    let chosen: HashSet<InstanceId> = body.into_inner().instance_ids.into_iter().collect();
    if chosen.is_empty() {
        return Err(ApiError::validation("instance_ids is empty: choose the instances to stop"));
    }
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Stop, Some(chosen)).await
}
