//! `GET /api/v1/deployments/{id}`.

use std::collections::HashMap;

use actix_web::{get, web};
use mosaic_db::models::cloud_configs::CloudConfig;
use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::routing::ExposedPort;
use mosaic_types::DeploymentId;
use mosaic_types::deployments::DeploymentDetail;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::overview;
use crate::routing::view;
use crate::state::AppState;

/// Shows one deployment: its cloud-configs (with revision), and its instances grouped by host
/// with status, memory, addresses, start and stop times, phone-home time and readiness. LXD's
/// figures come from the host cache and carry their age; containers Mosaic created that LXD no
/// longer has are `missing`, and containers with this deployment's key that Mosaic does not know
/// are listed as orphaned. Each exposed port comes with its frontend address and every instance
/// behind it: its state in the load balancer (UP, DOWN, DRAIN, MAINT, not ready, stopped), current
/// sessions and requests, as this server's HAProxy last reported them.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 200, description = "The deployment", body = DeploymentDetail),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
    )
)]
#[get("/deployments/{id}")]
pub async fn get_deployment(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<web::Json<DeploymentDetail>, ApiError> {
    let id = id.into_inner();
    let snapshots = super::seen(&state);
    let detail = db::run(&state.pool, move |conn| {
        let deployment = super::load(conn, id, &snapshots)?;
        let rows = Instance::for_deployments(conn, &[id])?;
        let hosts = Host::all(conn)?;
        let ids: Vec<_> = rows.iter().map(|r| r.cloud_config_id).collect();
        let names: HashMap<_, _> = CloudConfig::names(conn, &ids)?.into_iter().collect();
        let refs: Vec<&Instance> = rows.iter().collect();
        let ports = ExposedPort::for_deployments(conn, &[id])?
            .iter()
            .map(|p| view::exposed_port(p, &refs, &hosts, &names, &snapshots.routing()))
            .collect();
        let (hosts, orphaned) =
            overview::by_host(&id.to_string(), &refs, &hosts, &names, &snapshots.snapshots);
        Ok::<_, ApiError>(DeploymentDetail { deployment, hosts, orphaned, ports })
    })
    .await?;
    Ok(web::Json(detail))
}
