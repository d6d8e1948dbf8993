//! Turning Mosaic's rows and the host cache into what the API shows: counts, memory, readiness,
//! per-instance status. Pure functions: no LXD call and no query happens here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mosaic_db::models::hosts::Host;
use mosaic_db::models::instances::Instance as Row;
use mosaic_types::HostId;
use mosaic_types::deployments::{InstanceCounts, ReadinessCounts};
use mosaic_types::instances::{
    HostInstances, Instance, InstanceStatus, Lifecycle, OrphanedInstance, Readiness,
};

use crate::cache::{Observed, Snapshot};

/// The host snapshots a request works from.
pub type Snapshots = HashMap<HostId, Arc<Snapshot>>;

/// What LXD last said about one instance. On a host that does not answer, or on a cluster member
/// that does not (LXD lists its instances as `Error` without their config, or not at all), it is
/// unknown, never missing.
pub fn status_of<'a>(row: &Row, snapshots: &'a Snapshots) -> (InstanceStatus, Option<&'a Observed>) {
    let Some(snapshot) = snapshots.get(&row.host_id) else { return (InstanceStatus::Unknown, None) };
    let Ok(instances) = &snapshot.instances else { return (InstanceStatus::Unknown, None) };
    match instances.get(&row.name) {
        Some(seen) if seen.unreachable() => (InstanceStatus::Unknown, None),
        None if row.location.as_deref().is_some_and(|m| snapshot.member_down(m)) => {
            (InstanceStatus::Unknown, None)
        }
        Some(seen) => {
            let status = match seen.status_code {
                lxd::StatusCode::RUNNING => InstanceStatus::Running,
                lxd::StatusCode::STOPPED => InstanceStatus::Stopped,
                _ => InstanceStatus::Other,
            };
            (status, Some(seen))
        }
        None if matches!(row.state.as_str(), "created" | "deleting") => (InstanceStatus::Missing, None),
        None => (InstanceStatus::NotCreated, None),
    }
}

/// The figures of a deployment: counts by state and readiness, memory, and the age of the oldest
/// LXD figure used.
pub fn figures(rows: &[&Row], snapshots: &Snapshots) -> (InstanceCounts, ReadinessCounts, u64, Option<u64>) {
    let mut counts = InstanceCounts::default();
    let mut readiness = ReadinessCounts::default();
    let mut memory = 0;
    let mut oldest: Option<u64> = None;
    for row in rows {
        counts.total += 1;
        let (status, seen) = status_of(row, snapshots);
        match status {
            InstanceStatus::Running => counts.running += 1,
            InstanceStatus::Stopped => counts.stopped += 1,
            InstanceStatus::Unknown => counts.unknown += 1,
            InstanceStatus::Missing => counts.missing += 1,
            InstanceStatus::Other | InstanceStatus::NotCreated => counts.other += 1,
        }
        memory += seen.map(|s| s.memory).unwrap_or(0);
        match readiness_of(row) {
            Readiness::Ready => readiness.ready += 1,
            Readiness::Pending => readiness.pending += 1,
            Readiness::Failed => readiness.failed += 1,
            Readiness::Unknown => readiness.unknown += 1,
        }
        if let Some(s) = snapshots.get(&row.host_id) {
            let age = millis(seen.map_or_else(|| s.age(), |seen| s.age_of(seen)));
            oldest = Some(oldest.map_or(age, |o| o.max(age)));
        }
    }
    (counts, readiness, memory, oldest)
}

/// A duration in whole milliseconds, as the API shows ages.
pub fn millis(age: std::time::Duration) -> u64 {
    u64::try_from(age.as_millis()).unwrap_or(u64::MAX)
}

/// The stored readiness.
pub fn readiness_of(row: &Row) -> Readiness {
    match row.readiness.as_str() {
        "ready" => Readiness::Ready,
        "failed" => Readiness::Failed,
        "unknown" => Readiness::Unknown,
        _ => Readiness::Pending,
    }
}

