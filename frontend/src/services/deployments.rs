//! `/api/v1/deployments`.

use mosaic_types::DeploymentId;
use mosaic_types::deployments::{CreateDeployment, DeployRequest, Deployment, DeploymentDetail};
use mosaic_types::jobs::Job;

use super::{ApiError, delete, get, post};

/// The overview.
pub async fn list(token: &str) -> Result<Vec<Deployment>, ApiError> {
    get("/api/v1/deployments", token).await
}

/// One deployment in detail.
pub async fn detail(token: &str, id: DeploymentId) -> Result<DeploymentDetail, ApiError> {
    get(&format!("/api/v1/deployments/{id}"), token).await
}

/// Creates one.
pub async fn create(token: &str, body: &CreateDeployment) -> Result<Deployment, ApiError> {
    post("/api/v1/deployments", token, body).await
}

/// Deploys instances.
pub async fn deploy(token: &str, id: DeploymentId, body: &DeployRequest) -> Result<Job, ApiError> {
    post(&format!("/api/v1/deployments/{id}/deploy"), token, body).await
}

/// Starts, stops (action `start`/`stop`).
pub async fn action(token: &str, id: DeploymentId, action: &str) -> Result<Job, ApiError> {
    post(&format!("/api/v1/deployments/{id}/{action}"), token, &()).await
}

/// Deletes it.
pub async fn remove(token: &str, id: DeploymentId) -> Result<Job, ApiError> {
    delete(&format!("/api/v1/deployments/{id}"), token).await
}

/// Its job history.
pub async fn jobs(token: &str, id: DeploymentId) -> Result<Vec<Job>, ApiError> {
    get(&format!("/api/v1/deployments/{id}/jobs"), token).await
}
