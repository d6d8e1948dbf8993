//! `/api/v1/me`.

use mosaic_types::users::User;

use super::{Api, ApiError};

/// Who the token belongs to: how the sign-in screen checks a token before keeping it.
pub async fn me(api: &Api) -> Result<User, ApiError> {
    api.get("/api/v1/me").await
}
