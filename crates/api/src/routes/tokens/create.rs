//! `POST /api/v1/tokens`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use chrono::Utc;
use mosaic_types::users::{CreateToken, CreatedToken};

use super::Limits;
use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Creates a token for the caller, optionally limited to a role below the caller's, to named
/// deployments (a CI pipeline that may only change `My_Site`), and to an expiry. A token never
/// gives more than the one that made it: its role is at most the caller's, its expiry not after
/// the caller's token's, and a token limited to deployments cannot make tokens. The secret is
/// shown in this answer only.
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
    let body = body.into_inner();
    super::check_name(&body.name)?;
    if let Some(role) = body.role
        && role > user.role
    {
        return Err(ApiError::validation(format!(
            "role {role} is above this token's ({}); a token cannot give more than the one that made it",
            user.role
        )));
    }
    if let Some(deployments) = &body.deployments
        && (deployments.is_empty() || deployments.len() > 100)
    {
        return Err(ApiError::validation("deployments must name 1 to 100 deployments (or be left out)"));
    }
    if let Some(expires) = body.expires_at {
        if expires <= Utc::now() {
            return Err(ApiError::validation("expires_at must be in the future"));
        }
        if user.expires_at.is_some_and(|own| expires > own) {
            return Err(ApiError::validation("expires_at is after this token's own expiry"));
        }
    }
    let limits = Limits {
        // A token made by a role-limited token is limited at least as much: left unlimited, it
        // would follow the user's full role.
        role: body.role.or(user.token_role),
        deployments: body.deployments,
        // A token made by an expiring token expires with it at the latest.
        expires_at: body.expires_at.or(user.expires_at),
    };
    let name = body.name;
    let created =
        db::transaction(&state.pool, move |conn| super::issue(conn, user.id, &user.name, &name, limits))
            .await?;
    AuditTarget::set(&req, format!("token {} ({})", created.token.name, created.token.id));
    Ok((web::Json(created), StatusCode::CREATED))
}
