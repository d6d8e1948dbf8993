//! `POST /api/v1/deployments/{id}/deploy`.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, post, web};
use mosaic_db::models::cloud_configs::Revision;
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::{Instance, NewInstance};
use mosaic_types::deployments::{DeployCloudConfig, DeployRequest, Placement};
use mosaic_types::instances::Lifecycle;
use mosaic_types::jobs::{Job, JobKind};
use mosaic_types::{CloudConfigId, DeploymentId, HostId, InstanceId};

use crate::audit::AuditTarget;
use crate::auth::{self, AuthUser};
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::jobs::{self, Target};
use crate::placement;
use crate::state::AppState;

/// Deploys instances of the deployment's cloud-configs onto chosen hosts.
///
/// Per cloud-config: a count, the hosts, the placement (`spread`: `count` in all, spread evenly;
/// `per_host`: `count` on each host) and the profiles. Everything is checked before anything is
/// created — the hosts exist and answer, every profile and the image exist on every chosen host,
/// the counts are within bounds — then the instances are recorded and a job creates them. Each
/// container gets the cloud-config's image and config keys, its user-data, and Mosaic's keys
/// (`user.mosaic.deployment`, `user.mosaic.instance`). Deploying again adds instances: that is how a
/// deployment scales up.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = DeployRequest,
    responses(
        (status = 202, description = "Accepted; the job creates the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
        (status = 503, description = "A chosen host does not answer", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/deploy")]
pub async fn deploy_deployment(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<DeployRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    AuditTarget::set(&req, format!("deployment {id}"));
    check_shape(&body, state.settings.max_instances_per_deploy)?;

    // The deployment, its members, and the hosts, as they are now.
    let ids: Vec<CloudConfigId> = body.cloud_configs.iter().map(|c| c.cloud_config_id).collect();
    let (deployment, members, hosts) = db::run(&state.pool, move |conn| {
        let deployment = super::find(conn, id)?;
        super::ensure_active(&deployment)?;
        let members = Row::members(conn, &[id])?;
        let hosts = Host::all(conn)?;
        Ok::<_, ApiError>((deployment, members, hosts))
    })
    .await?;
    let mut revisions = HashMap::new();
    for cc in &ids {
        let member = members.iter().find(|m| m.cloud_config_id == *cc).ok_or_else(|| {
            ApiError::validation(format!("cloud-config {cc} is not part of deployment {}", deployment.name))
        })?;
        revisions.insert(*cc, member.clone());
    }
    let chosen: HashSet<HostId> = body.cloud_configs.iter().flat_map(|c| c.hosts.iter().copied()).collect();
    for host in &chosen {
        if !hosts.iter().any(|h| h.id == *host) {
            return Err(ApiError::validation(format!("host {host} is not registered")));
        }
    }

    // Every chosen host must have every profile and the image: asked of all hosts at once.
    let pins: Vec<(CloudConfigId, i32)> =
        revisions.values().map(|m| (m.cloud_config_id, m.revision)).collect();
    let content = db::run(&state.pool, move |conn| {
        pins.into_iter()
            .map(|(cc, rev)| Ok((cc, Revision::find(conn, cc, rev)?)))
            .collect::<Result<HashMap<_, _>, ApiError>>()
    })
    .await?;
    check_hosts(&state, &body, &hosts, &content, user.is_admin()).await?;

    // Record the instances and the job in one transaction.
    let user_name = user.name.clone();
    let deployment_name = deployment.name.clone();
    let job = db::transaction(&state.pool, move |conn| {
        let deployment = super::find(conn, id)?;
        super::ensure_active(&deployment)?;
        let shared_namespace = |ns: &str| members.iter().filter(|m| m.namespace == ns).count() > 1;
        let mut rows = Vec::new();
        for request in &body.cloud_configs {
            let member = &revisions[&request.cloud_config_id];
            let prefix = placement::name_prefix(
                &deployment_name,
                &member.namespace,
                &member.name,
                shared_namespace(&member.namespace),
            );
            let mut ordinal = Instance::max_ordinal(conn, id, request.cloud_config_id)?;
            for host in placement::hosts(request) {
                ordinal += 1;
                rows.push(NewInstance {
                    id: InstanceId::new(),
                    deployment_id: id,
                    cloud_config_id: request.cloud_config_id,
                    revision: member.revision,
                    host_id: host,
                    name: format!("{prefix}-{ordinal}"),
                    ordinal,
                    profiles: profiles_of(request),
                    state: Lifecycle::Pending,
                    phone_home_secret: if body.phone_home { Some(auth::new_secret()?) } else { None },
                });
            }
        }
        for row in &rows {
            lxd::InstanceName::parse(&row.name).map_err(|e| ApiError::validation(e.to_string()))?;
        }
        let targets: Vec<Target> =
            rows.iter().map(|r| Target::new(r.id, &r.name, r.host_id, &hosts)).collect();
        let job = jobs::enqueue(conn, &deployment, JobKind::Deploy, &targets, &user_name, body.start)?;
        Instance::insert(conn, &rows).or_conflict("instance_name_taken", || {
            "an instance of that name already exists on the host".into()
        })?;
        jobs::load(conn, job.id)
    })
    .await?;
    state.jobs.wake.notify_one();
    AuditTarget::set(
        &req,
        format!("deployment {} ({id}): deploy {} instance(s), job {}", deployment.name, job.total, job.id),
    );
    Ok(super::accepted(job))
}

fn check_shape(body: &DeployRequest, max: u32) -> Result<(), ApiError> {
    if body.cloud_configs.is_empty() {
        return Err(ApiError::validation("cloud_configs is empty: say what to deploy"));
    }
    let mut seen = HashSet::new();
    let mut total: i64 = 0;
    for c in &body.cloud_configs {
        if !seen.insert(c.cloud_config_id) {
            return Err(ApiError::validation(format!("cloud-config {} is listed twice", c.cloud_config_id)));
        }
        if c.count < 1 {
            return Err(ApiError::validation(format!(
                "count must be at least 1 (cloud-config {})",
                c.cloud_config_id
            )));
        }
        if c.hosts.is_empty() {
            return Err(ApiError::validation(format!(
                "choose at least one host (cloud-config {})",
                c.cloud_config_id
            )));
        }
        if c.hosts.iter().collect::<HashSet<_>>().len() != c.hosts.len() {
            return Err(ApiError::validation("a host is listed twice"));
        }
        for p in &c.profiles {
            if p.is_empty() || p.len() > 255 || p.contains(['/', '\0']) {
                return Err(ApiError::validation(format!("profile name {p:?} is not valid")));
            }
        }
        total += match c.placement {
            Placement::Spread => i64::from(c.count),
            Placement::PerHost => i64::from(c.count) * c.hosts.len() as i64,
        };
    }
    if total > i64::from(max) {
        return Err(ApiError::validation(format!("{total} instances requested; at most {max} per deploy")));
    }
    Ok(())
}

/// Asks every chosen host, at once, for its profiles and images, and refuses the deploy if one
/// does not answer or lacks a profile or the image, or — for a non-admin — a profile hands the
/// container something of the host's (see [`crate::cloud_config_rules::profile`]).
async fn check_hosts(
    state: &AppState,
    body: &DeployRequest,
    hosts: &[Host],
    content: &HashMap<CloudConfigId, Revision>,
    admin: bool,
) -> Result<(), ApiError> {
    let chosen: Vec<&Host> =
        hosts.iter().filter(|h| body.cloud_configs.iter().any(|c| c.hosts.contains(&h.id))).collect();
    let asks = chosen.iter().map(|host| async move {
        let client = state.hosts.get(host, &state.identity)?;
        let timeout = state.settings.lxd_probe_timeout * 4;
        let answer = tokio::time::timeout(timeout, async {
            Ok::<_, lxd::Error>((client.profiles().await?, client.images().await?))
        })
        .await;
        match answer {
            Ok(Ok(found)) => Ok((host.id, found)),
            Ok(Err(e)) => Err(crate::routes::hosts::offline_error(host, e)),
            Err(_) => Err(ApiError::Unavailable {
                code: "host_offline",
                message: format!("host {} did not answer in time", host.name),
            }),
        }
    });
    let found: HashMap<HostId, _> = futures::future::try_join_all(asks).await?.into_iter().collect();
    for request in &body.cloud_configs {
        let image = &content[&request.cloud_config_id].image;
        for host_id in &request.hosts {
            let host = hosts.iter().find(|h| h.id == *host_id).map(|h| h.name.as_str()).unwrap_or("?");
            let (profiles, images) = &found[host_id];
            for wanted in profiles_of(request) {
                let Some(profile) = profiles.iter().find(|p| p.name == wanted) else {
                    return Err(ApiError::BadRequest {
                        code: "profile_missing",
                        message: format!("profile {wanted:?} does not exist on host {host}"),
                    });
                };
                if !admin && let Err(why) = crate::cloud_config_rules::profile(profile) {
                    return Err(ApiError::BadRequest {
                        code: "profile_not_allowed",
                        message: format!("{why} (host {host})"),
                    });
                }
            }
            if !images.iter().any(|i| i.matches(image)) {
                return Err(ApiError::BadRequest {
                    code: "image_missing",
                    message: format!("image {image:?} is not on host {host}"),
                });
            }
        }
    }
    Ok(())
}

/// The profiles to apply: as given, or `default`.
fn profiles_of(request: &DeployCloudConfig) -> Vec<String> {
    if request.profiles.is_empty() { vec!["default".to_owned()] } else { request.profiles.clone() }
}
