//! `/api/v1/tokens`: the caller's own API tokens (and, for admins, anyone's).

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use mosaic_db::models::tokens::{ApiToken, NewApiToken, to_wire};
use mosaic_types::users::{CreatedToken, Role};
use mosaic_types::{DeploymentId, TokenId, UserId};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth;
use crate::error::ApiError;

pub mod create;
pub mod delete;
pub mod list;

/// Registers the token routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_tokens)
        .service(list::list_user_tokens)
        .service(create::create_token)
        .service(delete::delete_token);
}

/// What a new token is limited to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    /// Its role (at most its user's).
    pub role: Option<Role>,
    /// Its deployments.
    pub deployments: Option<Vec<DeploymentId>>,
    /// Its expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issues a token for `user`; the secret is returned once and only its hash is stored.
pub(crate) fn issue(
    conn: &mut PgConnection,
    user: UserId,
    user_name: &str,
    name: &str,
    limits: Limits,
) -> Result<CreatedToken, ApiError> {
    let secret = auth::new_secret()?;
    let hash = auth::hash_secret(&secret);
    let new = NewApiToken {
        id: TokenId::new(),
        user_id: user,
        name,
        token_hash: &hash,
        role: limits.role,
        deployments: limits.deployments.map(|ids| ids.into_iter().map(|d| d.0).collect()),
        expires_at: limits.expires_at,
    };
    let token = ApiToken::create(conn, &new)?;
    Ok(CreatedToken { token: to_wire(token, user_name.to_owned()), secret })
}

/// Checks a token name.
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::validation("token name must be 1 to 100 characters"));
    }
    mosaic_types::validate::max_len("token name", name, 100).map_err(ApiError::validation)
}
