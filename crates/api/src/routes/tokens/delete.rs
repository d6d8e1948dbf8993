//! `DELETE /api/v1/tokens/{id}`.

use actix_web::{HttpRequest, HttpResponse, delete, web};
use mosaic_db::models::tokens::ApiToken;
use mosaic_types::TokenId;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Revokes a token (it stops working at once): one of the caller's, or anyone's for an admin.
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = [])),
    params(("id" = TokenId, Path, description = "The token")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live token (of yours, unless you are an admin)", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/tokens/{id}")]
pub async fn delete_token(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<TokenId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    AuditTarget::set(&req, format!("token {id}"));
    let owner = if user.is_admin() { None } else { Some(user.id) };
    let revoked = db::query(&state.pool, move |conn| ApiToken::revoke(conn, id, owner)).await?;
    if !revoked {
        return Err(ApiError::not_found(
            "token_not_found",
            format!("no live token with id {id} is yours to revoke"),
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}
