//! `DELETE /api/v1/deployments/{id}/ports/{port_id}`.

use actix_web::{HttpRequest, HttpResponse, delete, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_db::models::routing::ExposedPort;
use mosaic_types::{DeploymentId, ExposedPortId};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::routes::deployments::find;
use crate::state::AppState;

/// Stops exposing a port: its frontend and backend go with one seamless reload of each Mosaic
/// server's HAProxy (requests in flight finish on the old worker), and the proxy devices Mosaic
/// added for it are removed from the instances a few seconds later.
#[utoipa::path(
    tag = "routing",
    security(("bearer" = [])),
    params(
        ("id" = DeploymentId, Path, description = "The deployment"),
        ("port_id" = ExposedPortId, Path, description = "The exposed port"),
    ),
    responses(
        (status = 204, description = "No longer exposed"),
        (status = 404, description = "No such deployment, or no such exposed port in it", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/deployments/{id}/ports/{port_id}")]
pub async fn unexpose_deployment_port(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(DeploymentId, ExposedPortId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, port) = path.into_inner();
    AuditTarget::set(&req, format!("deployment {id}: exposed port {port}"));
    db::transaction(&state.pool, move |conn| {
        find(conn, id)?;
        let row = ExposedPort::find(conn, id, port).map_err(|e| match e {
            diesel::result::Error::NotFound => {
                ApiError::not_found("port_not_found", format!("deployment {id} has no exposed port {port}"))
            }
            other => other.into(),
        })?;
        ExposedPort::delete(conn, id, port)?;
        Row::touch(conn, id)?;
        Ok::<_, ApiError>(row)
    })
    .await?;
    state.routing.wake();
    Ok(HttpResponse::NoContent().finish())
}