/// The stored bookkeeping state.
pub fn lifecycle_of(row: &Row) -> Lifecycle {
    match row.state.as_str() {
        "created" => Lifecycle::Created,
        "failed" => Lifecycle::Failed,
        "deleting" => Lifecycle::Deleting,
        _ => Lifecycle::Pending,
    }
}

/// One instance in wire form; `cloud_config` is its `namespace/name`.
pub fn instance(row: &Row, cloud_config: String, snapshots: &Snapshots) -> Instance {
    let (status, seen) = status_of(row, snapshots);
    Instance {
        id: row.id,
        name: row.name.clone(),
        deployment_id: row.deployment_id,
        host_id: row.host_id,
        location: location_of(row, seen),
        image_fingerprint: row.image_fingerprint.clone(),
        cloud_config_id: row.cloud_config_id,
        cloud_config,
        revision: row.revision,
        profiles: row.profile_names(),
        lifecycle: lifecycle_of(row),
        last_error: row.last_error.clone(),
        status,
        memory_bytes: seen.filter(|_| status == InstanceStatus::Running).map(|s| s.memory),
        addresses: seen.map(|s| s.addresses.clone()).unwrap_or_default(),
        readiness: readiness_of(row),
        readiness_detail: row.readiness_detail.clone(),
        phoned_home_at: row.phoned_home_at,
        created_at: row.created_at,
        first_started_at: row.first_started_at,
        last_started_at: row.last_started_at,
        last_stopped_at: row.last_stopped_at,
    }
}

/// The cluster member an instance lives on: where LXD last listed it (it may have moved, e.g. when
/// its member was evacuated), else where Mosaic placed it.
pub fn location_of(row: &Row, seen: Option<&Observed>) -> Option<String> {
    seen.map(|s| s.location.as_str())
        .filter(|l| !l.is_empty() && *l != "none")
        .map(str::to_owned)
        .or_else(|| row.location.clone())
}

/// Whether LXD can act on an instance now, as the host cache last saw it: its host answers and,
/// on a cluster, its member is not offline.
pub fn reachable(row: &Row, snapshots: &Snapshots) -> bool {
    snapshots.get(&row.host_id).is_some_and(|s| {
        s.instances.is_ok() && !row.location.as_deref().is_some_and(|member| s.member_down(member))
    })
}

