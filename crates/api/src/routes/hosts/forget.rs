//! `POST /api/v1/hosts/{id}/forget`.

use std::time::Duration;

use actix_web::{HttpRequest, post, web};
use chrono::Utc;
use mosaic_db::models::audit::{AuditRow, NewAuditEntry};
use mosaic_db::models::deployments::Deployment;
use mosaic_db::models::hosts::Host as HostRow;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Job;
use mosaic_types::HostId;
use mosaic_types::audit::Outcome;
use mosaic_types::cloud_configs::DeploymentRef;
use mosaic_types::deployments::DeploymentStatus;
use mosaic_types::hosts::{ClosedInstance, ForgetHost, ForgottenHost};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// How long a host must have been offline (as this server saw it) to be forgotten without the
/// operator saying it is gone: long enough that a reboot or a network blip is not mistaken for a
/// host that is gone for good.
pub const FORGET_AFTER: Duration = Duration::from_secs(10 * 60);

/// Forgets a host that is gone for good: its instance rows are closed (removed, so its
/// deployments' counts no longer include them), each closure is recorded in the audit log, and the
/// host is removed. A deployment being deleted that had nothing left but instances on this host
/// is removed too. Nothing is asked of LXD beyond one probe: containers that still exist
/// somewhere are left as they are.
///
/// Refused (409) while the host answers (`host_online`: delete or remove its instances instead),
/// while a job works on it (`job_in_progress`), and unless it has been offline for at least ten
/// minutes or the request says `gone: true` (`host_recently_seen`).
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    params(("id" = HostId, Path, description = "The host")),
    request_body = ForgetHost,
    responses(
        (status = 200, description = "Forgotten; what was closed", body = ForgottenHost),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
        (status = 409, description = "The host answers, was seen recently, or a job works on it", body = mosaic_types::ErrorBody),
    )
)]
#[post("/hosts/{id}/forget")]
pub async fn forget_host(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<HostId>,
    body: web::Json<ForgetHost>,
) -> Result<web::Json<ForgottenHost>, ApiError> {
    let id = id.into_inner();
    let host = super::find(&state, id).await?;
    AuditTarget::set(&req, format!("host {} ({id})", host.name));

    // Asked now, not from the cache: a host that answers is never forgotten.
    let client = state.hosts.get(&host, &state.identity)?;
    let answer = tokio::time::timeout(super::timeout(&state), client.server()).await;
    if let Ok(Ok(_)) = answer {
        return Err(ApiError::Conflict {
            code: "host_online",
            message: format!(
                "host {} answers; delete its deployments or remove its instances instead of forgetting it",
                host.name
            ),
        });
    }
    if !body.gone {
        let since = state.cache.all().get(&id).and_then(|s| s.offline_since);
        let quiet_for = since.map(|s| (Utc::now() - s).to_std().unwrap_or_default());
        if quiet_for.is_none_or(|d| d < FORGET_AFTER) {
            let seen = match since {
                Some(since) => format!("has not answered since {}", since.to_rfc3339()),
                None => "answered recently".to_owned(),
            };
            return Err(ApiError::Conflict {
                code: "host_recently_seen",
                message: format!(
                    "host {} {seen}; a host is forgotten after {} minutes offline, or now with \"gone\": true",
                    host.name,
                    FORGET_AFTER.as_secs() / 60
                ),
            });
        }
    }

    let (actor_id, actor) = (user.id, user.name.clone());
    let host_name = host.name.clone();
    let forgotten = db::transaction(&state.pool, move |conn| {
        if Job::active_on_host(conn, id)? {
            return Err(ApiError::Conflict {
                code: "job_in_progress",
                message: format!("a job is working on host {host_name}; wait for it to finish"),
            });
        }
        let closed = Instance::close_on_host(conn, id)?;
        let deployment_ids: Vec<_> = closed.iter().map(|i| i.deployment_id).collect();
        let deployments = Deployment::find_many(conn, &deployment_ids)?;
        let name_of = |d| deployments.iter().find(|x| x.id == d).map(|x| x.name.clone()).unwrap_or_default();
        let mut instances = Vec::with_capacity(closed.len());
        for row in &closed {
            let deployment_name = name_of(row.deployment_id);
            let target = format!("instance {} ({}) of deployment {deployment_name}", row.name, row.id);
            let detail = format!(
                "host {host_name} ({id}) forgotten: the instance row is closed; a container that still exists is left as it is"
            );
            let entry = NewAuditEntry {
                actor_id: Some(actor_id),
                actor_name: &actor,
                action: "forget_host",
                target: &target,
                outcome: Outcome::Success,
                detail: &detail,
            };
            AuditRow::insert(conn, &entry)?;
            instances.push(ClosedInstance {
                id: row.id,
                name: row.name.clone(),
                deployment_id: row.deployment_id,
                deployment_name,
            });
        }
        let mut deployments_removed = Vec::new();
        for deployment in deployments.iter().filter(|d| d.status == DeploymentStatus::Deleting) {
            if Instance::count_for(conn, deployment.id)? == 0 && Job::active_for(conn, deployment.id)?.is_none() {
                Deployment::delete(conn, deployment.id)?;
                deployments_removed.push(DeploymentRef { id: deployment.id, name: deployment.name.clone() });
            }
        }
        HostRow::delete(conn, id)?;
        instances.sort_by(|a, b| a.name.cmp(&b.name));
        Ok::<_, ApiError>(ForgottenHost { host_id: id, name: host_name, instances, deployments_removed })
    })
    .await?;
    state.hosts.forget(id);
    state.cache.forget(id);
    AuditTarget::set(
        &req,
        format!("host {} ({id}): {} instance row(s) closed", forgotten.name, forgotten.instances.len()),
    );
    Ok(web::Json(forgotten))
}
