//! `PUT /api/v1/deployments/{id}/cloud-configs/{cloud_config_id}`.

use actix_web::{HttpRequest, put, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_types::deployments::{CloudConfigPin, Deployment, PinRevision};
use mosaic_types::{CloudConfigId, DeploymentId};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Pins a deployment's cloud-config to another revision (an upgrade, or a roll-back).
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(
        ("id" = DeploymentId, Path, description = "The deployment"),
        ("cloud_config_id" = CloudConfigId, Path, description = "The cloud-config"),
    ),
    request_body = PinRevision,
    responses(
        (status = 200, description = "Pinned", body = Deployment),
        (status = 404, description = "No such deployment, or the cloud-config is not part of it", body = mosaic_types::ErrorBody),
        (status = 409, description = "The deployment is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[put("/deployments/{id}/cloud-configs/{cloud_config_id}")]
pub async fn pin_deployment_cloud_config(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(DeploymentId, CloudConfigId)>,
    body: web::Json<PinRevision>,
) -> Result<web::Json<Deployment>, ApiError> {
    let (id, cc) = path.into_inner();
    let revision = body.revision;
    AuditTarget::set(&req, format!("deployment {id} cloud-config {cc} revision {revision}"));
    let updated = super::change_member(&state, id, cc, move |conn| {
        super::resolve_pins(conn, id, &[CloudConfigPin { cloud_config_id: cc, revision: Some(revision) }])?;
        Ok(Row::pin(conn, id, cc, revision)?)
    })
    .await?;
    Ok(web::Json(updated))
}
