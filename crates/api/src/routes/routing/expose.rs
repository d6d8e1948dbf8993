//! `POST /api/v1/deployments/{id}/ports`.

use std::collections::HashSet;
use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_db::models::routing::ExposedPort as PortRow;
use mosaic_types::routing::{self as wire, ExposePort, ExposedPort, HealthCheck, PortProtocol};
use mosaic_types::{DeploymentId, ExposedPortId};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::routes::deployments::{ensure_active, find, seen};
use crate::routing::{allocate, desired};
use crate::state::AppState;

/// Exposes a port of one member's instances through this server's load balancer (and every other
/// Mosaic server's over the same database): a frontend on the fixed `frontend_port`, or one
/// allocated from the frontend port range, and a backend of the member's instances that run,
/// whose cloud-config applied and that pass the health check. The check speaks the protocol (an
/// HTTP request with an expected status; for TCP, text to send and to expect): a bare TCP connect
/// is not offered, since an LXD proxy device accepts before it dials the container. Nothing is
/// written when the input is refused. The frontend listens while any instance of the member is
/// started; instances are reached through a proxy device Mosaic adds (or at their address, on
/// hosts set so in `PUT /routing/hosts/{host_id}`).
#[utoipa::path(
    tag = "routing",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = ExposePort,
    responses(
        (status = 201, description = "Exposed; the port with its frontend address", body = ExposedPort),
        (status = 400, description = "A port out of range, a health check that is not usable, or a cloud-config that is not part of the deployment", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "The frontend port is taken, the port is exposed already, no frontend port is free, or the deployment is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/ports")]
pub async fn expose_deployment_port(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<ExposePort>,
) -> Result<(web::Json<ExposedPort>, StatusCode), ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    AuditTarget::set(&req, format!("deployment {id}: expose port {}", body.target_port));
    let target = wire::port("target_port", body.target_port).map_err(ApiError::validation)?;
    let check = match (body.health_check, body.protocol) {
        (Some(check), _) => check,
        (None, PortProtocol::Http) => HealthCheck::Http { path: "/".into(), expect_status: 200 },
        (None, PortProtocol::Tcp) => {
            return Err(ApiError::validation(
                "a tcp port needs a health check with text to send and expect (`{\"type\": \"tcp\", \"send\": …, \
                 \"expect\": …}`): a bare connect proves nothing behind an LXD proxy device",
            ));
        }
    };
    wire::health_check(&check).map_err(ApiError::validation)?;
    let bind = state.settings.frontend_bind;
    let fixed = body
        .frontend_port
        .map(|p| wire::port("frontend_port", p))
        .transpose()
        .map_err(ApiError::validation)?;
    let port_id = ExposedPortId::new();
    let mut row = PortRow {
        id: port_id,
        deployment_id: id,
        cloud_config_id: body.cloud_config_id,
        target_port: target.into(),
        protocol: body.protocol,
        check_kind: PortProtocol::Http,
        check_path: None,
        check_status: None,
        check_send: None,
        check_expect: None,
        frontend_port: 0,
        created_at: Utc::now(),
    };
    match &check {
        HealthCheck::Http { path, expect_status } => {
            row.check_path = Some(path.clone());
            row.check_status = Some(*expect_status);
        }
        HealthCheck::Tcp { send, expect } => {
            row.check_kind = PortProtocol::Tcp;
            row.check_send = Some(send.as_bytes().to_vec());
            row.check_expect = Some(expect.as_bytes().to_vec());
        }
    }
    // HAProxy's own model has the last word on what it will accept.
    let params = desired::Params {
        frontend_bind: bind,
        timing: crate::routing::check_timing(state.settings.health_check_interval),
    };
    let probe = PortRow {
        frontend_port: i32::from(fixed.unwrap_or(state.settings.frontend_ports.first)),
        ..row.clone()
    };
    if let Some(service) = desired::service_of(&probe, params) {
        haproxy::Config { services: vec![service], ..haproxy::Config::default() }
            .validate()
            .map_err(|e| ApiError::validation(e.to_string()))?;
    }
    if let Some(port) = fixed
        && let Err(e) = allocate::bindable(SocketAddr::new(bind, port))
    {
        return Err(taken(format!(
            "frontend port {port} is taken on this machine: cannot listen on {bind}:{port} ({e})"
        )));
    }
    let range = state.settings.frontend_ports;
    let seen = seen(&state);
    let created = db::transaction(&state.pool, move |conn| {
        let deployment = find(conn, id)?;
        ensure_active(&deployment)?;
        if !Row::members(conn, &[id])?.iter().any(|m| m.cloud_config_id == row.cloud_config_id) {
            return Err(ApiError::validation(format!(
                "cloud-config {} is not part of deployment {}",
                row.cloud_config_id, deployment.name
            )));
        }
        row.frontend_port = match fixed {
            Some(port) => {
                if let Some(other) = PortRow::with_frontend_port(conn, i32::from(port))? {
                    return Err(taken(format!(
                        "frontend port {port} is taken: another exposed port uses it ({})",
                        other.id
                    )));
                }
                i32::from(port)
            }
            None => {
                let used: HashSet<u16> = PortRow::frontend_ports(conn)?
                    .into_iter()
                    .filter_map(|p| u16::try_from(p).ok())
                    .collect();
                let port =
                    allocate::free_port(range, &used, Some(bind)).ok_or_else(|| ApiError::Conflict {
                        code: "no_free_frontend_port",
                        message: format!("no frontend port is free in {range} (MOSAIC_FRONTEND_PORTS)"),
                    })?;
                i32::from(port)
            }
        };
        let frontend_port = row.frontend_port;
        PortRow::create(conn, &row).map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.constraint_name().is_some_and(|c| c.contains("frontend_port")) =>
            {
                taken(format!("frontend port {frontend_port} is taken: another exposed port uses it"))
            }
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => ApiError::Conflict {
                code: "port_already_exposed",
                message: format!(
                    "port {} of cloud-config {} is already exposed in this deployment",
                    row.target_port, row.cloud_config_id
                ),
            },
            other => other.into(),
        })?;
        Row::touch(conn, id)?;
        let ports = super::list::ports_of(conn, id, &seen)?;
        ports
            .into_iter()
            .find(|p| p.id == port_id)
            .ok_or_else(|| anyhow::anyhow!("exposed port {port_id} vanished while it was read").into())
    })
    .await?;
    state.routing.wake();
    AuditTarget::set(
        &req,
        format!("deployment {id}: expose port {} as {}", created.target_port, created.frontend_address),
    );
    Ok((web::Json(created), StatusCode::CREATED))
}

fn taken(message: String) -> ApiError {
    ApiError::Conflict { code: "frontend_port_taken", message }
}
