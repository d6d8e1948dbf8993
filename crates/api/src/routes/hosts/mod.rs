//! `/api/v1/hosts`: the LXD hosts Mosaic manages.

use std::time::Duration;

use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use url::Url;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

pub mod create;
pub mod delete;
pub mod fingerprint;
pub mod forget;
pub mod get;
pub mod images;
pub mod list;
pub mod profiles;
pub mod update;

/// Registers the host routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_hosts)
        .service(create::create_host)
        .service(fingerprint::fetch_host_fingerprint)
        .service(get::get_host)
        .service(update::update_host)
        .service(delete::delete_host)
        .service(forget::forget_host)
        .service(profiles::list_host_profiles)
        .service(images::list_host_images);
}

/// Loads a host or answers 404.
pub(crate) async fn find(state: &AppState, id: HostId) -> Result<Host, ApiError> {
    db::run(&state.pool, move |conn| {
        Host::find(conn, id).or_not_found("host_not_found", || format!("no host with id {id}"))
    })
    .await
}

/// The probe timeout from settings.
pub(crate) fn timeout(state: &AppState) -> Duration {
    state.settings.lxd_probe_timeout
}

/// Checks an LXD URL: `https://HOST[:PORT]` with nothing after the authority, and, when an
/// allow-list is configured, an IP literal inside it (no DNS lookup is made then).
pub(crate) fn parse_url(state: &AppState, text: &str) -> Result<Url, ApiError> {
    let url = Url::parse(text.trim())
        .map_err(|e| ApiError::validation(format!("url {text:?} is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(ApiError::validation(format!("url {text:?} must start with https://")));
    }
    if url.host_str().is_none() {
        return Err(ApiError::validation(format!("url {text:?} has no host")));
    }
    if !(url.path() == "/" || url.path().is_empty()) || url.query().is_some() || url.fragment().is_some() {
        return Err(ApiError::validation(format!("url {text:?} must be just https://HOST:PORT")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::validation("url must not contain credentials"));
    }
    if let Some(allow) = &state.settings.host_allowlist
        && !crate::hosts::url_allowed(&url, allow)
    {
        return Err(ApiError::validation(format!(
            "url {text:?} is outside the networks this Mosaic may reach (host_allowlist)"
        )));
    }
    Ok(url)
}

/// Checks a unix socket path: absolute, and, when an allow-list is configured, one it names
/// (a unix-socket host is a path on Mosaic's own machine, fully trusted by that daemon).
pub(crate) fn check_socket(state: &AppState, path: &str) -> Result<(), ApiError> {
    if !path.starts_with('/') || path.len() > 1024 || path.contains('\0') {
        return Err(ApiError::validation(format!("socket_path {path:?} must be an absolute path")));
    }
    if let Some(allow) = &state.settings.host_allowlist
        && !crate::hosts::socket_allowed(path, allow)
    {
        return Err(ApiError::validation(format!(
            "socket_path {path:?} is not one of the sockets this Mosaic may use (host_allowlist)"
        )));
    }
    Ok(())
}

/// Explains an LXD failure while registering a host, keeping LXD's own words.
pub(crate) fn registration_error(url: &str, e: lxd::Error) -> ApiError {
    let (code, message) = match &e {
        lxd::Error::FingerprintMismatch { expected, actual } => (
            "fingerprint_mismatch",
            format!("the server at {url} presents certificate {actual}, not the confirmed {expected}"),
        ),
        lxd::Error::TokenFingerprintMismatch { .. } => ("trust_token_mismatch", e.to_string()),
        lxd::Error::Api { status: 403, message } => {
            ("trust_refused", format!("{url} refused to trust Mosaic: {message}"))
        }
        lxd::Error::Transport { .. } | lxd::Error::Protocol(_) => ("host_unreachable", e.to_string()),
        _ => ("host_error", e.to_string()),
    };
    ApiError::Unprocessable { code, message }
}

/// Explains that a registered host did not answer a read.
pub(crate) fn offline_error(host: &Host, e: lxd::Error) -> ApiError {
    ApiError::Unavailable { code: "host_offline", message: format!("host {} did not answer: {e}", host.name) }
}
