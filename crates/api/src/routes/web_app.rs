//! The single-page app: its files, and the headers that keep a browser from running anything else
//! in its name.

use std::path::Path;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// Serves the single-page app's files at `/` when it has been built into `dir`; any other path
/// outside `/api` gets the app's `index.html`, so the app's own routes survive a reload.
pub fn frontend(cfg: &mut web::ServiceConfig, dir: &Path) {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::info!(dir = %dir.display(), "no built front end there; serving the API only");
        return;
    }
    let app = actix_web::dev::fn_service(move |req: actix_web::dev::ServiceRequest| {
        let index = index.clone();
        async move {
            let (req, _) = req.into_parts();
            let file = actix_files::NamedFile::open_async(&index).await?;
            let response = file.into_response(&req);
            Ok(actix_web::dev::ServiceResponse::new(req, response))
        }
    });
    cfg.service(actix_files::Files::new("/", dir).index_file("index.html").default_handler(app));
}

/// The `Content-Security-Policy` of the app's pages: only its own script and wasm run (the one
/// inline module script of `index.html` by its hash, since it is what loads the app), it talks only
/// to its own server, and no other site may frame it.
#[derive(Debug, Clone)]
pub struct ContentSecurityPolicy(HeaderValue);

impl ContentSecurityPolicy {
    /// The policy for the app built in `dir` (the hashes of `index.html`'s inline scripts).
    pub fn for_app(dir: &Path) -> Self {
        let index = std::fs::read_to_string(dir.join("index.html")).unwrap_or_default();
        let hashes: String = inline_scripts(&index)
            .map(|script| {
                let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
                format!(
                    " 'sha256-{}'",
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest)
                )
            })
            .collect();
        let policy = format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
             style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        ContentSecurityPolicy(
            HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        )
    }
}

/// The text of each inline `<script>` (one with no `src`) in an HTML page.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, body) = rest.split_once('>')?;
        if attributes.contains("src=") {
            return None;
        }
        body.split_once("</script>").map(|(script, _)| script)
    })
}

/// Middleware: the app's pages get the policy; every response gets `nosniff`, no referrer and no
/// framing. The API's own pages (the Swagger UI under `/api/docs`) keep theirs.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let app_page = !req.path().starts_with("/api");
    let mut res = next.call(req).await?;
    let csp = res.request().app_data::<web::Data<ContentSecurityPolicy>>().map(|c| c.0.clone());
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if app_page && let Some(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::inline_scripts;

    #[test]
    fn finds_the_inline_scripts_only() {
        let html = "<head><script type=\"module\">init();</script><script src=\"/x.js\"></script></head>";
        assert_eq!(inline_scripts(html).collect::<Vec<_>>(), vec!["init();"]);
    }
}
