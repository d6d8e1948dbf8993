//! `GET /api/v1/hosts`.

use actix_web::{get, web};
use mosaic_db::models::hosts::Host as HostRow;
use mosaic_types::hosts::Host;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::hosts::{probe_all, to_wire};
use crate::state::AppState;

/// Lists every host with its status; a host that does not answer is shown offline.
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
    let clients: Vec<_> = hosts.iter().map(|h| state.hosts.get(h, &state.identity).ok()).collect();
    let statuses = probe_all(&clients, super::timeout(&state)).await;
    Ok(web::Json(hosts.into_iter().zip(statuses).map(|(h, s)| to_wire(h, s)).collect()))
}
