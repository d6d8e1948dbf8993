//! `/api/v1/tokens`: the caller's own API tokens.

use diesel::PgConnection;
use mosaic_db::models::tokens::{ApiToken, NewApiToken};
use mosaic_types::users::CreatedToken;
use mosaic_types::{TokenId, UserId};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth;
use crate::error::ApiError;

pub mod create;
pub mod delete;
pub mod list;

/// Registers the token routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_tokens).service(create::create_token).service(delete::delete_token);
}

/// Issues a token for `user`; the secret is returned once and only its hash is stored.
pub(crate) fn issue(conn: &mut PgConnection, user: UserId, name: &str) -> Result<CreatedToken, ApiError> {
    let secret = auth::new_secret()?;
    let hash = auth::hash_secret(&secret);
    let token =
        ApiToken::create(conn, &NewApiToken { id: TokenId::new(), user_id: user, name, token_hash: &hash })?;
    Ok(CreatedToken { token: token.into(), secret })
}

/// Checks a token name.
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::validation("token name must be 1 to 100 characters"));
    }
    mosaic_types::validate::max_len("token name", name, 100).map_err(ApiError::validation)
}
