//! `POST /api/v1/deployments`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use mosaic_db::models::deployments::{Deployment as Row, NewDeployment};
use mosaic_types::DeploymentId;
use mosaic_types::deployments::{CreateDeployment, Deployment};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Creates a deployment grouping cloud-configs, each pinned to a revision (its current one unless
/// given).
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    request_body = CreateDeployment,
    responses(
        (status = 201, description = "Created", body = Deployment),
        (status = 409, description = "The name is taken", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments")]
pub async fn create_deployment(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateDeployment>,
) -> Result<(web::Json<Deployment>, StatusCode), ApiError> {
    let body = body.into_inner();
    AuditTarget::set(&req, format!("deployment {}", body.name));
    validate::resource_name("name", &body.name).map_err(ApiError::validation)?;
    if body.cloud_configs.len() > 100 {
        return Err(ApiError::validation("a deployment groups at most 100 cloud-configs"));
    }
    let snapshots = super::seen(&state);
    let created = db::transaction(&state.pool, move |conn| {
        let id = DeploymentId::new();
        let members = super::resolve_pins(conn, id, &body.cloud_configs)?;
        Row::create(conn, &NewDeployment { id, name: &body.name })
            .or_conflict("deployment_name_taken", super::name_taken(&body.name))?;
        Row::add_members(conn, &members)?;
        super::load(conn, id, &snapshots)
    })
    .await?;
    AuditTarget::set(&req, format!("deployment {} ({})", created.name, created.id));
    Ok((web::Json(created), StatusCode::CREATED))
}
