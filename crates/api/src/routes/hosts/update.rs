//! `PATCH /api/v1/hosts/{id}`.

use actix_web::{HttpRequest, patch, web};
use mosaic_db::models::hosts::Host as HostRow;
use mosaic_types::HostId;
use mosaic_types::hosts::{Host, UpdateHost};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::hosts::to_wire;
use crate::state::AppState;

/// Renames a host.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(("id" = HostId, Path, description = "The host")),
    request_body = UpdateHost,
    responses(
        (status = 200, description = "Renamed", body = Host),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
        (status = 409, description = "The name is taken", body = mosaic_types::ErrorBody),
    )
)]
#[patch("/hosts/{id}")]
pub async fn update_host(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<HostId>,
    body: web::Json<UpdateHost>,
) -> Result<web::Json<Host>, ApiError> {
    let id = id.into_inner();
    validate::resource_name("name", &body.name).map_err(ApiError::validation)?;
    super::find(&state, id).await?;
    let name = body.into_inner().name;
    AuditTarget::set(&req, format!("host {name} ({id})"));
    let host = db::run(&state.pool, move |conn| {
        HostRow::rename(conn, id, &name).or_conflict("host_name_taken", super::create::taken(&name))
    })
    .await?;
    Ok(web::Json(to_wire(host, &state.cache)))
}
