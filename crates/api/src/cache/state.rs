//! Memory and addresses, read container by container.
//!
//! LXD 5.0 computes a running container's state by forking `lxd forknet info` into it for its
//! network, ~32 ms of its CPU per container whether the containers are listed with
//! `recursion=2` or read one by one (100 containers: 3.06 s of LXD's CPU listed, 3.21 s read four
//! at a time). A listing answers only when its last container is done, with every figure as old
//! as its start: at 250 containers a host's memory was one listing old when it landed and two
//! when it was replaced, and a listing that ran over its bound took the whole host offline. Read
//! one by one, each figure carries its own time, the oldest is re-read first, and how long the
//! readings take says nothing about whether the host answers (the listing says that).
//!
//! One task per host ([`super::tasks`]). Every interval a round reads every running container the
//! host's snapshot has, oldest reading first, [`READERS`] at a time; a round that takes longer than
//! the interval is followed by the next at once, never overlapped, so LXD computes each
//! container's state at most once per interval. Between rounds, any change to the snapshots (a
//! job started containers, an event said one started) wakes the task to read the containers that
//! have no reading yet, so a new container's memory shows within one reading, not one round.
//! Readings are recorded every [`FLUSH`] rather than one by one: each recording is a change
//! that makes the overview render anew.
//!
//! Readings yield to jobs. LXD's CPU is what both need: while a deploy of 100 containers ran, the
//! readings of the containers it started took a deploy + start from 1.0× to 1.37× the time of the
//! same LXD calls made directly. So while a job of this server is making LXD changes to an
//! instance (each job step holds [`HostCache::changing`] for its host), that host's readings
//! wait; its status stays live (events, the job's own patches) and its memory figures show their
//! age. Jobs of other servers over the same database are not seen.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;

use super::HostCache;
use crate::state::AppState;

/// Containers of one host read at once: enough to keep LXD's cores busy (its work per reading is
/// one fork and a few cgroup reads), few enough to leave room for the jobs' calls.
const READERS: usize = 4;
/// How often readings in flight are recorded.
const FLUSH: Duration = Duration::from_millis(250);

/// One container's memory and addresses, and when they were asked for.
#[derive(Debug)]
pub(super) struct Reading {
    name: String,
    memory: u64,
    addresses: Vec<String>,
    at: Instant,
}

/// Which containers a pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every running container, oldest reading first.
    Round,
    /// Running containers with no reading yet.
    Unread,
}

/// Held while a job makes LXD changes on a host; its state readings wait until every such guard
/// is dropped.
#[derive(Debug)]
pub struct Changing<'a> {
    cache: &'a HostCache,
    host: HostId,
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.cache.changing.send_modify(|changing| {
            if let Some(n) = changing.get_mut(&self.host) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    changing.remove(&self.host);
                }
            }
        });
    }
}

