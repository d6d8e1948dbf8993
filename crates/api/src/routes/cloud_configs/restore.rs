//! `POST /api/v1/cloud-configs/{id}/revisions/{revision}/restore`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use chrono::Utc;
use diesel::prelude::*;
use mosaic_db::models::cloud_configs::{NewRevision, Revision};
use mosaic_db::schema::cloud_configs;
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::CloudConfig;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Restores an old revision's content as a new revision (history is never rewritten).
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(
        ("id" = CloudConfigId, Path, description = "The cloud-config"),
        ("revision" = i32, Path, description = "The revision to restore"),
    ),
    responses(
        (status = 201, description = "Restored as a new revision", body = CloudConfig),
        (status = 404, description = "No such cloud-config or revision", body = mosaic_types::ErrorBody),
    )
)]
#[post("/cloud-configs/{id}/revisions/{revision}/restore")]
pub async fn restore_cloud_config_revision(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(CloudConfigId, i32)>,
) -> Result<(web::Json<CloudConfig>, StatusCode), ApiError> {
    let (id, revision) = path.into_inner();
    AuditTarget::set(&req, format!("cloud-config {id} revision {revision}"));
    let restored = db::transaction(&state.pool, move |conn| {
        let current = super::find(conn, id, true)?;
        let old = super::find_revision(conn, id, revision)?;
        let next = current.current_revision + 1;
        Revision::insert(
            conn,
            &NewRevision {
                cloud_config_id: id,
                revision: next,
                user_data: &old.user_data,
                image: &old.image,
                config: old.config.clone(),
                author_id: Some(user.id),
                author_name: &user.name,
                image_server: old.image_server.as_deref(),
                image_protocol: old.image_protocol,
                image_certificate: old.image_certificate.as_deref(),
            },
        )?;
        diesel::update(cloud_configs::table.find(id))
            .set((cloud_configs::current_revision.eq(next), cloud_configs::updated_at.eq(Utc::now())))
            .execute(conn)?;
        super::load(conn, id)
    })
    .await?;
    Ok((web::Json(restored), StatusCode::CREATED))
}
