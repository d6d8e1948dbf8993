//! HTTP routes, one folder per resource.

use actix_web::web;

pub mod health;

/// Registers every route under `/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::get::get_health);
}