impl HostCache {
    /// Says that a job is making LXD changes on `host` until the guard is dropped.
    pub fn changing(&self, host: HostId) -> Changing<'_> {
        self.changing.send_modify(|changing| *changing.entry(host).or_default() += 1);
        Changing { cache: self, host }
    }

    /// Waits until no job of this server is making changes on `host`.
    async fn idle(&self, host: HostId) {
        let mut changing = self.changing.subscribe();
        // The sender lives as long as `self`, so this only ends when the condition holds.
        let _ = changing.wait_for(|changing| !changing.contains_key(&host)).await;
    }

    /// How many state readings the cache has asked LXD for.
    pub fn state_reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// How many state readings are waiting for a job of this server to finish changing their
    /// host (tests wait on it: a round has taken its containers and holds).
    pub fn readings_waiting(&self) -> usize {
        // Only `idle` subscribes, and drops its receiver as soon as the host is idle.
        self.changing.receiver_count()
    }

    /// How many readings a round dropped because its host had stopped answering its listing.
    pub fn state_skips(&self) -> u64 {
        self.skips.load(Ordering::Relaxed)
    }

    /// Waits until every running container the cache knows on a host that answers has been read
    /// since `since` (tests and benchmarks wait on it, as on [`HostCache::refreshed_since`]).
    pub async fn read_since(&self, since: Instant) {
        loop {
            let generation = self.generation();
            if self.all().values().all(|snapshot| snapshot.read_since(since)) {
                return;
            }
            self.changed_since(generation).await;
        }
    }

    /// One host's reader, for as long as the host is registered.
    pub(super) async fn read_states(self: Arc<Self>, state: AppState, host: Host) {
        let interval = state.settings.cache_interval;
        loop {
            let round = tokio::time::Instant::now();
            self.read_pass(&state, &host, self.due(host.id, Pass::Round)).await;
            // Containers asked for between rounds: one whose reading failed is not asked again
            // before the next round.
            let mut tried = HashSet::new();
            loop {
                let generation = self.generation();
                tokio::select! {
                    _ = tokio::time::sleep_until(round + interval) => break,
                    _ = self.changed_since(generation) => {}
                }
                let unread: Vec<String> =
                    self.due(host.id, Pass::Unread).into_iter().filter(|n| !tried.contains(n)).collect();
                tried.extend(unread.iter().cloned());
                self.read_pass(&state, &host, unread).await;
            }
        }
    }

    /// Reads `names`, [`READERS`] at a time, recording the readings every [`FLUSH`].
    async fn read_pass(&self, state: &AppState, host: &Host, names: Vec<String>) {
        if names.is_empty() {
            return;
        }
        let client = match state.hosts.get(host, &state.identity) {
            Ok(client) => client,
            Err(e) => {
                tracing::debug!(host = %host.name, error = %format!("{e:#}"), "state reader: no client");
                return;
            }
        };
        let timeout = state.settings.lxd_probe_timeout * 4;
        let client = &client;
        let mut readings = futures::stream::iter(names)
            .map(|name| async move {
                self.idle(host.id).await;
                // A host the listing found offline meanwhile is not asked for the rest of the
                // round (each reading would wait out its timeout).
                if self.get(host.id).is_none_or(|s| s.instances.is_err()) {
                    self.skips.fetch_add(1, Ordering::Relaxed);
                    return Err((name, "the host does not answer its listing".to_owned()));
                }
                self.reads.fetch_add(1, Ordering::Relaxed);
                read(client, name, timeout).await
            })
            .buffer_unordered(READERS);
        let mut flush = tokio::time::interval(FLUSH);
        let mut batch = Vec::new();
        loop {
            tokio::select! {
                next = readings.next() => match next {
                    Some(Ok(reading)) => batch.push(reading),
                    Some(Err((name, why))) => {
                        tracing::debug!(host = %host.name, instance = %name, error = %why, "state reader: no reading");
                    }
                    None => break,
                },
                _ = flush.tick() => self.record(host.id, std::mem::take(&mut batch)),
            }
        }
        self.record(host.id, batch);
    }

    /// The host's containers to read in this pass: running, reachable, oldest reading first.
    fn due(&self, host: HostId, pass: Pass) -> Vec<String> {
        let Some(snapshot) = self.get(host) else { return Vec::new() };
        let mut due: Vec<(Option<Instant>, &String)> = snapshot
            .readable()
            .filter(|(_, o)| pass == Pass::Round || o.state_read.is_none())
            .map(|(name, o)| (o.state_read, name))
            .collect();
        // `None` (never read) sorts first.
        due.sort();
        due.into_iter().map(|(_, name)| name.clone()).collect()
    }

    /// Records readings in the host's snapshot, each on a container still running whose reading
    /// is older.
    pub(super) fn record(&self, host: HostId, readings: Vec<Reading>) {
        if readings.is_empty() {
            return;
        }
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        let recorded = hosts.edit(host, |seen| {
            let mut recorded = false;
            for reading in readings {
                if let Some(o) = seen.get_mut(&reading.name)
                    && o.status_code == lxd::StatusCode::RUNNING
                    && o.state_read.is_none_or(|before| before < reading.at)
                {
                    o.memory = reading.memory;
                    o.addresses = reading.addresses;
                    o.state_read = Some(reading.at);
                    recorded = true;
                }
            }
            recorded
        });
        drop(hosts);
        if recorded {
            self.changed();
        }
    }
}

