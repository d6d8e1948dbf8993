//! `POST /api/v1/hosts`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, post, web};
use diesel::prelude::*;
use mosaic_db::models::hosts::{Host as HostRow, NewHost};
use mosaic_db::schema::hosts;
use mosaic_types::HostId;
use mosaic_types::hosts::{CreateHost, Host, HostTransport};
use mosaic_types::validate;

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::hosts::{client_for, to_wire};
use crate::state::AppState;

/// What was checked and how the host is reached.
enum Connection {
    Https { url: String, fingerprint: String, secret: Option<String> },
    Unix { socket_path: String },
}

/// Registers an LXD host.
///
/// Over HTTPS: the operator confirms the fingerprint (`POST /api/v1/hosts/fingerprint`), and Mosaic
/// joins the host with its own client certificate using a trust token or password, then pins the
/// fingerprint. Over a unix socket: the local daemon, fully trusted. Nothing is stored unless the
/// host answered and trusts Mosaic.
#[utoipa::path(
    tag = "hosts",
    security(("bearer" = [])),
    request_body = CreateHost,
    responses(
        (status = 201, description = "Registered", body = Host),
        (status = 409, description = "The name or address is already registered", body = mosaic_types::ErrorBody),
        (status = 422, description = "The host could not be reached, presented another certificate, or refused to trust Mosaic", body = mosaic_types::ErrorBody),
    )
)]
#[post("/hosts")]
pub async fn create_host(
    _user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateHost>,
) -> Result<(web::Json<Host>, StatusCode), ApiError> {
    let body = body.into_inner();
    AuditTarget::set(&req, format!("host {}", body.name));
    let connection = validate_body(&state, &body)?;
    ensure_free(&state, &body.name, &connection).await?;

    let id = HostId::new();
    let (url, fingerprint, socket_path) = match &connection {
        Connection::Https { url, fingerprint, .. } => (Some(url.clone()), Some(fingerprint.clone()), None),
        Connection::Unix { socket_path } => (None, None, Some(socket_path.clone())),
    };
    let row = HostRow {
        id,
        name: body.name.clone(),
        transport: if socket_path.is_some() { HostTransport::Unix } else { HostTransport::Https },
        url,
        fingerprint,
        socket_path,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    let client = client_for(&row, &state.identity).map_err(|e| ApiError::validation(format!("{e:#}")))?;
    let label = row.url.clone().or(row.socket_path.clone()).unwrap_or_default();
    if let Connection::Https { secret: Some(secret), .. } = &connection {
        client.join(secret).await.map_err(|e| super::registration_error(&label, e))?;
    }
    let server = client.server().await.map_err(|e| super::registration_error(&label, e))?;
    if !server.is_trusted() {
        return Err(ApiError::Unprocessable {
            code: "not_trusted",
            message: format!(
                "{label} does not trust Mosaic's certificate; pass a trust_token or trust_password"
            ),
        });
    }

    let stored = db::run(&state.pool, move |conn| {
        let new = NewHost {
            id: row.id,
            name: &row.name,
            transport: row.transport,
            url: row.url.as_deref(),
            fingerprint: row.fingerprint.as_deref(),
            socket_path: row.socket_path.as_deref(),
        };
        HostRow::create(conn, &new).or_conflict("host_name_taken", taken(&row.name))
    })
    .await?;
    AuditTarget::set(&req, format!("host {} ({})", stored.name, stored.id));
    // Its status and containers come from the host cache: poll it now, so both show at once.
    state.cache.refresh(&state, std::slice::from_ref(&stored)).await;
    let status = crate::hosts::status_in(&state.cache, stored.id);
    Ok((web::Json(to_wire(stored, status)), StatusCode::CREATED))
}

fn validate_body(state: &AppState, body: &CreateHost) -> Result<Connection, ApiError> {
    validate::resource_name("name", &body.name).map_err(ApiError::validation)?;
    match (&body.url, &body.socket_path) {
        (Some(url), None) => {
            let parsed = super::parse_url(state, url)?;
            let fingerprint = body.fingerprint.as_deref().ok_or_else(|| ApiError::BadRequest {
                code: "fingerprint_required",
                message:
                    "fingerprint is required: read it with POST /api/v1/hosts/fingerprint and confirm it"
                        .into(),
            })?;
            let fingerprint: lxd::Fingerprint = fingerprint
                .parse()
                .map_err(|e: lxd::Error| ApiError::validation(format!("fingerprint: {e}")))?;
            let secret = match (&body.trust_token, &body.trust_password) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::validation("give either trust_token or trust_password, not both"));
                }
                (Some(s), None) | (None, Some(s)) if s.is_empty() => {
                    return Err(ApiError::validation("the trust token or password is empty"));
                }
                (Some(s), None) | (None, Some(s)) => Some(s.clone()),
                (None, None) => None,
            };
            Ok(Connection::Https { url: parsed.to_string(), fingerprint: fingerprint.to_hex(), secret })
        }
        (None, Some(path)) => {
            if body.fingerprint.is_some() || body.trust_token.is_some() || body.trust_password.is_some() {
                return Err(ApiError::validation(
                    "a unix socket host takes no fingerprint, trust_token or trust_password",
                ));
            }
            if !path.starts_with('/') || path.len() > 1024 {
                return Err(ApiError::validation(format!("socket_path {path:?} must be an absolute path")));
            }
            Ok(Connection::Unix { socket_path: path.clone() })
        }
        (Some(_), Some(_)) => Err(ApiError::validation("give either url or socket_path, not both")),
        (None, None) => Err(ApiError::validation("give url (HTTPS) or socket_path (local daemon)")),
    }
}

/// Refuses a taken name or an address already registered, before contacting the host.
async fn ensure_free(state: &AppState, name: &str, connection: &Connection) -> Result<(), ApiError> {
    let name = name.to_owned();
    let (url, socket) = match connection {
        Connection::Https { url, .. } => (Some(url.clone()), None),
        Connection::Unix { socket_path } => (None, Some(socket_path.clone())),
    };
    db::run(&state.pool, move |conn| {
        let clash: Option<String> = hosts::table
            .filter(
                hosts::name
                    .eq(&name)
                    .or(hosts::url.eq(url.as_deref().unwrap_or("")).and(hosts::url.is_not_null()))
                    .or(hosts::socket_path
                        .eq(socket.as_deref().unwrap_or(""))
                        .and(hosts::socket_path.is_not_null())),
            )
            .select(hosts::name)
            .first(conn)
            .optional()?;
        match clash {
            Some(existing) if existing == name => Err(ApiError::Conflict {
                code: "host_name_taken",
                message: format!("a host named {name} already exists"),
            }),
            Some(existing) => Err(ApiError::Conflict {
                code: "host_already_registered",
                message: format!("this address is already registered as host {existing}"),
            }),
            None => Ok(()),
        }
    })
    .await
}

/// The 409 message for a taken host name.
pub(crate) fn taken(name: &str) -> impl FnOnce() -> String {
    let taken = format!("a host named {name} already exists");
    move || taken
}
