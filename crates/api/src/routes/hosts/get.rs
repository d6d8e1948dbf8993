//! `GET /api/v1/hosts/{id}`.

use actix_web::{get, web};
use mosaic_types::HostId;
use mosaic_types::hosts::Host;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::hosts::to_wire;
use crate::state::AppState;

/// Shows one host with its status and, for a cluster, its members with theirs.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(("id" = HostId, Path, description = "The host")),
    responses(
        (status = 200, description = "The host", body = Host),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
    )
)]
#[get("/hosts/{id}")]
pub async fn get_host(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<HostId>,
) -> Result<web::Json<Host>, ApiError> {
    let host = super::find(&state, id.into_inner()).await?;
    Ok(web::Json(to_wire(host, &state.cache)))
}
