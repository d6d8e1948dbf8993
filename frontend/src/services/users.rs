//! `/api/v1/me` and `/api/v1/users` (the users' part is for admins).

use mosaic_types::UserId;
use mosaic_types::users::{ApiToken, CreateUser, CreatedUser, Me, UpdateUser, User};

use super::{Api, ApiError};

/// Who the token belongs to and what it may do: how the sign-in screen checks a token before
/// keeping it, and how the app learns which actions to offer.
pub async fn me(api: &Api) -> Result<Me, ApiError> {
    api.get("/api/v1/me").await
}

/// Every user, by name.
pub async fn list(api: &Api) -> Result<Vec<User>, ApiError> {
    api.get("/api/v1/users").await
}

/// Creates a user; the answer carries its first token's secret, shown this once.
pub async fn create(api: &Api, body: &CreateUser) -> Result<CreatedUser, ApiError> {
    api.post("/api/v1/users", body).await
}

/// Changes a user's role, or disables or enables it.
pub async fn update(api: &Api, id: UserId, body: &UpdateUser) -> Result<User, ApiError> {
    api.patch(&format!("/api/v1/users/{id}"), body).await
}

/// A user's live tokens.
pub async fn tokens(api: &Api, id: UserId) -> Result<Vec<ApiToken>, ApiError> {
    api.get(&format!("/api/v1/users/{id}/tokens")).await
}
