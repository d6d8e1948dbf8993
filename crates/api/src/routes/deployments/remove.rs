//! `POST /api/v1/deployments/{id}/remove`.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_types::deployments::RemoveInstances;
use mosaic_types::jobs::{Job, JobKind};
use mosaic_types::{DeploymentId, InstanceId};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Scales the deployment down: stops and deletes the chosen instances.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = RemoveInstances,
    responses(
        (status = 202, description = "Accepted; the job removes the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/remove")]
pub async fn remove_deployment_instances(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<RemoveInstances>,
) -> Result<HttpResponse, ApiError> {
    let chosen: HashSet<InstanceId> = body.into_inner().instance_ids.into_iter().collect();
    if chosen.is_empty() {
        return Err(ApiError::validation("instance_ids is empty: choose the instances to remove"));
    }
    super::queue(&state, &req, &user, id.into_inner(), JobKind::Remove, Some(chosen)).await
}
