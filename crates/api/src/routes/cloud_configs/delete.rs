//! `DELETE /api/v1/cloud-configs/{id}`.

use actix_web::{HttpRequest, HttpResponse, delete, web};
use diesel::prelude::*;
use mosaic_db::models::cloud_configs::CloudConfig as Row;
use mosaic_db::schema::cloud_configs;
use mosaic_types::CloudConfigId;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Deletes a cloud-config and its revisions; refused while a deployment uses it.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(("id" = CloudConfigId, Path, description = "The cloud-config")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such cloud-config", body = mosaic_types::ErrorBody),
        (status = 409, description = "Deployments use it (they are named)", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/cloud-configs/{id}")]
pub async fn delete_cloud_config(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<CloudConfigId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    AuditTarget::set(&req, format!("cloud-config {id}"));
    let deleted = db::transaction(&state.pool, move |conn| {
        let row = super::find(conn, id, true)?;
        let users = Row::used_by(conn, &[id])?;
        if !users.is_empty() {
            let names: Vec<String> = users.into_iter().map(|(_, _, name)| name).collect();
            return Err(ApiError::Conflict {
                code: "cloud_config_in_use",
                message: format!(
                    "{}/{} is used by deployment(s) {}; remove it from them first",
                    row.namespace,
                    row.name,
                    names.join(", ")
                ),
            });
        }
        diesel::delete(cloud_configs::table.find(id)).execute(conn)?;
        Ok(format!("cloud-config {}/{} ({id})", row.namespace, row.name))
    })
    .await?;
    AuditTarget::set(&req, deleted);
    Ok(HttpResponse::NoContent().finish())
}
