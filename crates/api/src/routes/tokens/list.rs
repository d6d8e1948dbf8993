//! `GET /api/v1/tokens` and `GET /api/v1/users/{id}/tokens`.

use actix_web::{get, web};
use mosaic_db::models::tokens::{ApiToken as Row, to_wire};
use mosaic_db::models::users::User;
use mosaic_types::UserId;
use mosaic_types::users::ApiToken;

use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
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
    let tokens = db::query(&state.pool, move |conn| Row::live(conn, Some(user.id))).await?;
    Ok(web::Json(tokens.into_iter().map(|(t, name)| to_wire(t, name)).collect()))
}

/// Lists a user's live tokens, newest first (admins only), so an admin can revoke any of them.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user")),
    responses(
        (status = 200, description = "The user's tokens", body = Vec<ApiToken>),
        (status = 404, description = "No such user", body = mosaic_types::ErrorBody),
    )
)]
#[get("/users/{id}/tokens")]
pub async fn list_user_tokens(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<web::Json<Vec<ApiToken>>, ApiError> {
    let id = id.into_inner();
    let tokens = db::run(&state.pool, move |conn| {
        User::find(conn, id).or_not_found("user_not_found", || format!("no user with id {id}"))?;
        Ok::<_, ApiError>(Row::live(conn, Some(id))?)
    })
    .await?;
    Ok(web::Json(tokens.into_iter().map(|(t, name)| to_wire(t, name)).collect()))
}
