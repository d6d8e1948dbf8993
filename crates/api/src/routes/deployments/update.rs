//! `PATCH /api/v1/deployments/{id}`.

use actix_web::{HttpRequest, patch, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_types::DeploymentId;
use mosaic_types::deployments::{Deployment, UpdateDeployment};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Renames a deployment, or turns its healing on or off: with healing on, Mosaic recreates
/// instances that went missing (deleted behind its back) or failed, with back-off, and never on a
/// host that does not answer.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = UpdateDeployment,
    responses(
        (status = 200, description = "Changed", body = Deployment),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "The name is taken, or the deployment is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[patch("/deployments/{id}")]
pub async fn update_deployment(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<UpdateDeployment>,
) -> Result<web::Json<Deployment>, ApiError> {
    let id = id.into_inner();
    // Nothing to change (`{}`) is no change, as in a JSON merge patch: the answer is the
    // deployment as it is (a deleted one still answers 409).
    let UpdateDeployment { name, healing } = body.into_inner();
    if let Some(name) = &name {
        validate::resource_name("name", name).map_err(ApiError::validation)?;
    }
    let snapshots = super::seen(&state);
    let updated = db::transaction(&state.pool, move |conn| {
        super::ensure_active(&super::find(conn, id)?)?;
        if let Some(name) = &name {
            Row::rename(conn, id, name).or_conflict("deployment_name_taken", super::name_taken(name))?;
        }
        if let Some(healing) = healing {
            Row::set_healing(conn, id, healing)?;
        }
        super::load(conn, id, &snapshots)
    })
    .await?;
    AuditTarget::set(&req, format!("deployment {} ({id}): healing {}", updated.name, updated.healing));
    Ok(web::Json(updated))
}
