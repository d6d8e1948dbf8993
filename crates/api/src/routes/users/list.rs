//! `GET /api/v1/users`.

use actix_web::{get, web};
use mosaic_db::models::users::User as Row;
use mosaic_types::users::User;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists users (admins only).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every user, by name", body = Vec<User>),
    )
)]
#[get("/users")]
pub async fn list_users(
    _user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<User>>, ApiError> {
    let users = db::query(&state.pool, Row::all).await?;
    Ok(web::Json(users.into_iter().map(Into::into).collect()))
}
