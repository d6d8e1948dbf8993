//! `/api/v1/instances`: a deployment's containers one at a time, the jobs that act on one, and
//! its cloud-init log.

use mosaic_types::instances::{CloudInitLog, Instance};
use mosaic_types::jobs::Job;
use mosaic_types::page::{MAX_LIMIT, Page};
use mosaic_types::{DeploymentId, InstanceId};

use super::pages::{MAX_PAGES, query_escape};
use super::{Api, ApiError};

/// An action on one instance, each a job (`POST /api/v1/instances/{id}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceAction {
    /// Start it.
    Start,
    /// Stop it (a clean shutdown, then a kill).
    Stop,
    /// Restart it (starts it if stopped).
    Restart,
    /// Delete it and make it again at the deployment's pinned revision.
    Recreate,
}

impl InstanceAction {
    /// Its word in the URL, the button's `data-action` and the job's kind.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceAction::Start => "start",
            InstanceAction::Stop => "stop",
            InstanceAction::Restart => "restart",
            InstanceAction::Recreate => "recreate",
        }
    }
}

/// The path of one page of a deployment's instances (`cursor`: where the previous page ended).
fn page_path(deployment: DeploymentId, cursor: Option<&str>) -> String {
    let mut path = format!("/api/v1/instances?deployment_id={deployment}&limit={MAX_LIMIT}");
    if let Some(cursor) = cursor {
        path.push_str("&cursor=");
        path.push_str(&query_escape(cursor));
    }
    path
}

/// Every instance of a deployment, by name: the pages read one after another, following
/// `next_cursor` to the last.
pub async fn of_deployment(api: &Api, deployment: DeploymentId) -> Result<Vec<Instance>, ApiError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page: Page<Instance> = api.get(&page_path(deployment, cursor.as_deref())).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
    Err(ApiError {
        status: 0,
        code: "too_many_pages".into(),
        message: format!("the instance list did not end after {MAX_PAGES} pages"),
    })
}

/// Starts a job that acts on one instance; follow it with [`super::jobs::follow`].
pub async fn act(api: &Api, id: InstanceId, action: InstanceAction) -> Result<Job, ApiError> {
    api.post(&format!("/api/v1/instances/{id}/{}", action.as_str()), &()).await
}

/// The end of its `/var/log/cloud-init-output.log` (the server's default size).
pub async fn cloud_init_log(api: &Api, id: InstanceId) -> Result<CloudInitLog, ApiError> {
    api.get(&format!("/api/v1/instances/{id}/cloud-init-log")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_names_the_deployment_and_carries_the_cursor_escaped() {
        let id: DeploymentId = "0b6f8c1e-0000-4000-8000-000000000001".parse().unwrap();
        assert_eq!(
            page_path(id, None),
            "/api/v1/instances?deployment_id=0b6f8c1e-0000-4000-8000-000000000001&limit=500"
        );
        assert!(page_path(id, Some("YWJj-_")).ends_with("&limit=500&cursor=YWJj-_"));
        assert!(page_path(id, Some("a+b/c=&d")).ends_with("&cursor=a%2Bb%2Fc%3D%26d"));
    }
}
