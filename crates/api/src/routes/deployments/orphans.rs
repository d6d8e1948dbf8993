//! `POST /api/v1/deployments/{id}/orphans/adopt` and
//! `DELETE /api/v1/deployments/{id}/orphans/{host_id}/{name}`: containers that carry a deployment's
//! key but that Mosaic's database does not know (made by a job whose bookkeeping was lost, or
//! restored from a backup), taken back in or removed.

use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use lxd::InstanceName;
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::{Instance, NewInstance};
use mosaic_types::instances::{AdoptOrphan, Lifecycle};
use mosaic_types::{CloudConfigId, DeploymentId, HostId, InstanceId};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::labels::{CLOUD_CONFIG_KEY, DEPLOYMENT_KEY, INSTANCE_KEY, REVISION_KEY};
use crate::state::AppState;

/// How long removing an orphan may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads the container and checks it is an orphan of the deployment: it carries the
/// deployment's key, and an instance key the database does not know.
async fn orphan(
    state: &AppState,
    deployment: DeploymentId,
    host_id: HostId,
    name: &str,
) -> Result<(Host, lxd::Client, InstanceName, lxd::Instance), ApiError> {
    let name = InstanceName::parse(name).map_err(|e| ApiError::validation(e.to_string()))?;
    let host = db::run(&state.pool, move |conn| {
        super::ensure_active(&super::find(conn, deployment)?)?;
        Host::find(conn, host_id).or_not_found("host_not_found", || format!("no host with id {host_id}"))
    })
    .await?;
    let client = state.hosts.get(&host, &state.identity)?;
    let container = client
        .instance_opt(&name)
        .await
        .map_err(|e| crate::routes::hosts::offline_error(&host, e))?
        .filter(|c| c.config.get(DEPLOYMENT_KEY) == Some(&deployment.to_string()))
        .ok_or_else(|| {
            ApiError::not_found(
                "orphan_not_found",
                format!("no container {name} of this deployment on host {}", host.name),
            )
        })?;
    let key = container.config.get(INSTANCE_KEY).cloned().unwrap_or_default();
    let known = match key.parse::<InstanceId>() {
        Ok(id) => db::query(&state.pool, move |conn| {
            use diesel::OptionalExtension;
            Instance::find(conn, id).optional()
        })
        .await?
        .is_some(),
        Err(_) => false,
    };
    if known {
        return Err(ApiError::Conflict {
            code: "not_an_orphan",
            message: format!("{name} is an instance Mosaic knows"),
        });
    }
    Ok((host, client, name, container))
}

/// Adopts an orphaned container into the deployment: Mosaic records it as an instance of the
/// cloud-config it was made from (the container says, or the request names a member), keeping
/// its name and its instance key as the instance's ID. Nothing in LXD changes.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = AdoptOrphan,
    responses(
        (status = 200, description = "Adopted: the instance as it now is", body = mosaic_types::instances::Instance),
        (status = 400, description = "The container does not say which cloud-config it was made from, and the request does not either (or names one that is not a member)", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such deployment, host or orphan", body = mosaic_types::ErrorBody),
        (status = 409, description = "Mosaic knows this instance, or the deployment is being deleted", body = mosaic_types::ErrorBody),
        (status = 503, description = "The host does not answer", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/orphans/adopt")]
pub async fn adopt_deployment_orphan(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<AdoptOrphan>,
) -> Result<web::Json<mosaic_types::instances::Instance>, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let (host, _, name, container) = orphan(&state, id, body.host_id, &body.name).await?;
    AuditTarget::set(&req, format!("deployment {id}: adopt {name} on {}", host.name));
    let said: Option<CloudConfigId> = container.config.get(CLOUD_CONFIG_KEY).and_then(|c| c.parse().ok());
    let cc = said.or(body.cloud_config_id).ok_or_else(|| {
        ApiError::validation(format!(
            "{name} does not say which cloud-config it was made from: name one (cloud_config_id)"
        ))
    })?;
    let revision_said: Option<i32> = container.config.get(REVISION_KEY).and_then(|r| r.parse().ok());
    let key: Option<InstanceId> = container.config.get(INSTANCE_KEY).and_then(|k| k.parse().ok());
    let profiles = container.profiles.clone();
    // A cluster says where it lives; a standalone daemon says `none` or nothing.
    let location = Some(container.location.clone()).filter(|l| !l.is_empty() && l != "none");
    let snapshots = state.cache.all();
    let row_name = name.to_string();
    let adopted = db::transaction(&state.pool, move |conn| {
        let member =
            Row::members(conn, &[id])?.into_iter().find(|m| m.cloud_config_id == cc).ok_or_else(|| {
                ApiError::validation(format!("cloud-config {cc} is not part of this deployment"))
            })?;
        let revision = match revision_said {
            Some(r) if mosaic_db::models::cloud_configs::Revision::find(conn, cc, r).is_ok() => r,
            _ => member.revision,
        };
        let ordinal = Instance::max_ordinal(conn, id, cc)? + 1;
        let row = NewInstance {
            id: key.unwrap_or_default(),
            deployment_id: id,
            cloud_config_id: cc,
            revision,
            host_id: host.id,
            name: row_name.clone(),
            ordinal,
            profiles,
            state: Lifecycle::Created,
            phone_home_secret: None,
            location,
        };
        Instance::insert(conn, std::slice::from_ref(&row)).or_conflict("instance_name_taken", || {
            format!("an instance named {row_name} is already on that host")
        })?;
        let stored = Instance::find(conn, row.id)?;
        crate::routes::instances::to_wire(conn, std::slice::from_ref(&stored), &snapshots)
    })
    .await?;
    adopted
        .into_iter()
        .next()
        .map(web::Json)
        .ok_or_else(|| anyhow::anyhow!("an adopted instance vanished").into())
}

/// Removes an orphaned container from its host (stopped and deleted).
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(
        ("id" = DeploymentId, Path, description = "The deployment"),
        ("host_id" = HostId, Path, description = "The container's host"),
        ("name" = String, Path, description = "The container's LXD name"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such deployment, host or orphan", body = mosaic_types::ErrorBody),
        (status = 409, description = "Mosaic knows this instance (remove it through the deployment), or the deployment is being deleted", body = mosaic_types::ErrorBody),
        (status = 503, description = "The host does not answer", body = mosaic_types::ErrorBody),
    )
)]
#[delete("/deployments/{id}/orphans/{host_id}/{name}")]
pub async fn delete_deployment_orphan(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(DeploymentId, HostId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, host_id, name) = path.into_inner();
    let (host, client, name, container) = orphan(&state, id, host_id, &name).await?;
    AuditTarget::set(&req, format!("deployment {id}: delete orphan {name} on {}", host.name));
    let gone = async {
        if container.status_code != lxd::StatusCode::STOPPED {
            client.stop_instance(&name, None).await?.wait(TIMEOUT).await?;
        }
        client.delete_instance(&name).await?.wait(TIMEOUT).await
    };
    gone.await.map_err(|e| crate::routes::hosts::offline_error(&host, e))?;
    state.cache.refresh(&state, std::slice::from_ref(&host)).await;
    Ok(HttpResponse::NoContent().finish())
}
