//! `GET /api/v1/tokens`.

use actix_web::{get, web};
use mosaic_db::models::tokens::ApiToken as Row;
use mosaic_types::users::ApiToken;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists the caller's live tokens, newest first (never their secrets).
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = [])),
    responses((status = 200, description = "Your tokens", body = Vec<ApiToken>))
)]
#[get("/tokens")]
pub async fn list_tokens(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ApiToken>>, ApiError> {
    let tokens = db::query(&state.pool, move |conn| Row::for_user(conn, user.id)).await?;
    Ok(web::Json(tokens.into_iter().map(Into::into).collect()))
}
