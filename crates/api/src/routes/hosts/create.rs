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
/// fingerprint. Over a unix socket: the local daemon, fully trusted (with `host_allowlist` set,
/// only a socket it names). Nothing is stored unless the host answered and trusts Mosaic.
///
/// `project` (default `default`) scopes every call for the host to that LXD project, which must
/// exist; the same daemon may be registered once per project. A cluster member's URL registers
/// the whole cluster as one host: its members are read from LXD, and Mosaic fails over between
/// their URLs (inside `host_allowlist` when one is set).
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
    let project = body.project.clone().unwrap_or_else(|| "default".to_owned());
    validate::lxd_project(&project).map_err(ApiError::validation)?;
    ensure_free(&state, &body.name, &connection, &project).await?;

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
        project: project.clone(),
        member_urls: Vec::new(),
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
    let projects = client.projects().await.map_err(|e| super::registration_error(&label, e))?;
    if !projects.iter().any(|p| p.name == project) {
        return Err(ApiError::Unprocessable {
            code: "project_missing",
            message: format!("{label} has no LXD project {project:?} (or does not show it to Mosaic)"),
        });
    }
    let member_urls = match (&row.url, server.environment.server_clustered) {
        (Some(url), true) => {
            let members = client.cluster_members().await.map_err(|e| super::registration_error(&label, e))?;
            let allowlist = state.settings.host_allowlist.as_deref();
            let others = crate::hosts::member_urls(&members, url, allowlist);
            ensure_cluster_free(&state, url, &others, &project).await?;
            others
        }
        _ => Vec::new(),
    };

    let stored = db::run(&state.pool, move |conn| {
        let new = NewHost {
            id: row.id,
            name: &row.name,
            transport: row.transport,
            url: row.url.as_deref(),
            fingerprint: row.fingerprint.as_deref(),
            socket_path: row.socket_path.as_deref(),
            project: &row.project,
            member_urls,
        };
        HostRow::create(conn, &new).or_conflict("host_name_taken", taken(&row.name))
    })
    .await?;
    AuditTarget::set(&req, format!("host {} ({})", stored.name, stored.id));
    // Its status, members and containers come from the host cache: poll it now, so they show at
    // once. The registration's own client goes first: with it still holding an idle connection to
    // a local daemon's socket, the cache's first poll of that socket got no answer (seen with
    // LXD 5.0.2: the host showed offline until the next poll).
    drop(client);
    state.cache.refresh(&state, std::slice::from_ref(&stored)).await;
    Ok((web::Json(to_wire(stored, &state.cache)), StatusCode::CREATED))
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
            super::check_socket(state, path)?;
            Ok(Connection::Unix { socket_path: path.clone() })
        }
        (Some(_), Some(_)) => Err(ApiError::validation("give either url or socket_path, not both")),
        (None, None) => Err(ApiError::validation("give url (HTTPS) or socket_path (local daemon)")),
    }
}

/// Refuses a taken name, or an address already registered in the same project (as a host's URL
/// or socket, or as a member of a registered cluster), before contacting the host.
async fn ensure_free(
    state: &AppState,
    name: &str,
    connection: &Connection,
    project: &str,
) -> Result<(), ApiError> {
    let (name, project) = (name.to_owned(), project.to_owned());
    let (url, socket) = match connection {
        Connection::Https { url, .. } => (Some(url.clone()), None),
        Connection::Unix { socket_path } => (None, Some(socket_path.clone())),
    };
    db::run(&state.pool, move |conn| {
        let hosts: Vec<HostRow> = hosts::table.select(HostRow::as_select()).load(conn)?;
        let url = url.as_deref().map(|u| u.trim_end_matches('/'));
        let same_address = |h: &HostRow| {
            let at_url = url.is_some_and(|u| {
                h.url.iter().cloned().chain(h.member_urls()).any(|theirs| theirs.trim_end_matches('/') == u)
            });
            let at_socket = socket.is_some() && h.socket_path == socket;
            h.project == project && (at_url || at_socket)
        };
        let clash = hosts.iter().find(|h| h.name == name).or_else(|| hosts.iter().find(|h| same_address(h)));
        let clash = clash.map(|h| h.name.clone());
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

/// Refuses a cluster already registered in the same project through another member: a stored
/// host whose URL is one of this cluster's members, or which lists the registered URL.
async fn ensure_cluster_free(
    state: &AppState,
    url: &str,
    others: &[String],
    project: &str,
) -> Result<(), ApiError> {
    let mut addresses: Vec<String> = others.to_vec();
    addresses.push(url.trim_end_matches('/').to_owned());
    let project = project.to_owned();
    db::run(&state.pool, move |conn| {
        let candidates: Vec<HostRow> =
            hosts::table.filter(hosts::project.eq(&project)).select(HostRow::as_select()).load(conn)?;
        let clash = candidates.into_iter().find(|h| {
            let theirs: Vec<String> = h
                .url
                .iter()
                .cloned()
                .chain(h.member_urls())
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect();
            theirs.iter().any(|t| addresses.contains(t))
        });
        match clash {
            Some(existing) => Err(ApiError::Conflict {
                code: "host_already_registered",
                message: format!("this cluster is already registered as host {}", existing.name),
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
