//! `DELETE /api/v1/tokens/{id}`.

use actix_web::{HttpResponse, delete, web};
use mosaic_db::models::tokens::ApiToken;
use mosaic_types::TokenId;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Revokes one of the caller's tokens (it stops working at once).
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = [])),
    params(("id" = TokenId, Path, description = "The token")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "You have no such live token", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/tokens/{id}")]
pub async fn delete_token(
    user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<TokenId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let revoked = db::query(&state.pool, move |conn| ApiToken::revoke(conn, user.id, id)).await?;
    if !revoked {
        return Err(ApiError::not_found("token_not_found", format!("you have no live token with id {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}
