//! `/api/v1/deployments`: named groups of pinned cloud-config revisions.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use diesel::PgConnection;
use mosaic_db::models::cloud_configs::{CloudConfig as CloudConfigRow, Revision};
use mosaic_db::models::deployments::{Deployment as Row, NewDeploymentCloudConfig};
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_types::deployments::{CloudConfigPin, Deployment, DeploymentCloudConfig, DeploymentStatus};
use mosaic_types::jobs::{Job, JobKind};
use mosaic_types::{CloudConfigId, DeploymentId, InstanceId};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::jobs::Target;
use crate::overview::{self, Snapshots};
use crate::state::AppState;

pub mod add_cloud_config;
pub mod create;
pub mod delete;
pub mod deploy;
pub mod get;
pub mod jobs;
pub mod list;
pub mod orphans;
pub mod pin;
pub mod remove;
pub mod remove_cloud_config;
pub mod rollouts;
pub mod start;
pub mod stop;
pub mod update;

/// Registers the deployment routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_deployments)
        .service(create::create_deployment)
        .service(get::get_deployment)
        .service(update::update_deployment)
        .service(add_cloud_config::add_deployment_cloud_config)
        .service(pin::pin_deployment_cloud_config)
        .service(remove_cloud_config::remove_deployment_cloud_config)
        .service(deploy::deploy_deployment)
        .service(start::start_deployment)
        .service(stop::stop_deployment)
        .service(delete::delete_deployment)
        .service(remove::remove_deployment_instances)
        .service(jobs::list_deployment_jobs)
        .service(rollouts::create_deployment_rollout)
        .service(rollouts::resume_deployment_rollout)
        .service(rollouts::abort_deployment_rollout)
        .service(orphans::adopt_deployment_orphan)
        .service(orphans::delete_deployment_orphan);
}

/// Loads a deployment or answers 404.
pub(crate) fn find(conn: &mut PgConnection, id: DeploymentId) -> Result<Row, ApiError> {
    Row::find(conn, id).or_not_found("deployment_not_found", || format!("no deployment with id {id}"))
}

/// What deployments' figures are computed from besides their rows: the host cache and what this
/// process's load balancer last did (never LXD or HAProxy directly).
pub(crate) struct Seen {
    /// The host cache's snapshots.
    pub snapshots: Snapshots,
    /// What the routing reconciler last saw.
    pub view: std::sync::Arc<crate::routing::View>,
    /// Whether routing works here.
    pub health: crate::routing::Health,
    /// The address frontends bind on.
    pub frontend_bind: std::net::IpAddr,
}

impl Seen {
    /// The context routing's wire views need.
    pub(crate) fn routing(&self) -> crate::routing::view::Context<'_> {
        crate::routing::view::Context {
            snapshots: &self.snapshots,
            view: &self.view,
            health: &self.health,
            frontend_bind: self.frontend_bind,
        }
    }
}

/// What a request's deployment figures come from, read once at its start.
pub(crate) fn seen(state: &AppState) -> Seen {
    Seen {
        snapshots: state.cache.all(),
        view: state.routing.view(),
        health: state.routing.health(),
        frontend_bind: state.settings.frontend_bind,
    }
}

/// Builds the wire form of deployments with their cloud-configs and the figures of their
/// instances, taken from the host cache (never from LXD directly), and what they serve, from what
/// the load balancer last did (never from HAProxy directly).
pub(crate) fn to_wire(
    conn: &mut PgConnection,
    rows: Vec<Row>,
    seen: &Seen,
) -> Result<Vec<Deployment>, ApiError> {
    let snapshots = &seen.snapshots;
    let ids: Vec<DeploymentId> = rows.iter().map(|d| d.id).collect();
    let instances = Instance::for_deployments(conn, &ids)?;
    let ports = mosaic_db::models::routing::ExposedPort::for_deployments(conn, &ids)?;
    let mut members: HashMap<DeploymentId, Vec<DeploymentCloudConfig>> = HashMap::new();
    for m in Row::members(conn, &ids)? {
        members.entry(m.deployment_id).or_default().push(DeploymentCloudConfig {
            cloud_config_id: m.cloud_config_id,
            namespace: m.namespace,
            name: m.name,
            revision: m.revision,
            latest_revision: m.latest_revision,
        });
    }
    Ok(rows
        .into_iter()
        .map(|d| {
            let mine: Vec<&Instance> = instances.iter().filter(|i| i.deployment_id == d.id).collect();
            let (counts, readiness, memory_bytes, data_age_ms) = overview::figures(&mine, snapshots);
            let my_ports: Vec<_> = ports.iter().filter(|p| p.deployment_id == d.id).collect();
            let service = crate::routing::view::summary(&my_ports, &mine, &seen.routing());
            Deployment {
                service,
                cloud_configs: members.remove(&d.id).unwrap_or_default(),
                status: d.status,
                ready: counts.total > 0 && readiness.ready == counts.total,
                instances: counts,
                readiness,
                memory_bytes,
                data_age_ms,
                healing: d.healing,
                id: d.id,
                name: d.name,
                created_at: d.created_at,
                updated_at: d.updated_at,
            }
        })
        .collect())
}

