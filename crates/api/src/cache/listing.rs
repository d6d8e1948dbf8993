//! The listing: one cheap `recursion=1` call per host per interval, which says which of Mosaic's
//! containers exist, their status, config, devices and cluster member, and whether the host
//! answers at all (a host that does not answer within the bound is offline).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;

use super::{HostCache, Observed, Pending, ServerFacts, Snapshot, patch};
use crate::db;
use crate::labels::{DEPLOYMENT_KEY, INSTANCE_KEY, MANAGED_KEY};
use crate::state::AppState;

impl HostCache {
    /// Waits until a full round of the background refresher that started after `since` has landed.
    pub async fn refreshed_since(&self, since: Instant) {
        let mut refreshed = self.refreshed.subscribe();
        // The sender lives as long as `self`, so this only ends when the condition holds.
        let _ = refreshed.wait_for(|at| at.is_some_and(|at| at >= since)).await;
    }

    /// How many LXD listings the cache has made (state readings: [`HostCache::state_reads`]).
    pub fn lxd_calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Refreshes the given hosts now, concurrently. A job calls this for hosts whose outcome it
    /// cannot vouch for (an item failed, or nothing to patch), before reporting that it finished.
    pub async fn refresh(&self, state: &AppState, hosts: &[Host]) {
        let timeout = state.settings.lxd_probe_timeout;
        let before = self.all();
        let polls = hosts.iter().map(|host| {
            // A host that answered last time is not asked who it is again.
            let known = before.get(&host.id).filter(|s| s.instances.is_ok()).and_then(|s| s.server.clone());
            async move {
                let (taken, taken_at) = (Instant::now(), Utc::now());
                let polled = match state.hosts.get(host, &state.identity) {
                    Ok(client) => poll(&client, known, timeout).await,
                    Err(e) => Polled { server: None, members: None, instances: Err(format!("{e:#}")) },
                };
                let Polled { server, members, instances } = polled;
                let snapshot = Snapshot { taken, taken_at, server, instances, members, offline_since: None };
                (host.id, snapshot)
            }
        });
        let results = futures::future::join_all(polls).await;
        self.calls.fetch_add(results.len() as u64, std::sync::atomic::Ordering::Relaxed);
        crate::hosts::keep_member_urls(state, hosts, &results).await;
        self.store(results);
    }

