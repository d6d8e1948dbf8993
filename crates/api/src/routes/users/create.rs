//! `POST /api/v1/users`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use mosaic_db::models::users::{NewUser, User as Row};
use mosaic_types::UserId;
use mosaic_types::users::{CreateUser, CreatedUser};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::routes::tokens;
use crate::state::AppState;

/// Creates a user with a first token (admins only); the token's secret is shown once.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = CreatedUser),
        (status = 409, description = "The name is taken", body = mosaic_types::ErrorBody),
    )
)]
#[post("/users")]
pub async fn create_user(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateUser>,
) -> Result<(web::Json<CreatedUser>, StatusCode), ApiError> {
    let body = body.into_inner();
    AuditTarget::set(&req, format!("user {}", body.name));
    validate::resource_name("name", &body.name).map_err(ApiError::validation)?;
    let created = db::transaction(&state.pool, move |conn| {
        let new = NewUser { id: UserId::new(), name: &body.name, role: body.role };
        let created = Row::create(conn, &new)
            .or_conflict("user_name_taken", || format!("a user named {} exists", body.name))?;
        let token = tokens::issue(conn, created.id, &created.name, "first token", tokens::Limits::default())?;
        Ok::<_, ApiError>(CreatedUser { user: created.into(), token })
    })
    .await?;
    Ok((web::Json(created), StatusCode::CREATED))
}
