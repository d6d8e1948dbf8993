//! `PATCH /api/v1/users/{id}`.

use actix_web::{HttpRequest, patch, web};
use mosaic_db::models::users::User as Row;
use mosaic_types::UserId;
use mosaic_types::users::{Role, UpdateUser, User};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Changes a user's role, or disables it (its tokens stop working at once) or enables it again
/// (admins only). The last enabled admin can be neither demoted nor disabled: Mosaic would have
/// nobody left to manage it. An empty body changes nothing.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user as it now is", body = User),
        (status = 404, description = "No such user", body = mosaic_types::ErrorBody),
        (status = 409, description = "It is the last enabled admin", body = mosaic_types::ErrorBody),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
    body: web::Json<UpdateUser>,
) -> Result<web::Json<User>, ApiError> {
    let id = id.into_inner();
    // Nothing to change (`{}`) is a valid PATCH: it answers the user as it is.
    let UpdateUser { role, disabled } = body.into_inner();
    let updated = db::transaction(&state.pool, move |conn| {
        Row::lock_admins(conn)?;
        let mut user =
            Row::find(conn, id).or_not_found("user_not_found", || format!("no user with id {id}"))?;
        let loses_admin = user.role == Role::Admin
            && user.disabled_at.is_none()
            && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true));
        if let Some(role) = role {
            user = Row::set_role(conn, id, role)?;
        }
        if let Some(disabled) = disabled {
            user = Row::set_disabled(conn, id, disabled)?;
        }
        // Counted after the change, with every admin's row locked since before it.
        if loses_admin && Row::enabled_admins(conn)? == 0 {
            return Err(ApiError::Conflict {
                code: "last_admin",
                message: format!("{} is the last enabled admin; make another admin first", user.name),
            });
        }
        Ok(user)
    })
    .await?;
    AuditTarget::set(
        &req,
        format!(
            "user {} ({id}): role {}, disabled {}",
            updated.name,
            updated.role,
            updated.disabled_at.is_some()
        ),
    );
    Ok(web::Json(updated.into()))
}
