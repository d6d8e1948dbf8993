//! `/api/v1/cloud-configs`.

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{
    CloudConfig, CreateCloudConfig, RevisionDiff, RevisionSummary, UpdateCloudConfig,
};
use mosaic_types::page::Page;

use super::pages::{every, first_pages, with_query};
use super::{Api, ApiError};

/// The first `pages` pages of cloud-configs with `q` in their `namespace/name` or description
/// (all when empty).
pub async fn list(api: &Api, q: &str, pages: usize) -> Result<Page<CloudConfig>, ApiError> {
    first_pages(api, &with_query("/api/v1/cloud-configs", &[("q", Some(q))]), pages).await
}

/// Every cloud-config (to pick members from).
pub async fn all(api: &Api) -> Result<Vec<CloudConfig>, ApiError> {
    every(api, "/api/v1/cloud-configs").await
}

/// Creates one.
pub async fn create(api: &Api, body: &CreateCloudConfig) -> Result<CloudConfig, ApiError> {
    api.post("/api/v1/cloud-configs", body).await
}

/// Changes one.
pub async fn update(api: &Api, id: CloudConfigId, body: &UpdateCloudConfig) -> Result<CloudConfig, ApiError> {
    api.patch(&format!("/api/v1/cloud-configs/{id}"), body).await
}

/// Deletes one.
pub async fn remove(api: &Api, id: CloudConfigId) -> Result<(), ApiError> {
    api.delete(&format!("/api/v1/cloud-configs/{id}")).await
}

/// The first `pages` pages of its revisions, newest first.
pub async fn revisions(
    api: &Api,
    id: CloudConfigId,
    pages: usize,
) -> Result<Page<RevisionSummary>, ApiError> {
    first_pages(api, &format!("/api/v1/cloud-configs/{id}/revisions"), pages).await
}

/// The diff between two revisions.
pub async fn diff(api: &Api, id: CloudConfigId, from: i32, to: i32) -> Result<RevisionDiff, ApiError> {
    api.get(&format!("/api/v1/cloud-configs/{id}/diff?from={from}&to={to}")).await
}

/// Restores a revision as a new one.
pub async fn restore(api: &Api, id: CloudConfigId, revision: i32) -> Result<CloudConfig, ApiError> {
    api.post(&format!("/api/v1/cloud-configs/{id}/revisions/{revision}/restore"), &()).await
}
