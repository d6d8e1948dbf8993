//! `DELETE /api/v1/deployments/{id}/cloud-configs/{cloud_config_id}`.

use actix_web::{HttpRequest, delete, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_types::deployments::Deployment;
use mosaic_types::{CloudConfigId, DeploymentId};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Removes a cloud-config from a deployment.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(
        ("id" = DeploymentId, Path, description = "The deployment"),
        ("cloud_config_id" = CloudConfigId, Path, description = "The cloud-config"),
    ),
    responses(
        (status = 200, description = "Removed; the deployment as it is now", body = Deployment),
        (status = 404, description = "No such deployment, or the cloud-config is not part of it", body = mosaic_types::ErrorBody),
        (status = 409, description = "The deployment is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/deployments/{id}/cloud-configs/{cloud_config_id}")]
pub async fn remove_deployment_cloud_config(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(DeploymentId, CloudConfigId)>,
) -> Result<web::Json<Deployment>, ApiError> {
    let (id, cc) = path.into_inner();
    AuditTarget::set(&req, format!("deployment {id} - cloud-config {cc}"));
    let updated =
        super::change_member(&state, id, cc, move |conn| Ok(Row::remove_member(conn, id, cc)?)).await?;
    Ok(web::Json(updated))
}
