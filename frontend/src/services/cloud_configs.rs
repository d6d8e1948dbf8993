//! `/api/v1/cloud-configs`.

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{
    CloudConfig, CreateCloudConfig, RevisionDiff, RevisionSummary, UpdateCloudConfig,
};

use super::{Api, ApiError};

/// Every cloud-config.
pub async fn list(api: &Api) -> Result<Vec<CloudConfig>, ApiError> {
    api.get("/api/v1/cloud-configs").await
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

/// Its revisions.
pub async fn revisions(api: &Api, id: CloudConfigId) -> Result<Vec<RevisionSummary>, ApiError> {
    api.get(&format!("/api/v1/cloud-configs/{id}/revisions")).await
}

/// The diff between two revisions.
pub async fn diff(api: &Api, id: CloudConfigId, from: i32, to: i32) -> Result<RevisionDiff, ApiError> {
    api.get(&format!("/api/v1/cloud-configs/{id}/diff?from={from}&to={to}")).await
}

/// Restores a revision as a new one.
pub async fn restore(api: &Api, id: CloudConfigId, revision: i32) -> Result<CloudConfig, ApiError> {
    api.post(&format!("/api/v1/cloud-configs/{id}/revisions/{revision}/restore"), &()).await
}
