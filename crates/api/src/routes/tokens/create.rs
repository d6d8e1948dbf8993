//! `POST /api/v1/tokens`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use mosaic_types::users::{CreateToken, CreatedToken};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Creates a token for the caller; its secret is shown in this answer only.
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = [])),
    request_body = CreateToken,
    responses((status = 201, description = "Created; keep the secret", body = CreatedToken))
)]
#[post("/tokens")]
pub async fn create_token(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateToken>,
) -> Result<(web::Json<CreatedToken>, StatusCode), ApiError> {
    let name = body.into_inner().name;
    super::check_name(&name)?;
    let created = db::run(&state.pool, move |conn| super::issue(conn, user.id, &name)).await?;
    AuditTarget::set(&req, format!("token {} ({})", created.token.name, created.token.id));
    Ok((web::Json(created), StatusCode::CREATED))
}
