//! Who may do what: one rule per API operation, keyed by its OpenAPI operation id.
//!
//! The table is the only place an operation's role is decided. [`authorize`](super::authorize)
//! enforces it before any handler runs, the OpenAPI document publishes it on every operation
//! (`x-required-role`), and a test calls every operation with a token of every role.

use mosaic_types::users::Role;

/// What an operation acts on, for tokens limited to named deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The deployment in its path (`/deployments/{id}/…`): a limited token only its own.
    Deployment,
    /// The job in its path (`/jobs/{id}/…`): a limited token only its deployments' jobs.
    Job,
    /// The instance in its path (`/instances/{id}/…`): a limited token only its deployments'
    /// instances.
    Instance,
    /// Reads not about one deployment, and a caller's own things (its token, itself); lists of
    /// deployments show a limited token only its own.
    Shared,
    /// Changes outside the token's deployments: refused to a limited token.
    Outside,
}

/// An operation's rule: the least role, and what it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The least role that may call it.
    pub role: Role,
    /// What it acts on.
    pub scope: Scope,
}

use Role::{Admin, Operator, Viewer};
use Scope::{Deployment, Instance, Job, Outside, Shared};

/// Every authenticated operation's rule.
const RULES: &[(&str, Role, Scope)] = &[
    // Yourself and your tokens.
    ("get_me", Viewer, Shared),
    ("list_tokens", Viewer, Shared),
    ("create_token", Viewer, Outside),
    ("delete_token", Viewer, Shared),
    ("get_health_detail", Viewer, Shared),
    // Hosts: reading them is for everyone; registering one makes Mosaic connect somewhere (and a
    // unix-socket host is a path on Mosaic's machine), so changing them is for admins.
    ("list_hosts", Viewer, Shared),
    ("get_host", Viewer, Shared),
    ("list_host_images", Viewer, Shared),
    ("list_host_profiles", Viewer, Shared),
    ("fetch_host_fingerprint", Admin, Outside),
    ("create_host", Admin, Outside),
    ("update_host", Admin, Outside),
    ("delete_host", Admin, Outside),
    ("forget_host", Admin, Outside),
    // Routing: its status is a read; how the load balancer reaches a host's instances (a proxy
    // device Mosaic adds, or the instance's own address) is host configuration, for admins.
    ("get_routing", Viewer, Shared),
    ("set_host_reach", Admin, Outside),
    // Cloud-configs.
    ("list_cloud_configs", Viewer, Shared),
    ("get_cloud_config", Viewer, Shared),
    ("list_cloud_config_revisions", Viewer, Shared),
    ("get_cloud_config_revision", Viewer, Shared),
    ("diff_cloud_config_revisions", Viewer, Shared),
    ("create_cloud_config", Operator, Outside),
    ("update_cloud_config", Operator, Outside),
    ("delete_cloud_config", Operator, Outside),
    ("restore_cloud_config_revision", Operator, Outside),
    // Deployments and their jobs.
    ("list_deployments", Viewer, Shared),
    ("create_deployment", Operator, Outside),
    ("get_deployment", Viewer, Deployment),
    ("list_deployment_jobs", Viewer, Deployment),
    ("update_deployment", Operator, Deployment),
    ("delete_deployment", Operator, Deployment),
    ("add_deployment_cloud_config", Operator, Deployment),
    ("pin_deployment_cloud_config", Operator, Deployment),
    ("remove_deployment_cloud_config", Operator, Deployment),
    ("deploy_deployment", Operator, Deployment),
    ("start_deployment", Operator, Deployment),
    ("stop_deployment", Operator, Deployment),
    ("remove_deployment_instances", Operator, Deployment),
    ("create_deployment_rollout", Operator, Deployment),
    ("resume_deployment_rollout", Operator, Deployment),
    ("abort_deployment_rollout", Operator, Deployment),
    ("adopt_deployment_orphan", Operator, Deployment),
    ("delete_deployment_orphan", Operator, Deployment),
    // Ports served through the load balancer: reading them is a deployment read; exposing a port
    // changes the deployment.
    ("list_deployment_ports", Viewer, Deployment),
    ("expose_deployment_port", Operator, Deployment),
    ("unexpose_deployment_port", Operator, Deployment),
    // Jobs: the list shows a limited token only its deployments' jobs.
    ("list_jobs", Viewer, Shared),
    ("get_job", Viewer, Job),
    ("stream_job_events", Viewer, Job),
    // Instances, one at a time (lists show a limited token only its deployments').
    ("list_instances", Viewer, Shared),
    ("get_instance", Viewer, Instance),
    ("get_instance_cloud_init_log", Viewer, Instance),
    ("start_instance", Operator, Instance),
    ("stop_instance", Operator, Instance),
    ("restart_instance", Operator, Instance),
    ("recreate_instance", Operator, Instance),
    // Users, everyone's tokens, the audit log.
    ("list_users", Admin, Shared),
    ("create_user", Admin, Outside),
    ("update_user", Admin, Outside),
    ("list_user_tokens", Admin, Shared),
    ("list_audit", Admin, Shared),
];

/// The rule of an operation; `None` for an operation missing from the table, which is refused
/// (a test keeps the table complete).
pub fn rule(operation_id: &str) -> Option<Rule> {
    RULES.iter().find(|(id, ..)| *id == operation_id).map(|&(_, role, scope)| Rule { role, scope })
}

/// Every operation id the table names.
pub fn operation_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|(id, ..)| *id)
}
