//! `GET /api/v1/cloud-configs/{id}`.

use actix_web::{get, web};
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::CloudConfig;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Shows a cloud-config with its current revision and the deployments using it.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(("id" = CloudConfigId, Path, description = "The cloud-config")),
    responses(
        (status = 200, description = "The cloud-config", body = CloudConfig),
        (status = 404, description = "No such cloud-config", body = mosaic_types::ErrorBody),
    )
)]
#[get("/cloud-configs/{id}")]
pub async fn get_cloud_config(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<CloudConfigId>,
) -> Result<web::Json<CloudConfig>, ApiError> {
    let id = id.into_inner();
    Ok(web::Json(db::run(&state.pool, move |conn| super::load(conn, id)).await?))
}
