//! `/api/v1/tokens`: the signed-in user's API tokens (an admin may revoke anyone's).

use mosaic_types::TokenId;
use mosaic_types::page::Page;
use mosaic_types::users::{ApiToken, CreateToken, CreatedToken};

use super::pages::first_pages;
use super::{Api, ApiError};

/// The first `pages` pages of your live tokens, newest first.
pub async fn list(api: &Api, pages: usize) -> Result<Page<ApiToken>, ApiError> {
    first_pages(api, "/api/v1/tokens", pages).await
}

/// Makes a token for you; the answer carries its secret, shown this once.
pub async fn create(api: &Api, body: &CreateToken) -> Result<CreatedToken, ApiError> {
    api.post("/api/v1/tokens", body).await
}

/// Revokes a token: it stops working at once.
pub async fn revoke(api: &Api, id: TokenId) -> Result<(), ApiError> {
    api.delete(&format!("/api/v1/tokens/{id}")).await
}
