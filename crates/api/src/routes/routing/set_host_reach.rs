//! `PUT /api/v1/routing/hosts/{host_id}`.

use actix_web::{HttpRequest, put, web};
use mosaic_db::models::hosts::Host;
use mosaic_db::models::routing::HostRoutingRow;
use mosaic_types::HostId;
use mosaic_types::routing::{HostRouting, SetHostReach};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Sets how the load balancer reaches a host's instances: through a proxy device on each instance
/// (`proxy_device`, the default: LXD listens on the host's address and connects inside), or at
/// the instance's own IPv4 address (`address`: for bridged hosts whose instance network this
/// machine can route to). Servers move to the new address with a drain; nothing is reloaded.
#[utoipa::path(
    tag = "routing",
    security(("bearer" = [])),
    params(("host_id" = HostId, Path, description = "The host")),
    request_body = SetHostReach,
    responses(
        (status = 200, description = "How the host's instances are reached now", body = HostRouting),
        (status = 404, description = "No such host", body = mosaic_types::ErrorBody),
    )
)]
#[put("/routing/hosts/{host_id}")]
pub async fn set_host_reach(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    host_id: web::Path<HostId>,
    body: web::Json<SetHostReach>,
) -> Result<web::Json<HostRouting>, ApiError> {
    let id = host_id.into_inner();
    let reach = body.into_inner().reach;
    AuditTarget::set(&req, format!("host {id}: reach instances by {}", reach.as_str()));
    let routing = db::transaction(&state.pool, move |conn| {
        let host = Host::find(conn, id).or_not_found("host_not_found", || format!("no host with id {id}"))?;
        HostRoutingRow::set(conn, id, reach)?;
        Ok::<_, ApiError>(super::status::host_routing(&host, Some(reach)))
    })
    .await?;
    state.routing.wake();
    Ok(web::Json(routing))
}
