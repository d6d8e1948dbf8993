//! `GET /api/v1/me`.

use actix_web::{get, web};
use mosaic_db::models::tokens::{ApiToken, to_wire};
use mosaic_db::models::users::User as Row;
use mosaic_types::users::Me;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Shows who the token belongs to and what it may do (the app uses it at sign-in, to show only
/// what the token allows).
#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, description = "You, and this token", body = Me)))]
#[get("/me")]
pub async fn get_me(user: AuthUser, state: web::Data<AppState>) -> Result<web::Json<Me>, ApiError> {
    let (row, token) = db::query(&state.pool, move |conn| {
        Ok((Row::find(conn, user.id)?, ApiToken::find_live(conn, user.token)?))
    })
    .await?;
    Ok(web::Json(Me { user: row.into(), token: to_wire(token.0, token.1), role: user.role }))
}
