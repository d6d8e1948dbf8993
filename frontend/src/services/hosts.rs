//! `/api/v1/hosts`.

use mosaic_types::HostId;
use mosaic_types::hosts::{CreateHost, FingerprintRequest, FingerprintResponse, Host, HostProfile};

use super::{ApiError, delete, get, post};

/// Every host with its status.
pub async fn list(token: &str) -> Result<Vec<Host>, ApiError> {
    get("/api/v1/hosts", token).await
}

/// The certificate fingerprint a URL presents.
pub async fn fingerprint(token: &str, url: &str) -> Result<FingerprintResponse, ApiError> {
    post("/api/v1/hosts/fingerprint", token, &FingerprintRequest { url: url.into() }).await
}

/// Registers a host.
pub async fn create(token: &str, body: &CreateHost) -> Result<Host, ApiError> {
    post("/api/v1/hosts", token, body).await
}

/// Removes a host.
pub async fn remove(token: &str, id: HostId) -> Result<(), ApiError> {
    delete(&format!("/api/v1/hosts/{id}"), token).await
}

/// A host's profiles.
pub async fn profiles(token: &str, id: HostId) -> Result<Vec<HostProfile>, ApiError> {
    get(&format!("/api/v1/hosts/{id}/profiles"), token).await
}
