//! `/api/v1/deployments/{id}/ports` and `/api/v1/routing`: ports of deployment members served
//! through this server's load balancer, and how the load balancer reaches each host's instances.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod expose;
pub mod list;
pub mod set_host_reach;
pub mod status;
pub mod unexpose;

/// Registers the routing routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_deployment_ports)
        .service(expose::expose_deployment_port)
        .service(unexpose::unexpose_deployment_port)
        .service(status::get_routing)
        .service(set_host_reach::set_host_reach);
}
