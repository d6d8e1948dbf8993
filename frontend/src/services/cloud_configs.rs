//! `/api/v1/cloud-configs`.

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{
    CloudConfig, CreateCloudConfig, RevisionDiff, RevisionSummary, UpdateCloudConfig,
};

use super::{ApiError, delete, get, patch, post};

/// Every cloud-config.
pub async fn list(token: &str) -> Result<Vec<CloudConfig>, ApiError> {
    get("/api/v1/cloud-configs", token).await
}

/// Creates one.
pub async fn create(token: &str, body: &CreateCloudConfig) -> Result<CloudConfig, ApiError> {
    post("/api/v1/cloud-configs", token, body).await
}

/// Changes one.
pub async fn update(
    token: &str,
    id: CloudConfigId,
    body: &UpdateCloudConfig,
) -> Result<CloudConfig, ApiError> {
    patch(&format!("/api/v1/cloud-configs/{id}"), token, body).await
}

/// Deletes one.
pub async fn remove(token: &str, id: CloudConfigId) -> Result<(), ApiError> {
    delete(&format!("/api/v1/cloud-configs/{id}"), token).await
}

/// Its revisions.
pub async fn revisions(token: &str, id: CloudConfigId) -> Result<Vec<RevisionSummary>, ApiError> {
    get(&format!("/api/v1/cloud-configs/{id}/revisions"), token).await
}

/// The diff between two revisions.
pub async fn diff(token: &str, id: CloudConfigId, from: i32, to: i32) -> Result<RevisionDiff, ApiError> {
    get(&format!("/api/v1/cloud-configs/{id}/diff?from={from}&to={to}"), token).await
}

/// Restores a revision as a new one.
pub async fn restore(token: &str, id: CloudConfigId, revision: i32) -> Result<CloudConfig, ApiError> {
    post(&format!("/api/v1/cloud-configs/{id}/revisions/{revision}/restore"), token, &()).await
}
