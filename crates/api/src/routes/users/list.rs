//! `GET /api/v1/users`.

use actix_web::{get, web};
use mosaic_db::models::users::User as Row;
use mosaic_types::UserId;
use mosaic_types::page::{Page, PageQuery};
use mosaic_types::users::User;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;

/// Lists users by name (then ID), a page at a time (admins only).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of users, by name", body = Page<User>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
    )
)]
#[get("/users")]
pub async fn list_users(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<User>>, ApiError> {
    let PageQuery { limit, cursor } = query.into_inner();
    let limit = paging::limit(limit)?;
    let after: Option<(String, UserId)> = match paging::after::<2>(cursor.as_deref())? {
        Some([name, id]) => Some((name, paging::parse(&id)?)),
        None => None,
    };
    let rows = db::query(&state.pool, move |conn| {
        Row::page(conn, after.as_ref().map(|(name, id)| (name.as_str(), *id)), limit + 1)
    })
    .await?;
    let page = paging::finish(rows, limit, |u| paging::encode(&[&u.name, &u.id.to_string()]));
    Ok(web::Json(paging::map(page, Into::into)))
}