/// Loads one deployment in wire form.
pub(crate) fn load(conn: &mut PgConnection, id: DeploymentId, seen: &Seen) -> Result<Deployment, ApiError> {
    let row = find(conn, id)?;
    to_wire(conn, vec![row], seen)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("deployment {id} vanished while it was read").into())
}

/// Changes one member cloud-config of an active deployment in one transaction and returns the
/// deployment as it now is. `change` answers whether `cc` was a member at all.
pub(crate) async fn change_member<F>(
    state: &crate::state::AppState,
    id: DeploymentId,
    cc: CloudConfigId,
    change: F,
) -> Result<Deployment, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<bool, ApiError> + Send + 'static,
{
    let snapshots = seen(state);
    crate::db::transaction(&state.pool, move |conn| {
        ensure_active(&find(conn, id)?)?;
        if !change(conn)? {
            return Err(ApiError::not_found(
                "cloud_config_not_in_deployment",
                format!("cloud-config {cc} is not part of deployment {id}"),
            ));
        }
        Row::touch(conn, id)?;
        load(conn, id, &snapshots)
    })
    .await
}

/// Refuses changes to a deployment that is being deleted.
pub(crate) fn ensure_active(row: &Row) -> Result<(), ApiError> {
    if row.status == DeploymentStatus::Deleting {
        return Err(ApiError::Conflict {
            code: "deployment_deleting",
            message: format!("deployment {} is being deleted", row.name),
        });
    }
    Ok(())
}

/// Resolves pins against the database: each cloud-config must exist (and the revision, if given);
/// an omitted revision means the current one. Duplicates are refused.
pub(crate) fn resolve_pins(
    conn: &mut PgConnection,
    deployment: DeploymentId,
    pins: &[CloudConfigPin],
) -> Result<Vec<NewDeploymentCloudConfig>, ApiError> {
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(pins.len());
    for pin in pins {
        if !seen.insert(pin.cloud_config_id) {
            return Err(ApiError::validation(format!(
                "cloud-config {} is listed twice",
                pin.cloud_config_id
            )));
        }
        let cc = CloudConfigRow::find(conn, pin.cloud_config_id, false)
            .map_err(|e| unknown(e, pin.cloud_config_id))?;
        let revision = match pin.revision {
            Some(r) => {
                Revision::find(conn, cc.id, r).map_err(|e| match e {
                    diesel::result::Error::NotFound => ApiError::validation(format!(
                        "cloud-config {}/{} has no revision {r}",
                        cc.namespace, cc.name
                    )),
                    other => other.into(),
                })?;
                r
            }
            None => cc.current_revision,
        };
        rows.push(NewDeploymentCloudConfig { deployment_id: deployment, cloud_config_id: cc.id, revision });
    }
    Ok(rows)
}

fn unknown(e: diesel::result::Error, id: CloudConfigId) -> ApiError {
    match e {
        diesel::result::Error::NotFound => ApiError::validation(format!("cloud-config {id} does not exist")),
        other => other.into(),
    }
}

/// The 409 message for a taken name.
pub(crate) fn name_taken(name: &str) -> impl FnOnce() -> String {
    let taken = format!("a deployment named {name} already exists");
    move || taken
}

/// `202 Accepted` with the job and where to follow it.
pub(crate) fn accepted(job: Job) -> HttpResponse {
    HttpResponse::build(StatusCode::ACCEPTED)
        .insert_header(("Location", format!("/api/v1/jobs/{}", job.id)))
        .json(job)
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
        // Locked: a delete job finishing meanwhile would otherwise remove the row under this one.
        let deployment = Row::find_for_update(conn, id)
            .or_not_found("deployment_not_found", || format!("no deployment with id {id}"))?;
        if kind == JobKind::Delete {
            Row::set_status(conn, id, DeploymentStatus::Deleting)?;
        } else {
            ensure_active(&deployment)?;
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
        let job = crate::jobs::enqueue(conn, &deployment, kind, &targets, &user_name, false)?;
        Ok((deployment.name, crate::jobs::load(conn, job.id)?))
    })
    .await?;
    state.jobs.wake.notify_one();
    AuditTarget::set(req, format!("deployment {name} ({id}): {} job {}", kind.as_str(), job.id));
    Ok(accepted(job))
}
