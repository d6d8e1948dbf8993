//! Answers for requests no route takes: 405 with `Allow` when the path exists under another
//! method, 404 otherwise, both in the error envelope.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::envelope;

/// The documented path templates and their methods, read from the OpenAPI document.
#[derive(Debug, Default)]
pub struct KnownPaths(Vec<(Vec<String>, Vec<&'static str>)>);

impl KnownPaths {
    /// Reads the templates from the document.
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let paths = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = crate::openapi::operations(item).map(|(method, _)| method).collect();
                (segments(path), methods)
            })
            .collect();
        KnownPaths(paths)
    }

    /// The methods of the documented path that `path` matches, preferring literal segments over
    /// parameters (`/hosts/fingerprint` is not `/hosts/{id}`).
    pub fn allowed(&self, path: &str) -> Option<&[&'static str]> {
        let wanted = segments(path);
        self.0
            .iter()
            .filter(|(template, _)| {
                template.len() == wanted.len()
                    && template
                        .iter()
                        .zip(&wanted)
                        .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
            })
            .max_by_key(|(template, _)| template.iter().filter(|t| !t.starts_with('{')).count())
            .map(|(_, methods)| methods.as_slice())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/').split('/').map(str::to_owned).collect()
}

/// 404 in the envelope for a listener with no documented paths (the phone-home listener).
pub async fn plain_not_found(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound()
        .json(envelope("not_found", format!("no route for {} {}", req.method(), req.path())))
}

/// The default service (everything under `/api` no route takes): 405 for a documented path used
/// with the wrong method, 404 otherwise.
pub async fn not_found(req: HttpRequest, known: web::Data<KnownPaths>) -> HttpResponse {
    match method_not_allowed(&req, &known) {
        Some(response) => response,
        None => {
            HttpResponse::NotFound().json(envelope("route_not_found", format!("no route for {}", req.path())))
        }
    }
}

/// A 405 (with `Allow`) if the path is documented but not for this method.
pub fn method_not_allowed(req: &HttpRequest, known: &KnownPaths) -> Option<HttpResponse> {
    let methods = known.allowed(req.path())?;
    if methods.contains(&req.method().as_str()) {
        return None;
    }
    Some(
        HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, methods.join(", "))).json(envelope(
            "method_not_allowed",
            format!("{} is not allowed on {}", req.method(), req.path()),
        )),
    )
}
