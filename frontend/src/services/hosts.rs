//! `/api/v1/hosts`.

use mosaic_types::HostId;
use mosaic_types::hosts::{CreateHost, FingerprintRequest, FingerprintResponse, Host, HostProfile};
use mosaic_types::page::Page;

use super::pages::{every, first_pages, with_query};
use super::{Api, ApiError};

/// The first `pages` pages of hosts whose name contains `q` (all when empty), with their status.
pub async fn list(api: &Api, q: &str, pages: usize) -> Result<Page<Host>, ApiError> {
    first_pages(api, &with_query("/api/v1/hosts", &[("q", Some(q))]), pages).await
}

/// Every host, by name (to pick where to deploy).
pub async fn all(api: &Api) -> Result<Vec<Host>, ApiError> {
    every(api, "/api/v1/hosts").await
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
