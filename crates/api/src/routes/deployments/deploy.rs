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
/// created — the hosts exist and answer, every profile exists on every chosen host and so does
/// the image (unless it comes from an image server: a host that lacks it pulls it, once per host
/// and job), the counts are within bounds — then the instances are recorded and a job creates
/// them. Each container gets the cloud-config's image and config keys, its user-data, and Mosaic's
/// keys (`user.mosaic.deployment`, `user.mosaic.instance`). Deploying again adds instances: that is
/// how a deployment scales up.
///
/// A clustered host spreads its share over its online members (`?target=`), or over the members
/// `members` names for it; an offline or evacuated member gets nothing.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = DeployRequest,
    responses(
        (status = 202, description = "Accepted; the job creates the instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
        (status = 503, description = "A chosen host, or a chosen cluster member, does not answer", body = mosaic_types::ErrorBody),
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
    let placements = check_hosts(&state, &body, &hosts, &content, user.is_admin()).await?;

    // Record the instances and the job in one transaction.
    let user_name = user.name.clone();
    let deployment_name = deployment.name.clone();
    let job = db::transaction(&state.pool, move |conn| {
        let deployment = super::find(conn, id)?;
        super::ensure_active(&deployment)?;
        let shared_namespace = |ns: &str| members.iter().filter(|m| m.namespace == ns).count() > 1;
        let mut rows = Vec::new();
        for (request, members) in body.cloud_configs.iter().zip(&placements) {
            let member = &revisions[&request.cloud_config_id];
            let prefix = placement::name_prefix(
                &deployment_name,
                &member.namespace,
                &member.name,
                shared_namespace(&member.namespace),
            );
            let mut ordinal = Instance::max_ordinal(conn, id, request.cloud_config_id)?;
            for slot in placement::slots(request, members) {
                ordinal += 1;
                rows.push(NewInstance {
                    id: InstanceId::new(),
                    deployment_id: id,
                    cloud_config_id: request.cloud_config_id,
                    revision: member.revision,
                    host_id: slot.host,
                    location: slot.member,
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
        for (host, members) in &c.members {
            if !c.hosts.contains(host) {
                return Err(ApiError::validation(format!(
                    "members are given for host {host}, which is not chosen"
                )));
            }
            if members.is_empty() || members.iter().collect::<HashSet<_>>().len() != members.len() {
                return Err(ApiError::validation(format!(
                    "the members of host {host} must be a non-empty list without repeats"
                )));
            }
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

/// What a chosen host offers a deploy.
struct Offered {
    profiles: Vec<lxd::Profile>,
    images: Vec<lxd::Image>,
    /// A cluster's members with their status (`None`: a standalone host).
    members: Option<Vec<lxd::ClusterMember>>,
}

/// Asks every chosen host, at once, for its profiles and images (and a cluster for its members),
/// and refuses the deploy if one does not answer or lacks a profile or the image (an image from
/// an image server is pulled by the job instead), or — for a non-admin — a profile hands the
/// container something of the host's (see [`crate::cloud_config_rules::profile`]). Returns, per requested cloud-config, the members
/// to place on for each clustered host: the chosen ones, or every online one.
async fn check_hosts(
    state: &AppState,
    body: &DeployRequest,
    hosts: &[Host],
    content: &HashMap<CloudConfigId, Revision>,
    admin: bool,
) -> Result<Vec<HashMap<HostId, Vec<String>>>, ApiError> {
    let chosen: Vec<&Host> =
        hosts.iter().filter(|h| body.cloud_configs.iter().any(|c| c.hosts.contains(&h.id))).collect();
    let snapshots = state.cache.all();
    let asks = chosen.iter().map(|host| {
        let known = snapshots.get(&host.id).and_then(|s| s.server.as_ref()).map(|f| f.clustered);
        async move {
            let client = state.hosts.get(host, &state.identity)?;
            let timeout = state.settings.lxd_probe_timeout * 4;
            let answer = tokio::time::timeout(timeout, async {
                let clustered = match known {
                    Some(clustered) => clustered,
                    None => client.server().await?.environment.server_clustered,
                };
                let members = match clustered {
                    true => Some(client.cluster_members().await?),
                    false => None,
                };
                Ok::<_, lxd::Error>(Offered {
                    profiles: client.profiles().await?,
                    images: client.images().await?,
                    members,
                })
            })
            .await;
            match answer {
                Ok(Ok(offered)) => Ok((host.id, offered)),
                Ok(Err(e)) => Err(crate::routes::hosts::offline_error(host, e)),
                Err(_) => Err(ApiError::Unavailable {
                    code: "host_offline",
                    message: format!("host {} did not answer in time", host.name),
                }),
            }
        }
    });
    let found: HashMap<HostId, Offered> = futures::future::try_join_all(asks).await?.into_iter().collect();
    let mut placements = Vec::with_capacity(body.cloud_configs.len());
    for request in &body.cloud_configs {
        let revision = &content[&request.cloud_config_id];
        let mut members_of = HashMap::new();
        for host_id in &request.hosts {
            let host = hosts.iter().find(|h| h.id == *host_id).map(|h| h.name.as_str()).unwrap_or("?");
            let offered = &found[host_id];
            for wanted in profiles_of(request) {
                let Some(profile) = offered.profiles.iter().find(|p| p.name == wanted) else {
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
            if revision.image_server.is_none() && !offered.images.iter().any(|i| i.matches(&revision.image)) {
                return Err(ApiError::BadRequest {
                    code: "image_missing",
                    message: format!("image {:?} is not on host {host}", revision.image),
                });
            }
            let chosen = request.members.get(host_id);
            match &offered.members {
                Some(members) => {
                    members_of.insert(*host_id, placement_members(host, members, chosen)?);
                }
                None if chosen.is_some() => {
                    return Err(ApiError::validation(format!(
                        "host {host} is not a cluster: it has no members"
                    )));
                }
                None => {}
            }
        }
        placements.push(members_of);
    }
    Ok(placements)
}

/// The members of cluster `host` to place on: the chosen ones, each of which must exist and be
/// online, or else every online member, by name.
fn placement_members(
    host: &str,
    members: &[lxd::ClusterMember],
    chosen: Option<&Vec<String>>,
) -> Result<Vec<String>, ApiError> {
    let Some(chosen) = chosen else {
        let mut online: Vec<String> =
            members.iter().filter(|m| m.is_online()).map(|m| m.server_name.clone()).collect();
        online.sort();
        if online.is_empty() {
            return Err(ApiError::Unavailable {
                code: "member_offline",
                message: format!("no member of cluster {host} is online"),
            });
        }
        return Ok(online);
    };
    for name in chosen {
        match members.iter().find(|m| m.server_name == *name) {
            None => {
                return Err(ApiError::validation(format!("cluster {host} has no member {name:?}")));
            }
            Some(m) if !m.is_online() => {
                return Err(ApiError::Unavailable {
                    code: "member_offline",
                    message: format!("member {name} of cluster {host} is {}: {}", m.status, m.message),
                });
            }
            Some(_) => {}
        }
    }
    Ok(chosen.clone())
}

/// The profiles to apply: as given, or `default`.
fn profiles_of(request: &DeployCloudConfig) -> Vec<String> {
    if request.profiles.is_empty() { vec!["default".to_owned()] } else { request.profiles.clone() }
}

#[cfg(test)]
mod tests {
    use super::placement_members;

    fn members() -> Vec<lxd::ClusterMember> {
        serde_json::from_str(
            r#"[{"server_name": "m2", "status": "Online"}, {"server_name": "m1", "status": "Online"},
                {"server_name": "m3", "status": "Offline", "message": "No heartbeat"},
                {"server_name": "m4", "status": "Evacuated"}]"#,
        )
        .unwrap_or_default()
    }

    #[test]
    fn a_cluster_places_on_its_online_members_or_the_chosen_ones() {
        assert_eq!(
            placement_members("c", &members(), None).ok(),
            Some(vec!["m1".to_owned(), "m2".to_owned()])
        );
        let chosen = vec!["m2".to_owned()];
        assert_eq!(placement_members("c", &members(), Some(&chosen)).ok(), Some(chosen.clone()));
        let offline = placement_members("c", &members(), Some(&vec!["m3".to_owned()])).err();
        assert_eq!(offline.as_ref().map(|e| e.code()), Some("member_offline"));
        assert!(offline.is_some_and(|e| e.to_string().contains("No heartbeat")));
        let unknown = placement_members("c", &members(), Some(&vec!["m9".to_owned()])).err();
        assert_eq!(unknown.map(|e| e.code()), Some("validation_failed"));
        let evacuated = placement_members("c", &members(), Some(&vec!["m4".to_owned()])).err();
        assert_eq!(evacuated.map(|e| e.code()), Some("member_offline"));
        let none_online: Vec<lxd::ClusterMember> = members().into_iter().filter(|m| !m.is_online()).collect();
        let refused = placement_members("c", &none_online, None).err();
        assert_eq!(refused.map(|e| e.code()), Some("member_offline"));
    }
}
