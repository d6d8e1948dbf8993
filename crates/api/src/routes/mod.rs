//! HTTP routes: a folder per resource, a file per action. Handler names are `<verb>_<resource>`
//! and become the OpenAPI operation ids.

use actix_web::middleware::from_fn;
use utoipa_actix_web::scope;

use crate::auth;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod audit;
pub mod cloud_configs;
pub mod deployments;
pub mod fallback;
pub mod health;
pub mod hosts;
pub mod instances;
pub mod jobs;
pub mod phone_home;
pub mod routing;
pub mod tokens;
pub mod users;
pub mod web_app;

/// Registers every route under `/api`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::get::get_health).service(
        scope("/v1")
            .wrap(from_fn(auth::authorize))
            .wrap(from_fn(auth::authenticate))
            .service(health::get::get_health_detail)
            .configure(hosts::configure)
            .configure(cloud_configs::configure)
            .configure(deployments::configure)
            .configure(instances::configure)
            .configure(routing::configure)
            .configure(tokens::configure)
            .configure(users::configure)
            .configure(audit::configure)
            .configure(jobs::configure),
    );
}
