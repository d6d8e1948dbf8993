//! `GET /api/v1/hosts/{id}/profiles`.

use actix_web::{get, web};
use mosaic_types::HostId;
use mosaic_types::hosts::HostProfile;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists a host's LXD profiles (the deploy dialog offers them as extra profiles).
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(("id" = HostId, Path, description = "The host")),
    responses(
        (status = 200, description = "The host's profiles, by name", body = Vec<HostProfile>),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
        (status = 503, description = "The host does not answer", body = mosaic_types::ErrorBody),
    )
)]
#[get("/hosts/{id}/profiles")]
pub async fn list_host_profiles(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<HostId>,
) -> Result<web::Json<Vec<HostProfile>>, ApiError> {
    let host = super::find(&state, id.into_inner()).await?;
    let client = state.hosts.get(&host, &state.identity)?;
    let mut profiles = client.profiles().await.map_err(|e| super::offline_error(&host, e))?;
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(web::Json(
        profiles.into_iter().map(|p| HostProfile { name: p.name, description: p.description }).collect(),
    ))
}
