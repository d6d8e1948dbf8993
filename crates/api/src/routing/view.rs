//! The wire form of routing: exposed ports with their frontends and backends, and a deployment's
//! service summary (badge, counts, addresses). Pure functions over rows, the host cache and what
//! the reconciler last saw: no query, no LXD or HAProxy call happens here.

use std::collections::HashMap;

use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::routing::ExposedPort as PortRow;
use mosaic_types::CloudConfigId;
use mosaic_types::instances::{InstanceStatus, Lifecycle, Readiness};
use mosaic_types::routing::{
    Backend, BackendState, ExposedPort, FrontendState, HealthCheck, PortProtocol, ServiceState,
    ServiceSummary, ServingCounts,
};

use super::{Health, View};
use crate::overview::{self, Snapshots};

/// What one instance does for the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Serving,
    Pending,
    Failing,
    CannotJudge,
}

fn count(counts: &mut ServingCounts, class: Class) {
    match class {
        Class::Serving => counts.serving += 1,
        Class::Pending => counts.pending += 1,
        Class::Failing => counts.failing += 1,
        Class::CannotJudge => counts.cannot_judge += 1,
    }
}

/// What a backend state means for the counts (`None`: not running, not counted).
fn class_of(state: BackendState, readiness: Readiness) -> Option<Class> {
    match state {
        BackendState::Stopped => None,
        BackendState::Up => Some(Class::Serving),
        BackendState::Down => Some(Class::Failing),
        BackendState::NotReady if readiness == Readiness::Failed => Some(Class::Failing),
        BackendState::NotReady | BackendState::Drain | BackendState::Maint => Some(Class::Pending),
    }
}

/// The frontend address clients use: the bind address and the port.
pub fn frontend_address(bind: std::net::IpAddr, port: i32) -> String {
    std::net::SocketAddr::new(bind, u16::try_from(port).unwrap_or_default()).to_string()
}

/// The health check of a row in wire form.
pub fn health_check(row: &PortRow) -> HealthCheck {
    match row.check_kind {
        PortProtocol::Http => HealthCheck::Http {
            path: row.check_path.clone().unwrap_or_else(|| "/".into()),
            expect_status: row.check_status.unwrap_or(200),
        },
        PortProtocol::Tcp => HealthCheck::Tcp {
            send: String::from_utf8_lossy(row.check_send.as_deref().unwrap_or_default()).into_owned(),
            expect: String::from_utf8_lossy(row.check_expect.as_deref().unwrap_or_default()).into_owned(),
        },
    }
}

/// Everything the wire views need besides the rows.
pub struct Context<'a> {
    /// The host cache's snapshots.
    pub snapshots: &'a Snapshots,
    /// What the reconciler last saw.
    pub view: &'a View,
    /// Whether routing works here.
    pub health: &'a Health,
    /// The address frontends bind on.
    pub frontend_bind: std::net::IpAddr,
}

/// The backend state of an instance the reconciler has not looked at yet (it is new).
fn unseen(row: &Instance, ctx: &Context<'_>) -> BackendState {
    if row.state == Lifecycle::Created && overview::status_of(row, ctx.snapshots).0 == InstanceStatus::Running
    {
        BackendState::NotReady
    } else {
        BackendState::Stopped
    }
}

