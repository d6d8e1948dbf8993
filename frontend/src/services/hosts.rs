//! `/api/v1/hosts`.

use mosaic_types::HostId;
use mosaic_types::hosts::{CreateHost, FingerprintRequest, FingerprintResponse, Host, HostProfile};

use super::{Api, ApiError};

/// Every host with its status.
pub async fn list(api: &Api) -> Result<Vec<Host>, ApiError> {
    api.get("/api/v1/hosts").await
}

/// The certificate fingerprint a URL presents.
pub async fn fingerprint(api: &Api, url: &str) -> Result<FingerprintResponse, ApiError> {
    api.post("/api/v1/hosts/fingerprint", &FingerprintRequest { url: url.into() }).await
}

/// Registers a host.
pub async fn create(api: &Api, body: &CreateHost) -> Result<Host, ApiError> {
    api.post("/api/v1/hosts", body).await
}

/// Removes a host.
pub async fn remove(api: &Api, id: HostId) -> Result<(), ApiError> {
    api.delete(&format!("/api/v1/hosts/{id}")).await
}

/// A host's profiles.
pub async fn profiles(api: &Api, id: HostId) -> Result<Vec<HostProfile>, ApiError> {
    api.get(&format!("/api/v1/hosts/{id}/profiles")).await
}
