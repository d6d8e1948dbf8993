//! `/api/v1/deployments`.

use mosaic_types::DeploymentId;
use mosaic_types::deployments::{CreateDeployment, DeployRequest, Deployment, DeploymentDetail};
use mosaic_types::jobs::Job;
use mosaic_types::page::Page;

use super::pages::{every, first_pages, with_query};
use super::{Api, ApiError};

/// The overview: the first `pages` pages of deployments whose name contains `q` (all when empty).
pub async fn list(api: &Api, q: &str, pages: usize) -> Result<Page<Deployment>, ApiError> {
    first_pages(api, &with_query("/api/v1/deployments", &[("q", Some(q))]), pages).await
}

/// Every deployment the token may see, by name (for names and pickers).
pub async fn all(api: &Api) -> Result<Vec<Deployment>, ApiError> {
    every(api, "/api/v1/deployments").await
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

/// Its newest jobs (the first page of its history).
pub async fn jobs(api: &Api, id: DeploymentId) -> Result<Vec<Job>, ApiError> {
    let page: Page<Job> = api.get(&format!("/api/v1/deployments/{id}/jobs?limit=50")).await?;
    Ok(page.items)
}

/// Its latest rollout, if it has had one (asked by kind: however many other jobs came since).
pub async fn latest_rollout(api: &Api, id: DeploymentId) -> Result<Option<Job>, ApiError> {
    let page: Page<Job> = api.get(&format!("/api/v1/deployments/{id}/jobs?kind=rollout&limit=1")).await?;
    Ok(page.items.into_iter().next())
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
