//! Users and their API tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{TokenId, UserId};

/// The user a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// Its ID.
    pub id: UserId,
    /// Its name.
    pub name: String,
    /// Whether it may manage users.
    pub is_admin: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An API token (never its secret, which is shown once at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiToken {
    /// Its ID.
    pub id: TokenId,
    /// What it is for.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A new token with its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The token.
    pub token: ApiToken,
    /// The secret to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// `POST /api/v1/users` (admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Name: letters, digits, `_`, `-`, starting with a letter.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
    /// Whether it may manage users.
    #[serde(default)]
    pub is_admin: bool,
}

/// A new user and its first token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// Its first token.
    pub token: CreatedToken,
}
