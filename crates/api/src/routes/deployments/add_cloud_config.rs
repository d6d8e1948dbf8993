//! `POST /api/v1/deployments/{id}/cloud-configs`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_types::DeploymentId;
use mosaic_types::deployments::{CloudConfigPin, Deployment};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Adds a cloud-config to a deployment.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = CloudConfigPin,
    responses(
        (status = 201, description = "Added", body = Deployment),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "It is already part of the deployment, or the deployment is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/cloud-configs")]
pub async fn add_deployment_cloud_config(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<CloudConfigPin>,
) -> Result<(web::Json<Deployment>, StatusCode), ApiError> {
    let id = id.into_inner();
    let pin = body.into_inner();
    AuditTarget::set(&req, format!("deployment {id} + cloud-config {}", pin.cloud_config_id));
    let snapshots = super::seen(&state);
    let updated = db::transaction(&state.pool, move |conn| {
        super::ensure_active(&super::find(conn, id)?)?;
        let rows = super::resolve_pins(conn, id, std::slice::from_ref(&pin))?;
        Row::add_members(conn, &rows).or_conflict("cloud_config_already_added", || {
            format!("cloud-config {} is already part of this deployment", pin.cloud_config_id)
        })?;
        Row::touch(conn, id)?;
        super::load(conn, id, &snapshots)
    })
    .await?;
    Ok((web::Json(updated), StatusCode::CREATED))
}
