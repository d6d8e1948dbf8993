//! Users, their roles, and their API tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{DeploymentId, TokenId, UserId};

crate::stored::stored_enum! {
    /// What a user (or a token) may do. Each role may do everything the ones before it may.
    pub enum Role {
        /// Reads only.
        Viewer = "viewer",
        /// Also changes cloud-configs and deployments, and runs their jobs.
        Operator = "operator",
        /// Also manages hosts (they make Mosaic connect somewhere), users, everyone's tokens, and
        /// reads the audit log.
        Admin = "admin",
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// Its ID.
    pub id: UserId,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was disabled (its tokens stopped working then); `null` while it is enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Who is calling: the user, and what the token used allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The token's user.
    pub user: User,
    /// The token.
    pub token: ApiToken,
    /// What this token may do: its own role, or its user's if lower.
    pub role: Role,
}

/// An API token (never its secret, which is shown once at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiToken {
    /// Its ID.
    pub id: TokenId,
    /// Its user.
    pub user_id: UserId,
    /// Its user's name.
    pub user_name: String,
    /// What it is for.
    pub name: String,
    /// The role it is limited to (`null`: its user's role). A token never does more than its
    /// user may, whatever this says.
    pub role: Option<Role>,
    /// The only deployments it may act on (`null`: all).
    pub deployments: Option<Vec<DeploymentId>>,
    /// When it stops working (`null`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/tokens`: a new token for yourself, optionally limited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Limit it to this role (at most yours).
    #[serde(default)]
    pub role: Option<Role>,
    /// Limit it to these deployments (1 to 100 of them); a token limited so cannot make tokens.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub deployments: Option<Vec<DeploymentId>>,
    /// When it stops working (in the future, and not after your token's own expiry).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
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
    /// What it may do.
    pub role: Role,
}

/// `PATCH /api/v1/users/{id}` (admins only): change a user's role, or disable or enable it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Its new role.
    #[serde(default)]
    pub role: Option<Role>,
    /// `true` disables it (its tokens stop working at once), `false` enables it again.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A new user and its first token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// Its first token.
    pub token: CreatedToken,
}
