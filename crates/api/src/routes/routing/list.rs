//! `GET /api/v1/deployments/{id}/ports`.

use std::collections::HashMap;

use actix_web::{get, web};
use mosaic_db::models::cloud_configs::CloudConfig;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::routing::ExposedPort as PortRow;
use mosaic_types::DeploymentId;
use mosaic_types::routing::ExposedPort;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::routes::deployments::{find, seen};
use crate::routing::view;
use crate::state::AppState;

/// Lists the deployment's exposed ports: each with its frontend address and whether it listens,
/// and every instance of its member with what the load balancer does with it (UP, DOWN, DRAIN,
/// MAINT, not ready, stopped), its current sessions, requests and last health check. The figures
/// are what this server's HAProxy reported at most a second ago; no HAProxy or LXD call is made.
#[utoipa::path(
    tag = "routing",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 200, description = "Its exposed ports, by frontend port", body = Vec<ExposedPort>),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
    )
)]
#[get("/deployments/{id}/ports")]
pub async fn list_deployment_ports(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<web::Json<Vec<ExposedPort>>, ApiError> {
    let id = id.into_inner();
    let seen = seen(&state);
    let ports = db::run(&state.pool, move |conn| {
        find(conn, id)?;
        ports_of(conn, id, &seen)
    })
    .await?;
    Ok(web::Json(ports))
}

/// A deployment's exposed ports in wire form.
pub(crate) fn ports_of(
    conn: &mut diesel::PgConnection,
    id: DeploymentId,
    seen: &crate::routes::deployments::Seen,
) -> Result<Vec<ExposedPort>, ApiError> {
    let ports = PortRow::for_deployments(conn, &[id])?;
    let rows = Instance::for_deployments(conn, &[id])?;
    let refs: Vec<&Instance> = rows.iter().collect();
    let hosts = Host::all(conn)?;
    let ids: Vec<_> = ports.iter().map(|p| p.cloud_config_id).collect();
    let names: HashMap<_, _> = CloudConfig::names(conn, &ids)?.into_iter().collect();
    Ok(ports.iter().map(|p| view::exposed_port(p, &refs, &hosts, &names, &seen.routing())).collect())
}
