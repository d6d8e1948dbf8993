//! `GET /api/v1/hosts/{id}/images`.

use actix_web::{get, web};
use mosaic_types::HostId;
use mosaic_types::hosts::HostImage;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists the images stored on a host.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(("id" = HostId, Path, description = "The host")),
    responses(
        (status = 200, description = "The host's images", body = Vec<HostImage>),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
        (status = 503, description = "The host does not answer", body = mosaic_types::ErrorBody),
    )
)]
#[get("/hosts/{id}/images")]
pub async fn list_host_images(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<HostId>,
) -> Result<web::Json<Vec<HostImage>>, ApiError> {
    let host = super::find(&state, id.into_inner()).await?;
    let client = state.hosts.get(&host, &state.identity)?;
    let images = client.images().await.map_err(|e| super::offline_error(&host, e))?;
    Ok(web::Json(
        images
            .into_iter()
            .map(|i| HostImage {
                aliases: i.aliases.into_iter().map(|a| a.name).collect(),
                description: i.properties.get("description").cloned().unwrap_or_default(),
                fingerprint: i.fingerprint,
                architecture: i.architecture,
                size: i.size,
            })
            .collect(),
    ))
}