/// A deployment's instances grouped by host (hosts by name), and the containers that carry the
/// deployment's key but that the database does not know.
pub fn by_host(
    deployment: &str,
    rows: &[&Row],
    hosts: &[Host],
    names: &HashMap<mosaic_types::CloudConfigId, String>,
    snapshots: &Snapshots,
) -> (Vec<HostInstances>, Vec<OrphanedInstance>) {
    let mut grouped = Vec::new();
    for host in hosts {
        let here: Vec<Instance> = rows
            .iter()
            .filter(|r| r.host_id == host.id)
            .map(|r| instance(r, names.get(&r.cloud_config_id).cloned().unwrap_or_default(), snapshots))
            .collect();
        if here.is_empty() {
            continue;
        }
        let snapshot = snapshots.get(&host.id);
        grouped.push(HostInstances {
            host_id: host.id,
            host_name: host.name.clone(),
            online: snapshot.is_some_and(|s| s.instances.is_ok()),
            data_age_ms: snapshot.map(|s| millis(s.oldest(here.iter().map(|i| i.name.as_str())))),
            instances: here,
        });
    }
    let known: HashSet<String> = rows.iter().map(|r| r.id.to_string()).collect();
    let mut orphaned = Vec::new();
    for (host_id, snapshot) in snapshots {
        let Ok(instances) = &snapshot.instances else { continue };
        for (name, seen) in instances {
            if seen.deployment == deployment && !known.contains(&seen.instance) {
                orphaned.push(OrphanedInstance {
                    host_id: *host_id,
                    name: name.clone(),
                    instance_key: seen.instance.clone(),
                });
            }
        }
    }
    orphaned.sort_by(|a, b| a.name.cmp(&b.name));
    (grouped, orphaned)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Instant;

    use chrono::Utc;
    use lxd::StatusCode;
    use mosaic_types::instances::{InstanceStatus, Lifecycle, Readiness};
    use mosaic_types::{CloudConfigId, DeploymentId, HostId, InstanceId};

    use super::*;
    use crate::cache::{Observed, ServerFacts, Snapshot};

    fn row(host: HostId, name: &str, location: Option<&str>) -> Row {
        Row {
            id: InstanceId::new(),
            deployment_id: DeploymentId::new(),
            cloud_config_id: CloudConfigId::new(),
            revision: 1,
            host_id: host,
            name: name.into(),
            ordinal: 1,
            profiles: vec![],
            state: Lifecycle::Created,
            last_error: None,
            readiness: Readiness::Pending,
            readiness_detail: None,
            phone_home_secret: None,
            phoned_home_at: None,
            created_at: Utc::now(),
            first_started_at: None,
            last_started_at: None,
            last_stopped_at: None,
            heal_attempts: 0,
            heal_not_before: None,
            image_fingerprint: None,
            location: location.map(str::to_owned),
        }
    }

    fn seen(status_code: StatusCode, instance: &str, location: &str) -> Observed {
        Observed {
            status_code,
            memory: 0,
            addresses: vec![],
            state_read: None,
            deployment: String::new(),
            instance: instance.into(),
            location: location.into(),
            proxies: HashMap::new(),
        }
    }

    /// A cluster whose m1 is online and m2 offline, listing `instances`.
    fn cluster(instances: Vec<(&str, Observed)>) -> Snapshot {
        let members = serde_json::from_str(
            r#"[{"server_name": "m1", "status": "Online"}, {"server_name": "m2", "status": "Offline"}]"#,
        )
        .unwrap_or_default();
        Snapshot {
            taken: Instant::now(),
            taken_at: Utc::now(),
            server: Some(ServerFacts { version: "5.0.2".into(), clustered: true }),
            instances: Ok(instances.into_iter().map(|(n, o)| (n.to_owned(), o)).collect()),
            members: Some(members),
            offline_since: None,
        }
    }

    #[test]
    fn an_offline_members_instances_are_unknown_never_missing() {
        let host = HostId::new();
        let snapshots: Snapshots = HashMap::from([(
            host,
            Arc::new(cluster(vec![
                ("on-m1", seen(StatusCode::RUNNING, "k1", "m1")),
                // How LXD lists an instance of a member it cannot reach.
                ("on-m2", seen(StatusCode::ERROR, "", "m2")),
            ])),
        )]);
        let status = |r: &Row| status_of(r, &snapshots).0;
        assert_eq!(status(&row(host, "on-m1", Some("m1"))), InstanceStatus::Running);
        assert_eq!(status(&row(host, "on-m2", Some("m2"))), InstanceStatus::Unknown);
        // Not listed at all, on the offline member: unknown; on the online one: missing.
        assert_eq!(status(&row(host, "gone-m2", Some("m2"))), InstanceStatus::Unknown);
        assert_eq!(status(&row(host, "gone-m1", Some("m1"))), InstanceStatus::Missing);
        assert!(reachable(&row(host, "on-m1", Some("m1")), &snapshots));
        assert!(!reachable(&row(host, "on-m2", Some("m2")), &snapshots));
        assert!(!reachable(&row(HostId::new(), "x", None), &snapshots), "a host never polled");
    }

    #[test]
    fn where_lxd_lists_an_instance_wins_over_where_it_was_placed() {
        let host = HostId::new();
        let placed = row(host, "c1", Some("m1"));
        assert_eq!(location_of(&placed, Some(&seen(StatusCode::RUNNING, "k", "m2"))).as_deref(), Some("m2"));
        assert_eq!(location_of(&placed, None).as_deref(), Some("m1"));
        let standalone = row(host, "c1", None);
        assert_eq!(location_of(&standalone, Some(&seen(StatusCode::RUNNING, "k", "none"))), None);
    }
}
