//! `GET /api/v1/me`.

use actix_web::{get, web};
use mosaic_db::models::users::User as Row;
use mosaic_types::users::User;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Shows who the token belongs to (the app uses it to check a token at sign-in).
#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, description = "You", body = User)))]
#[get("/me")]
pub async fn get_me(user: AuthUser, state: web::Data<AppState>) -> Result<web::Json<User>, ApiError> {
    let me = db::query(&state.pool, move |conn| {
        use diesel::prelude::*;
        mosaic_db::schema::users::table.find(user.id).select(Row::as_select()).first(conn)
    })
    .await?;
    Ok(web::Json(me.into()))
}
