//! `POST /api/v1/hosts/fingerprint`.

use actix_web::{post, web};
use mosaic_types::hosts::{FingerprintRequest, FingerprintResponse};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Reads the certificate fingerprint a URL presents, for the operator to confirm before
/// registering the host. Only a TLS handshake is made; nothing is sent to the server.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    request_body = FingerprintRequest,
    responses(
        (status = 200, description = "The fingerprint the server presented", body = FingerprintResponse),
        (status = 422, description = "The server could not be reached", body = mosaic_types::ErrorBody),
    )
)]
#[post("/hosts/fingerprint")]
pub async fn fetch_host_fingerprint(
    _user: AuthUser,
    state: web::Data<AppState>,
    body: web::Json<FingerprintRequest>,
) -> Result<web::Json<FingerprintResponse>, ApiError> {
    let url = super::parse_url(&state, &body.url)?;
    let fingerprint = lxd::tls::fetch_fingerprint(&url, super::timeout(&state))
        .await
        .map_err(|e| ApiError::Unprocessable { code: "host_unreachable", message: e.to_string() })?;
    Ok(web::Json(FingerprintResponse { url: body.url.trim().to_owned(), fingerprint: fingerprint.to_hex() }))
}