    /// Stores polled snapshots. Jobs' changes made after a poll started are newer than what it saw
    /// and stay applied on top of it; containers running before and now keep their last state
    /// reading (the listing brings none).
    pub(super) fn store(&self, results: Vec<(HostId, Snapshot)>) {
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        for (id, mut snapshot) in results {
            let before = hosts.snapshots.get(&id);
            if let (Ok(seen), Some(Ok(was))) = (&mut snapshot.instances, before.map(|b| &b.instances)) {
                keep_readings(seen, was);
            }
            if snapshot.instances.is_err() {
                let since = before.filter(|s| s.instances.is_err()).and_then(|s| s.offline_since);
                snapshot.offline_since = Some(since.unwrap_or(snapshot.taken_at));
            }
            if snapshot.members.is_none()
                && let Some(known) = before.and_then(|s| s.members.as_ref())
            {
                // A cluster whose members could not be read this time keeps its member list, each
                // member's status unknown (and so treated as down) until the next read.
                snapshot.members = Some(known.iter().cloned().map(unread).collect());
            }
            let newer: Vec<Pending> = hosts
                .pending
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.at > snapshot.taken)
                .collect();
            if let Ok(seen) = &mut snapshot.instances {
                for p in &newer {
                    patch(seen, &p.change);
                }
            }
            if !newer.is_empty() {
                hosts.pending.insert(id, newer);
            }
            hosts.snapshots.insert(id, Arc::new(snapshot));
        }
        drop(hosts);
        self.changed();
    }

    /// Asks the background refresher to run now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// The background lister: every host, every `interval` (from the start of one round to the
    /// start of the next, so status without events is at most one interval plus one listing old).
    pub async fn run(self: Arc<Self>, state: AppState, interval: Duration) {
        loop {
            let next = tokio::time::Instant::now() + interval;
            match db::query(&state.pool, Host::all).await {
                Ok(hosts) => {
                    {
                        let mut cached = self.hosts.write().unwrap_or_else(|e| e.into_inner());
                        cached.snapshots.retain(|id, _| hosts.iter().any(|h| h.id == *id));
                        cached.pending.retain(|id, _| hosts.iter().any(|h| h.id == *id));
                    }
                    let round = Instant::now();
                    self.refresh(&state, &hosts).await;
                    self.refreshed.send_replace(Some(round));
                }
                Err(e) => tracing::warn!(error = ?e, "host cache: cannot read the hosts"),
            }
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

/// Carries the last state reading of each container that was running and still is over to a new
/// listing.
fn keep_readings(seen: &mut HashMap<String, Observed>, was: &HashMap<String, Observed>) {
    for (name, now) in seen.iter_mut() {
        if let Some(before) = was.get(name).filter(|b| b.state_read.is_some())
            && now.status_code == lxd::StatusCode::RUNNING
            && before.status_code == lxd::StatusCode::RUNNING
        {
            now.memory = before.memory;
            now.addresses.clone_from(&before.addresses);
            now.state_read = before.state_read;
        }
    }
}

/// A member as last seen, its status now unknown.
fn unread(mut member: lxd::ClusterMember) -> lxd::ClusterMember {
    if !matches!(member.status, lxd::MemberStatus::Other(_)) {
        member.message = format!("not read at the last poll (it was {}: {})", member.status, member.message);
        member.status = lxd::MemberStatus::Other("Unknown".into());
    }
    member
}

/// Why a host that answers is still offline to Mosaic.
const NOT_TRUSTED: &str = "the host no longer trusts Mosaic's certificate";

/// What one poll of a host found.
struct Polled {
    server: Option<ServerFacts>,
    members: Option<Vec<lxd::ClusterMember>>,
    instances: Result<HashMap<String, Observed>, String>,
}

/// Asks a host who it is (unless `known`), a cluster for its members, and lists Mosaic's
/// containers on it.
async fn poll(client: &lxd::Client, known: Option<ServerFacts>, timeout: Duration) -> Polled {
    let failed = |e: String| Polled { server: None, members: None, instances: Err(e) };
    let server = match known {
        Some(facts) => facts,
        None => match tokio::time::timeout(timeout, client.server()).await {
            Ok(Ok(server)) if server.is_trusted() => ServerFacts {
                version: server.environment.server_version,
                clustered: server.environment.server_clustered,
            },
            Ok(Ok(_)) => return failed(NOT_TRUSTED.into()),
            Ok(Err(e)) => return failed(e.to_string()),
            Err(_) => return failed(format!("no answer within {} s", timeout.as_secs())),
        },
    };
    let members = match server.clustered {
        // Unknown members make every clustered instance unknown rather than missing; the listing
        // still tells what it can.
        true => tokio::time::timeout(timeout, client.cluster_members()).await.ok().and_then(Result::ok),
        false => None,
    };
    match list(client, server.clustered, timeout).await {
        Ok(instances) => Polled { server: Some(server), members, instances: Ok(instances) },
        Err(e) => failed(e),
    }
}

async fn list(
    client: &lxd::Client,
    clustered: bool,
    timeout: Duration,
) -> Result<HashMap<String, Observed>, String> {
    let mut filter = lxd::InstanceFilter::config_eq(MANAGED_KEY, "true").map_err(|e| e.to_string())?;
    if clustered {
        filter = filter.or_status("Error").map_err(|e| e.to_string())?;
    }
    let listed = tokio::time::timeout(timeout * 4, client.instances_without_state(Some(&filter)))
        .await
        .map_err(|_| format!("no answer within {} s", (timeout * 4).as_secs()))?
        .map_err(|e| if e.is_forbidden() { NOT_TRUSTED.to_owned() } else { e.to_string() })?;
    Ok(listed
        .into_iter()
        .map(|i| {
            let proxies = crate::routing::desired::proxies_of(&i.devices);
            let observed = Observed {
                status_code: i.status_code,
                memory: 0,
                addresses: Vec::new(),
                state_read: None,
                proxies,
                deployment: i.config.get(DEPLOYMENT_KEY).cloned().unwrap_or_default(),
                instance: i.config.get(INSTANCE_KEY).cloned().unwrap_or_default(),
                location: i.location,
            };
            (i.name, observed)
        })
        .collect())
}
