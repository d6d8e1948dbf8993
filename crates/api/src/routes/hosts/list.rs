//! `GET /api/v1/hosts`.

use actix_web::{get, web};
use mosaic_db::models::hosts::Host as HostRow;
use mosaic_types::hosts::Host;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::hosts::to_wire;
use crate::state::AppState;

/// Lists every host with its status as the host cache last saw it (no LXD call per request); a
/// host that did not answer is shown offline, with why. A cluster is one host, with its members
/// and their status.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    responses((status = 200, description = "Every host, by name, with its status", body = Vec<Host>))
)]
#[get("/hosts")]
pub async fn list_hosts(
    _user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Host>>, ApiError> {
    let hosts = db::query(&state.pool, HostRow::all).await?;
    Ok(web::Json(hosts.into_iter().map(|h| to_wire(h, &state.cache)).collect()))
}