impl super::Snapshot {
    /// The containers whose state can be read: running, on a host and member that answer.
    pub(super) fn readable(&self) -> impl Iterator<Item = (&String, &super::Observed)> {
        let seen = self.instances.as_ref().ok().into_iter().flatten();
        seen.filter(|(_, o)| o.status_code == lxd::StatusCode::RUNNING && !o.unreachable())
            .filter(|(_, o)| !self.member_down(&o.location))
    }

    /// Whether every readable container has been read since `since`.
    pub(super) fn read_since(&self, since: Instant) -> bool {
        self.readable().all(|(_, o)| o.state_read.is_some_and(|at| at >= since))
    }
}

/// Reads one container's state; why not, with its name, if LXD did not say or it is not running.
async fn read(client: &lxd::Client, name: String, timeout: Duration) -> Result<Reading, (String, String)> {
    let Ok(parsed) = lxd::InstanceName::parse(&name) else {
        return Err((name, "not a name LXD accepts".into()));
    };
    let at = Instant::now();
    let state = match tokio::time::timeout(timeout, client.instance_state(&parsed)).await {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => return Err((name, e.to_string())),
        Err(_) => return Err((name, format!("no answer within {} s", timeout.as_secs()))),
    };
    reading(name, state, at)
}

/// What a container's state says, if it is a reading.
fn reading(name: String, state: lxd::InstanceState, at: Instant) -> Result<Reading, (String, String)> {
    if state.status_code != lxd::StatusCode::RUNNING {
        return Err((name, format!("it is {} now", state.status)));
    }
    // LXD says 0 bytes when it could not read the container's cgroup (it drops the error; a
    // loaded CI run saw it): a running container always uses memory, so that is no reading and
    // the previous one stays, with its age.
    if state.memory.usage == 0 {
        return Err((name, "LXD could not read its memory (it said 0 bytes)".into()));
    }
    Ok(Reading { name, memory: state.memory.usage, addresses: addresses_of(state.network), at })
}

/// The addresses of every interface but loopback.
fn addresses_of(network: Option<std::collections::HashMap<String, lxd::NetworkState>>) -> Vec<String> {
    network
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| name != "lo")
        .flat_map(|(_, n)| n.addresses.into_iter().map(|a| a.address))
        .collect()
}

#[cfg(test)]
impl Reading {
    /// A reading for the cache's unit tests.
    pub(super) fn new(name: &str, memory: u64, at: Instant) -> Self {
        Reading { name: name.into(), memory, addresses: Vec::new(), at }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;
    use mosaic_types::HostId;

    use crate::cache::HostCache;

    #[test]
    fn a_running_container_said_to_use_no_memory_is_no_reading() {
        let state = |status: &str, code: u16, usage: u64| -> lxd::InstanceState {
            serde_json::from_value(serde_json::json!({
                "status": status, "status_code": code, "memory": {"usage": usage},
                "network": {"lo": {"addresses": [{"address": "127.0.0.1"}]},
                            "eth0": {"addresses": [{"address": "10.1.2.3"}]}},
            }))
            .unwrap()
        };
        let at = std::time::Instant::now();
        let read = super::reading("c1".into(), state("Running", 103, 4096), at).unwrap();
        assert_eq!((read.memory, read.addresses), (4096, vec!["10.1.2.3".to_owned()]));
        let (_, why) = super::reading("c1".into(), state("Running", 103, 0), at).unwrap_err();
        assert!(why.contains("could not read its memory"), "{why}");
        let (_, why) = super::reading("c1".into(), state("Stopped", 102, 0), at).unwrap_err();
        assert_eq!(why, "it is Stopped now");
    }

    #[test]
    fn readings_of_a_host_wait_while_a_job_changes_it() {
        let cache = HostCache::default();
        let (a, b) = (HostId::new(), HostId::new());
        assert!(cache.idle(a).now_or_never().is_some(), "no job: readings go on");
        let deploy = cache.changing(a);
        let another = (cache.changing(a), cache.changing(b));
        assert!(cache.idle(a).now_or_never().is_none());
        assert!(cache.idle(b).now_or_never().is_none());
        drop(another);
        assert!(cache.idle(b).now_or_never().is_some(), "b is no longer changed");
        assert!(cache.idle(a).now_or_never().is_none(), "the first job still changes a");
        drop(deploy);
        assert!(cache.idle(a).now_or_never().is_some());
    }
}
