//! `PATCH /api/v1/cloud-configs/{id}`.

use actix_web::{HttpRequest, patch, web};
use chrono::Utc;
use diesel::prelude::*;
use mosaic_db::models::cloud_configs::{NewRevision, Revision};
use mosaic_db::schema::cloud_configs;
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{CloudConfig, UpdateCloudConfig};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::cloud_config_rules as check;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Changes a cloud-config. A change to its content (user-data, image, image server or config keys)
/// creates a new revision authored by the caller; renaming or re-describing it does not.
/// `image_server`: omitted keeps the current one, `null` makes the image one on the hosts.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(("id" = CloudConfigId, Path, description = "The cloud-config")),
    request_body = UpdateCloudConfig,
    responses(
        (status = 200, description = "Updated", body = CloudConfig),
        (status = 404, description = "No such cloud-config", body = mosaic_types::ErrorBody),
        (status = 409, description = "The new namespace/name is taken", body = mosaic_types::ErrorBody),
    )
)]
#[patch("/cloud-configs/{id}")]
pub async fn update_cloud_config(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<CloudConfigId>,
    body: web::Json<UpdateCloudConfig>,
) -> Result<web::Json<CloudConfig>, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    AuditTarget::set(&req, format!("cloud-config {id}"));
    if let Some(ns) = &patch.namespace {
        validate::resource_name("namespace", ns).map_err(ApiError::validation)?;
    }
    if let Some(name) = &patch.name {
        validate::resource_name("name", name).map_err(ApiError::validation)?;
    }
    if let Some(d) = &patch.description {
        validate::max_len("description", d, 2000).map_err(ApiError::validation)?;
    }
    if let Some(u) = &patch.user_data {
        check::user_data(u)?;
    }
    if let Some(i) = &patch.image {
        check::image(i)?;
    }
    if let Some(c) = &patch.config {
        check::config(c)?;
    }

    let updated = db::transaction(&state.pool, move |conn| {
        // Locked: two concurrent edits get consecutive revision numbers, never the same one.
        let current = super::find(conn, id, true)?;
        let content = super::find_revision(conn, id, current.current_revision)?;
        let user_data = patch.user_data.unwrap_or_else(|| content.user_data.clone());
        let image = patch.image.unwrap_or_else(|| content.image.clone());
        let server = patch.image_server.unwrap_or_else(|| content.image_server());
        check::image_server(&image, server.as_ref())?;
        let config = patch.config.unwrap_or_else(|| content.config_map());
        let changed = user_data != content.user_data
            || image != content.image
            || server != content.image_server()
            || config != content.config_map();
        let revision = if changed {
            let next = current.current_revision + 1;
            Revision::insert(
                conn,
                &NewRevision {
                    cloud_config_id: id,
                    revision: next,
                    user_data: &user_data,
                    image: &image,
                    config: serde_json::to_value(&config).map_err(anyhow::Error::from)?,
                    author_id: Some(user.id),
                    author_name: &user.name,
                    image_server: None,
                    image_protocol: None,
                    image_certificate: None,
                }
                .with_image_server(server.as_ref()),
            )?;
            next
        } else {
            current.current_revision
        };
        let namespace = patch.namespace.unwrap_or(current.namespace);
        let name = patch.name.unwrap_or(current.name);
        diesel::update(cloud_configs::table.find(id))
            .set((
                cloud_configs::namespace.eq(&namespace),
                cloud_configs::name.eq(&name),
                cloud_configs::description.eq(patch.description.unwrap_or(current.description)),
                cloud_configs::current_revision.eq(revision),
                cloud_configs::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .or_conflict("cloud_config_exists", super::name_taken(&namespace, &name))?;
        super::load(conn, id)
    })
    .await?;
    AuditTarget::set(
        &req,
        format!("cloud-config {}/{} ({id}) revision {}", updated.namespace, updated.name, updated.revision),
    );
    Ok(web::Json(updated))
}
