//! `GET /api/v1/routing`.

use std::collections::HashMap;

use actix_web::{get, web};
use mosaic_db::models::hosts::Host;
use mosaic_db::models::routing::HostRoutingRow;
use mosaic_types::hosts::HostTransport;
use mosaic_types::routing::{HostReach, HostRouting, RoutingStatus};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Reports this server's load balancer: whether it is available (HAProxy installed and running
/// here — and why not when it is not), its version and master process, the address and port
/// range of frontends, how many frontends and servers it has, how long ago it was last brought in
/// line with the database, and how each host's instances are reached.
#[utoipa::path(
    tag = "routing",
    security(("bearer" = [])),
    responses((status = 200, description = "This server's load balancer", body = RoutingStatus))
)]
#[get("/routing")]
pub async fn get_routing(
    _user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<RoutingStatus>, ApiError> {
    let hosts = db::run(&state.pool, |conn| {
        let reach: HashMap<_, _> =
            HostRoutingRow::all(conn)?.into_iter().map(|r| (r.host_id, r.reach)).collect();
        let hosts = Host::all(conn)?;
        Ok::<_, ApiError>(hosts.into_iter().map(|h| host_routing(&h, reach.get(&h.id).copied())).collect())
    })
    .await?;
    let health = state.routing.health();
    let view = state.routing.view();
    let settings = &state.settings;
    Ok(web::Json(RoutingStatus {
        available: health.unavailable.is_none() && view.at.is_some(),
        detail: health.unavailable.clone().or(health.last_error.clone()).or_else(|| {
            view.at.is_none().then(|| "the load balancer has not been brought up yet".to_owned())
        }),
        node: state.routing.node().to_owned(),
        haproxy_version: health.version,
        master_pid: health.master_pid,
        frontend_bind: settings.frontend_bind.to_string(),
        frontend_ports: settings.frontend_ports.to_string(),
        frontends: view.frontends,
        servers: view.servers,
        reconciled_ms_ago: view.at.map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX)),
        hosts,
    }))
}

/// A host's routing in wire form (no row: proxy devices).
pub(crate) fn host_routing(host: &Host, reach: Option<HostReach>) -> HostRouting {
    let reach = reach.unwrap_or(HostReach::ProxyDevice);
    let listen_address = match (reach, host.transport) {
        (HostReach::Address, _) => None,
        (HostReach::ProxyDevice, HostTransport::Unix) => Some("127.0.0.1".to_owned()),
        (HostReach::ProxyDevice, HostTransport::Https) => {
            host.url.as_deref().and_then(|u| url::Url::parse(u).ok()).and_then(|u| {
                u.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            })
        }
    };
    HostRouting { host_id: host.id, host_name: host.name.clone(), reach, listen_address }
}
