//! `GET /api/v1/tokens` and `GET /api/v1/users/{id}/tokens`.

use actix_web::{get, web};
use diesel::PgConnection;
use mosaic_db::models::tokens::{ApiToken as Row, to_wire};
use mosaic_db::models::users::User;
use mosaic_types::page::{Page, PageQuery};
use mosaic_types::users::ApiToken;
use mosaic_types::{TokenId, UserId};

use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;

/// Lists the caller's live tokens, newest first, a page at a time (never their secrets).
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of your tokens, newest first", body = Page<ApiToken>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
    )
)]
#[get("/tokens")]
pub async fn list_tokens(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ApiToken>>, ApiError> {
    let (limit, before) = read(query.into_inner())?;
    let page = db::run(&state.pool, move |conn| page_of(conn, user.id, before, limit)).await?;
    Ok(web::Json(page))
}

/// Lists a user's live tokens, newest first, a page at a time (admins only), so an admin can
/// revoke any of them.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user"), PageQuery),
    responses(
        (status = 200, description = "A page of the user's tokens, newest first", body = Page<ApiToken>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such user", body = mosaic_types::ErrorBody),
    )
)]
#[get("/users/{id}/tokens")]
pub async fn list_user_tokens(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ApiToken>>, ApiError> {
    let id = id.into_inner();
    let (limit, before) = read(query.into_inner())?;
    let page = db::run(&state.pool, move |conn| {
        User::find(conn, id).or_not_found("user_not_found", || format!("no user with id {id}"))?;
        page_of(conn, id, before, limit)
    })
    .await?;
    Ok(web::Json(page))
}

type Before = Option<(chrono::DateTime<chrono::Utc>, TokenId)>;

/// The page size and where the page continues (the last token's creation time and ID).
fn read(query: PageQuery) -> Result<(i64, Before), ApiError> {
    let limit = paging::limit(query.limit)?;
    let before = match paging::after::<2>(query.cursor.as_deref())? {
        Some([at, id]) => Some((paging::parse(&at)?, paging::parse(&id)?)),
        None => None,
    };
    Ok((limit, before))
}

fn page_of(
    conn: &mut PgConnection,
    user: UserId,
    before: Before,
    limit: i64,
) -> Result<Page<ApiToken>, ApiError> {
    let rows = Row::live_page(conn, user, before, limit + 1)?;
    let page = paging::finish(rows, limit, |(t, _)| {
        paging::encode(&[&paging::time(&t.created_at), &t.id.to_string()])
    });
    Ok(paging::map(page, |(t, name)| to_wire(t, name)))
}
