//! `DELETE /api/v1/hosts/{id}`.

use actix_web::{HttpRequest, HttpResponse, delete, web};
use mosaic_db::models::hosts::Host as HostRow;
use mosaic_types::HostId;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Removes a host from Mosaic (the host and its containers are left as they are).
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(("id" = HostId, Path, description = "The host")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
        (status = 409, description = "Instances of deployments live on it", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/hosts/{id}")]
pub async fn delete_host(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<HostId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let host = super::find(&state, id).await?;
    AuditTarget::set(&req, format!("host {} ({id})", host.name));
    let name = host.name.clone();
    let removed = db::run(&state.pool, move |conn| {
        if mosaic_db::models::instances::Instance::any_on_host(conn, id)? {
            return Err(ApiError::Conflict {
                code: "host_in_use",
                message: format!("host {name} has instances of deployments; delete or scale them down first"),
            });
        }
        Ok(HostRow::delete(conn, id)?)
    })
    .await?;
    if !removed {
        return Err(ApiError::not_found("host_not_found", format!("no host with id {id}")));
    }
    state.hosts.forget(id);
    state.cache.forget(id);
    Ok(HttpResponse::NoContent().finish())
}