/// One exposed port in wire form. `rows` are the deployment's instances; `hosts` names their hosts.
pub fn exposed_port(
    port: &PortRow,
    rows: &[&Instance],
    hosts: &[Host],
    names: &HashMap<CloudConfigId, String>,
    ctx: &Context<'_>,
) -> ExposedPort {
    let seen = ctx.view.ports.get(&port.id);
    let mut counts = ServingCounts::default();
    let mut backends = Vec::new();
    for row in rows.iter().filter(|r| r.cloud_config_id == port.cloud_config_id) {
        let b = seen.and_then(|p| p.backends.get(&row.id));
        let state = b.map(|b| b.state).unwrap_or_else(|| unseen(row, ctx));
        if let Some(class) = class_of(state, row.readiness) {
            count(&mut counts, class);
        }
        backends.push(Backend {
            instance_id: row.id,
            instance_name: row.name.clone(),
            host_id: row.host_id,
            host_name: hosts.iter().find(|h| h.id == row.host_id).map(|h| h.name.clone()).unwrap_or_default(),
            address: b.and_then(|b| b.address).map(|a| a.to_string()),
            state,
            sessions: b.map(|b| b.sessions).unwrap_or(0),
            requests: b.map(|b| b.requests).unwrap_or(0),
            last_check: b.and_then(|b| b.last_check.clone()),
        });
    }
    backends.sort_by(|a, b| a.instance_name.cmp(&b.instance_name));
    let (frontend, frontend_error) = match (&ctx.health.unavailable, seen) {
        (Some(why), _) => (FrontendState::Unavailable, Some(why.clone())),
        (None, Some(p)) => (p.frontend, p.error.clone()),
        // Not looked at yet: it listens once an instance of the member is started.
        (None, None) => {
            let started =
                rows.iter().any(|r| r.cloud_config_id == port.cloud_config_id && super::desired::started(r));
            (if started { FrontendState::Pending } else { FrontendState::Down }, None)
        }
    };
    ExposedPort {
        id: port.id,
        deployment_id: port.deployment_id,
        cloud_config_id: port.cloud_config_id,
        cloud_config: names.get(&port.cloud_config_id).cloned().unwrap_or_default(),
        target_port: u16::try_from(port.target_port).unwrap_or_default(),
        protocol: port.protocol,
        health_check: health_check(port),
        frontend_port: u16::try_from(port.frontend_port).unwrap_or_default(),
        frontend_address: frontend_address(ctx.frontend_bind, port.frontend_port),
        frontend,
        frontend_error,
        counts,
        backends,
        created_at: port.created_at,
    }
}

/// A deployment's service summary. An instance of a member with exposed ports (while routing
/// works) serves when it is UP behind every one of them, fails when it is down (or its
/// cloud-config failed) behind any, and is pending otherwise; an instance of a member without
/// exposed ports is judged by its readiness alone (an image without cloud-init cannot be judged).
pub fn summary(ports: &[&PortRow], rows: &[&Instance], ctx: &Context<'_>) -> ServiceSummary {
    let routed = ctx.health.unavailable.is_none();
    let mut counts = ServingCounts::default();
    for row in rows {
        let mine: Vec<&&PortRow> =
            ports.iter().filter(|p| p.cloud_config_id == row.cloud_config_id).collect();
        let class = if routed && !mine.is_empty() {
            let classes: Vec<Class> = mine
                .iter()
                .filter_map(|p| {
                    let state = ctx
                        .view
                        .ports
                        .get(&p.id)
                        .and_then(|v| v.backends.get(&row.id))
                        .map(|b| b.state)
                        .unwrap_or_else(|| unseen(row, ctx));
                    class_of(state, row.readiness)
                })
                .collect();
            if classes.is_empty() {
                None
            } else if classes.iter().all(|c| *c == Class::Serving) {
                Some(Class::Serving)
            } else if classes.contains(&Class::Failing) {
                Some(Class::Failing)
            } else {
                Some(Class::Pending)
            }
        } else if overview::status_of(row, ctx.snapshots).0 == InstanceStatus::Running {
            Some(match row.readiness {
                Readiness::Ready => Class::Serving,
                Readiness::Pending => Class::Pending,
                Readiness::Failed => Class::Failing,
                Readiness::Unknown => Class::CannotJudge,
            })
        } else {
            None
        };
        if let Some(class) = class {
            count(&mut counts, class);
        }
    }
    ServiceSummary {
        state: ServiceState::of(&counts),
        counts,
        addresses: ports.iter().map(|p| frontend_address(ctx.frontend_bind, p.frontend_port)).collect(),
        routing_available: routed,
        routing_detail: ctx.health.unavailable.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_states_count_as_the_badge_says() {
        assert_eq!(class_of(BackendState::Stopped, Readiness::Ready), None);
        assert_eq!(class_of(BackendState::Up, Readiness::Unknown), Some(Class::Serving));
        assert_eq!(class_of(BackendState::Down, Readiness::Ready), Some(Class::Failing));
        assert_eq!(class_of(BackendState::NotReady, Readiness::Failed), Some(Class::Failing));
        assert_eq!(class_of(BackendState::NotReady, Readiness::Pending), Some(Class::Pending));
        assert_eq!(class_of(BackendState::Drain, Readiness::Ready), Some(Class::Pending));
    }
}
