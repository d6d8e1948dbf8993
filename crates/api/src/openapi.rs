//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! Paths and schemas are collected by `utoipa-actix-web` from the very services the server
//! registers, so nothing can be served without being described. `openapi/openapi.json` is this
//! document committed; a test fails when they differ (`mosaic openapi > openapi/openapi.json`
//! regenerates it).

use actix_web::App;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{AppExt, scope};

use crate::routes;

/// The document's fixed parts: info, tags, the bearer security scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mosaic API",
        description = "Run fleets of LXD containers from cloud-config templates. Every endpoint except \
            health and this document needs `Authorization: Bearer <token>`. Every failure is answered \
            with `{\"error\": {\"code\", \"message\"}}`."
    ),
    tags(
        (name = "health", description = "Is the server up, and can it reach its database and hosts"),
        (name = "hosts", description = "LXD hosts Mosaic manages"),
        (name = "cloud-configs", description = "cloud-init templates, with revisions"),
        (name = "deployments", description = "Groups of cloud-configs deployed together, and their lifecycle"),
        (name = "jobs", description = "Progress of long work: deploy, start, stop, delete"),
        (name = "routing", description = "Ports of deployments served through Mosaic's load balancer (HAProxy)"),
        (name = "instances", description = "Instances reporting in"),
        (name = "tokens", description = "Your API tokens"),
        (name = "users", description = "Users (admins manage them)"),
        (name = "audit", description = "Who did what"),
    ),
    components(schemas(mosaic_types::ErrorBody, mosaic_types::ErrorDetail)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut Document) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The extension naming the least role an operation needs (`viewer`, `operator` or `admin`).
pub const REQUIRED_ROLE: &str = "x-required-role";

/// The whole document, as the server serves it.
pub fn document() -> Document {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope("/api").configure(routes::configure))
        .split_for_parts();
    with_error_responses(api)
}

/// Adds the failures every operation can answer with, so each one lists them without every
/// handler repeating them: 401 where a token is required, 400 where a path, query or body is
/// parsed, 413/415 where a body is read, and the opaque 500.
fn with_error_responses(mut api: Document) -> Document {
    for item in api.paths.paths.values_mut() {
        for op in operations_mut(item) {
            add_errors(op);
        }
    }
    api
}

/// The HTTP methods the API uses, with the slot each has in a path item: the one list the
/// document, the audit trail's operation names and the 405 fallback all read.
fn slots(item: &PathItem) -> [(&'static str, &Option<Operation>); 5] {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
}

/// A path item's operations with their methods.
pub fn operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    slots(item).into_iter().filter_map(|(method, op)| op.as_ref().map(|op| (method, op)))
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
}

fn add_errors(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if secured && let Some(rule) = op.operation_id.as_deref().and_then(crate::auth::policy::rule) {
        let role = serde_json::Value::String(rule.role.as_str().to_owned());
        let extensions =
            utoipa::openapi::extensions::ExtensionsBuilder::new().add(REQUIRED_ROLE, role).build();
        op.extensions.get_or_insert_with(Default::default).merge(extensions);
        op.responses.responses.entry("403".to_owned()).or_insert_with(|| {
            error_response("The token's role is below the operation's (`x-required-role`), or the token is limited to other deployments")
        });
    }
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description));
    };
    if secured {
        add("401", "Missing or invalid bearer token");
    }
    if has_params || has_body {
        add("400", "Invalid input");
    }
    if has_body {
        add("413", "Request body too large");
        add("415", "Request body is not JSON");
    }
    add("500", "Internal error (details are logged, never returned)");
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn every_secured_operation_has_exactly_one_policy_rule() {
        let api = super::document();
        let mut documented = HashSet::new();
        for item in api.paths.paths.values() {
            for (_, op) in super::operations(item) {
                let id = op.operation_id.clone().unwrap_or_default();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                if secured {
                    assert!(crate::auth::policy::rule(&id).is_some(), "{id} has no policy rule");
                    let ext = op.extensions.as_ref().and_then(|e| e.get(super::REQUIRED_ROLE));
                    assert!(ext.is_some(), "{id} does not publish its role");
                }
                documented.insert(id);
            }
        }
        let mut seen = HashSet::new();
        for id in crate::auth::policy::operation_ids() {
            assert!(documented.contains(id), "the policy names {id}, which the API does not have");
            assert!(seen.insert(id), "the policy names {id} twice");
        }
    }
}
