//! `POST /api/v1/deployments/{id}/remove`, and the queueing shared by start, stop and delete.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_types::deployments::RemoveInstances;
use mosaic_types::jobs::{Job, JobKind};
use mosaic_types::{DeploymentId, InstanceId};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::jobs::{self, Target};
use crate::state::AppState;

/// Scales the deployment down: stops and deletes the chosen instances.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = RemoveInstances,
    responses(
        (status = 202, description = "Accepted; the job removes the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/remove")]
pub async fn remove_deployment_instances(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<RemoveInstances>,
) -> Result<HttpResponse, ApiError> {
    let chosen: HashSet<InstanceId> = body.into_inner().instance_ids.into_iter().collect();
    if chosen.is_empty() {
        return Err(ApiError::validation("instance_ids is empty: choose the instances to remove"));
    }
    queue(&state, &req, &user, id.into_inner(), JobKind::Remove, Some(chosen)).await
}

/// Queues a job of `kind` over the deployment's instances (or the `chosen` ones) and answers 202.
pub(crate) async fn queue(
    state: &AppState,
    req: &HttpRequest,
    user: &AuthUser,
    id: DeploymentId,
    kind: JobKind,
    chosen: Option<HashSet<InstanceId>>,
) -> Result<HttpResponse, ApiError> {
    AuditTarget::set(req, format!("deployment {id}"));
    let user_name = user.name.clone();
    let (name, job) = db::transaction(&state.pool, move |conn| {
        let deployment = super::find(conn, id)?;
        if kind == JobKind::Delete {
            Deployment::set_status(conn, id, "deleting")?;
        } else {
            super::ensure_active(&deployment)?;
        }
        let rows = Instance::for_deployments(conn, &[id])?;
        if let Some(chosen) = &chosen {
            let unknown: Vec<String> = chosen
                .iter()
                .filter(|c| !rows.iter().any(|r| r.id == **c))
                .map(ToString::to_string)
                .collect();
            if !unknown.is_empty() {
                return Err(ApiError::validation(format!(
                    "not instances of deployment {}: {}",
                    deployment.name,
                    unknown.join(", ")
                )));
            }
        }
        let hosts = Host::all(conn)?;
        let targets: Vec<Target> = rows
            .iter()
            .filter(|r| chosen.as_ref().is_none_or(|c| c.contains(&r.id)))
            .map(|r| Target::new(r.id, &r.name, r.host_id, &hosts))
            .collect();
        let job = jobs::enqueue(conn, &deployment, kind, &targets, &user_name, false)?;
        Ok((deployment.name, jobs::load(conn, job.id)?))
    })
    .await?;
    state.jobs.wake.notify_one();
    AuditTarget::set(req, format!("deployment {name} ({id}): {} job {}", kind.as_str(), job.id));
    Ok(super::deploy::accepted(job))
}
