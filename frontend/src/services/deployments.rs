//! `/api/v1/deployments`.

use mosaic_types::DeploymentId;
use mosaic_types::deployments::{CreateDeployment, DeployRequest, Deployment, DeploymentDetail};
use mosaic_types::jobs::Job;

use super::{Api, ApiError};

/// The overview.
pub async fn list(api: &Api) -> Result<Vec<Deployment>, ApiError> {
    api.get("/api/v1/deployments").await
}

/// One deployment in detail.
pub async fn detail(api: &Api, id: DeploymentId) -> Result<DeploymentDetail, ApiError> {
    api.get(&format!("/api/v1/deployments/{id}")).await
}

/// Creates one.
pub async fn create(api: &Api, body: &CreateDeployment) -> Result<Deployment, ApiError> {
    api.post("/api/v1/deployments", body).await
}

/// Deploys instances.
pub async fn deploy(api: &Api, id: DeploymentId, body: &DeployRequest) -> Result<Job, ApiError> {
    api.post(&format!("/api/v1/deployments/{id}/deploy"), body).await
}

/// Starts every instance.
pub async fn start(api: &Api, id: DeploymentId) -> Result<Job, ApiError> {
    api.post(&format!("/api/v1/deployments/{id}/start"), &()).await
}

/// Stops every instance.
pub async fn stop(api: &Api, id: DeploymentId) -> Result<Job, ApiError> {
    api.post(&format!("/api/v1/deployments/{id}/stop"), &()).await
}

/// Deletes it.
pub async fn remove(api: &Api, id: DeploymentId) -> Result<Job, ApiError> {
    api.delete(&format!("/api/v1/deployments/{id}")).await
}

/// Its job history.
pub async fn jobs(api: &Api, id: DeploymentId) -> Result<Vec<Job>, ApiError> {
    api.get(&format!("/api/v1/deployments/{id}/jobs")).await
}

/// Exposes a port of one member's instances through Mosaic's load balancer.
pub async fn expose(
    api: &Api,
    id: DeploymentId,
    body: &mosaic_types::routing::ExposePort,
) -> Result<mosaic_types::routing::ExposedPort, ApiError> {
    api.post(&format!("/api/v1/deployments/{id}/ports"), body).await
}

/// Rolls one member out to a revision.
pub async fn rollout(
    api: &Api,
    id: DeploymentId,
    body: &mosaic_types::jobs::RolloutRequest,
) -> Result<Job, ApiError> {
    api.post(&format!("/api/v1/deployments/{id}/rollouts"), body).await
}

/// Resumes (`true`) or aborts (`false`) the deployment's paused or failed rollout.
pub async fn act_on_rollout(api: &Api, id: DeploymentId, resume: bool) -> Result<Job, ApiError> {
    let action = if resume { "resume" } else { "abort" };
    api.post(&format!("/api/v1/deployments/{id}/rollouts/current/{action}"), &()).await
}
