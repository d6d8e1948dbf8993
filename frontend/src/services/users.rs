//! `/api/v1/me` and `/api/v1/users` (the users' part is for admins).

use mosaic_types::UserId;
use mosaic_types::page::Page;
use mosaic_types::users::{ApiToken, CreateUser, CreatedUser, Me, UpdateUser, User};

use super::pages::{every, first_pages};
use super::{Api, ApiError};

/// Who the token belongs to and what it may do: how the sign-in screen checks a token before
/// keeping it, and how the app learns which actions to offer.
pub async fn me(api: &Api) -> Result<Me, ApiError> {
    api.get("/api/v1/me").await
}

/// The first `pages` pages of users, by name.
pub async fn list(api: &Api, pages: usize) -> Result<Page<User>, ApiError> {
    first_pages(api, "/api/v1/users", pages).await
}

/// Creates a user; the answer carries its first token's secret, shown this once.
pub async fn create(api: &Api, body: &CreateUser) -> Result<CreatedUser, ApiError> {
    api.post("/api/v1/users", body).await
}

/// Changes a user's role, or disables or enables it.
pub async fn update(api: &Api, id: UserId, body: &UpdateUser) -> Result<User, ApiError> {
    api.patch(&format!("/api/v1/users/{id}"), body).await
}

/// A user's live tokens, newest first.
pub async fn tokens(api: &Api, id: UserId) -> Result<Vec<ApiToken>, ApiError> {
    every(api, &format!("/api/v1/users/{id}/tokens")).await
}
