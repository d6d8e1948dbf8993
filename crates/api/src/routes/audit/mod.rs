//! `/api/v1/audit`: the audit log.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod list;

/// Registers the audit routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_audit);
}
