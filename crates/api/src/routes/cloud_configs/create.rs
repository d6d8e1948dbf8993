//! `POST /api/v1/cloud-configs`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use mosaic_db::models::cloud_configs::{CloudConfig as Row, NewCloudConfig, NewRevision, Revision};
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{CloudConfig, CreateCloudConfig};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::cloud_config_rules as check;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Creates a cloud-config; its content becomes revision 1.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    request_body = CreateCloudConfig,
    responses(
        (status = 201, description = "Created", body = CloudConfig),
        (status = 409, description = "namespace/name is taken", body = mosaic_types::ErrorBody),
    )
)]
#[post("/cloud-configs")]
pub async fn create_cloud_config(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateCloudConfig>,
) -> Result<(web::Json<CloudConfig>, StatusCode), ApiError> {
    let body = body.into_inner();
    AuditTarget::set(&req, format!("cloud-config {}/{}", body.namespace, body.name));
    validate::resource_name("namespace", &body.namespace).map_err(ApiError::validation)?;
    validate::resource_name("name", &body.name).map_err(ApiError::validation)?;
    validate::max_len("description", &body.description, 2000).map_err(ApiError::validation)?;
    check::user_data(&body.user_data)?;
    check::image(&body.image)?;
    check::image_server(&body.image, body.image_server.as_ref())?;
    check::config(&body.config)?;

    let created = db::transaction(&state.pool, move |conn| {
        let id = CloudConfigId::new();
        Row::create(
            conn,
            &NewCloudConfig {
                id,
                namespace: &body.namespace,
                name: &body.name,
                description: &body.description,
                current_revision: 1,
            },
        )
        .or_conflict("cloud_config_exists", super::name_taken(&body.namespace, &body.name))?;
        Revision::insert(
            conn,
            &NewRevision {
                cloud_config_id: id,
                revision: 1,
                user_data: &body.user_data,
                image: &body.image,
                config: serde_json::to_value(&body.config).map_err(anyhow::Error::from)?,
                author_id: Some(user.id),
                author_name: &user.name,
                image_server: None,
                image_protocol: None,
                image_certificate: None,
            }
            .with_image_server(body.image_server.as_ref()),
        )?;
        super::load(conn, id)
    })
    .await?;
    AuditTarget::set(&req, format!("cloud-config {}/{} ({})", created.namespace, created.name, created.id));
    Ok((web::Json(created), StatusCode::CREATED))
}
