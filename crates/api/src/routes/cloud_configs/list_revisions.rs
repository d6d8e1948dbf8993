//! `GET /api/v1/cloud-configs/{id}/revisions`.

use actix_web::{get, web};
use mosaic_db::models::cloud_configs::Revision;
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::RevisionSummary;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists a cloud-config's revisions, newest first.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(("id" = CloudConfigId, Path, description = "The cloud-config")),
    responses(
        (status = 200, description = "Its revisions, newest first", body = Vec<RevisionSummary>),
        (status = 404, description = "No such cloud-config", body = mosaic_types::ErrorBody),
    )
)]
#[get("/cloud-configs/{id}/revisions")]
pub async fn list_cloud_config_revisions(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<CloudConfigId>,
) -> Result<web::Json<Vec<RevisionSummary>>, ApiError> {
    let id = id.into_inner();
    let revisions = db::run(&state.pool, move |conn| {
        super::find(conn, id, false)?;
        Ok::<_, ApiError>(Revision::all_for(conn, id)?)
    })
    .await?;
    Ok(web::Json(
        revisions
            .into_iter()
            .map(|r| RevisionSummary {
                revision: r.revision,
                author: r.author_name,
                created_at: r.created_at,
            })
            .collect(),
    ))
}
