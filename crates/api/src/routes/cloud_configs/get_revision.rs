//! `GET /api/v1/cloud-configs/{id}/revisions/{revision}`.

use actix_web::{get, web};
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::Revision;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Shows one revision's content.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(
        ("id" = CloudConfigId, Path, description = "The cloud-config"),
        ("revision" = i32, Path, description = "The revision number"),
    ),
    responses(
        (status = 200, description = "The revision", body = Revision),
        (status = 404, description = "No such cloud-config or revision", body = mosaic_types::ErrorBody),
    )
)]
#[get("/cloud-configs/{id}/revisions/{revision}")]
pub async fn get_cloud_config_revision(
    _user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(CloudConfigId, i32)>,
) -> Result<web::Json<Revision>, ApiError> {
    let (id, revision) = path.into_inner();
    let found = db::run(&state.pool, move |conn| {
        super::find(conn, id, false)?;
        super::find_revision(conn, id, revision)
    })
    .await?;
    Ok(web::Json(super::revision_to_wire(found)))
}
