//! The per-host state cache: what LXD says about Mosaic's containers, refreshed in the background.
//!
//! Requests never ask LXD: they read the latest snapshot, so LXD's load depends on the number of
//! hosts, containers and the interval, not on how many people are looking. Every figure shown has
//! an age. Three sources feed a host's snapshot, each at the pace its cost allows:
//! - **the listing** ([`listing`]): one `recursion=1` call per host per interval, filtered
//!   to containers carrying Mosaic's key — names, status, config, devices, cluster member. It
//!   reads LXD's database only (~15 ms for 100 containers), so it also decides whether a host is
//!   online, and a full host cannot make it run late;
//! - **events** ([`events`]): each host's lifecycle stream patches status within milliseconds;
//! - **state readings** ([`state`]): memory and addresses cost LXD ~32 ms of CPU per running
//!   container (5.0 forks into each for its network state, and has no way to ask for memory
//!   alone), so they are read container by container in a rolling loop of their own per host,
//!   oldest reading first, a few at a time, each reading with its own time. A slow host delays
//!   its memory figures, never its status; a reading that fails keeps the last one.
//!
//! A cluster is one host: one listing covers every member (LXD gathers it), plus one read of the
//! members' status. A member that does not answer its peers has its instances listed with status
//! `Error` and no config, so the listing also asks for those (`or status eq Error`): they are
//! unknown, never missing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mosaic_types::HostId;
use tokio::sync::Notify;

mod events;
mod listing;
mod state;
mod tasks;
pub use events::StreamStatus;

/// One container as last seen.
#[derive(Debug, Clone)]
pub struct Observed {
    /// LXD's status code.
    pub status_code: lxd::StatusCode,
    /// Memory in use, bytes, as last read (0 before the first reading).
    pub memory: u64,
    /// Addresses, as last read.
    pub addresses: Vec<String>,
    /// When memory and addresses were read (when that request was sent): `None` until the state
    /// reader reached a container that just started, and for one not running.
    pub state_read: Option<Instant>,
    /// `user.mosaic.deployment`.
    pub deployment: String,
    /// `user.mosaic.instance`.
    pub instance: String,
    /// Mosaic's proxy devices for exposed ports (`mosaic-port-*`), by name, with where they
    /// listen: the routing reconciler compares them with what it wants.
    pub proxies: HashMap<String, String>,
    /// The cluster member it lives on (empty, or `none`, outside clusters).
    pub location: String,
}

impl Observed {
    /// Whether LXD could not reach the member it lives on: listed with status `Error` and none
    /// of its config (not even Mosaic's keys).
    pub fn unreachable(&self) -> bool {
        self.status_code == lxd::StatusCode::ERROR && self.instance.is_empty()
    }
}

/// What a host said about itself (`GET /1.0`), asked when the host is first seen and again
/// whenever it comes back after not answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    /// Its LXD version.
    pub version: String,
    /// Whether it is a cluster member.
    pub clustered: bool,
}

/// One host as last seen.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was taken.
    pub taken: Instant,
    /// The same, as a time of day (shown as when the host was last checked).
    pub taken_at: DateTime<Utc>,
    /// What the host said about itself, if it answered.
    pub server: Option<ServerFacts>,
    /// Containers by name, or why the host did not answer.
    pub instances: Result<HashMap<String, Observed>, String>,
    /// A clustered host's members with their status (`None` for a standalone host, or when the
    /// members could not be read).
    pub members: Option<Vec<lxd::ClusterMember>>,
    /// Since when the host has not answered, as this server saw it (`None` while it answers).
    pub offline_since: Option<DateTime<Utc>>,
}

impl Snapshot {
    /// Its age: that of the listing, which brings status (events keep status younger).
    pub fn age(&self) -> Duration {
        self.taken.elapsed()
    }

    /// The age of the figures shown for one container: status comes with the listing, memory and
    /// addresses of a running one with its own reading (a container just started and not read yet
    /// shows none, and counts as old as the listing).
    pub fn age_of(&self, seen: &Observed) -> Duration {
        let listed = self.age();
        match seen.state_read {
            Some(read) if seen.status_code == lxd::StatusCode::RUNNING => listed.max(read.elapsed()),
            _ => listed,
        }
    }

    /// The age of the oldest memory and address figures among the running containers (`None`
    /// when none runs, or the host did not answer).
    pub fn state_age(&self) -> Option<Duration> {
        let seen = self.instances.as_ref().ok()?;
        seen.values()
            .filter(|o| o.status_code == lxd::StatusCode::RUNNING)
            .map(|o| self.age_of(o))
            .reduce(Duration::max)
    }

    /// The age of the oldest figure shown for the given containers (those the snapshot has).
    pub fn oldest<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Duration {
        let Ok(seen) = &self.instances else { return self.age() };
        names.into_iter().filter_map(|n| seen.get(n)).map(|o| self.age_of(o)).fold(self.age(), Duration::max)
    }

    /// Whether cluster member `member` cannot be reached: it is not listed online or evacuated (an
    /// evacuated member still answers for its instances), or the members could not be read, so
    /// the state of what lives there is unknown. Always `false` outside clusters.
    pub fn member_down(&self, member: &str) -> bool {
        if member.is_empty() || member == "none" {
            return false;
        }
        match &self.members {
            Some(members) => !members.iter().any(|m| {
                m.server_name == member
                    && matches!(m.status, lxd::MemberStatus::Online | lxd::MemberStatus::Evacuated)
            }),
            None => self.server.as_ref().is_some_and(|s| s.clustered),
        }
    }
}

/// What a job did to one container, as the job knows it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The container's name.
    pub name: String,
    /// Its state now: `None` once it is deleted.
    pub now: Option<Known>,
}

/// A container's state as a job left it.
#[derive(Debug, Clone)]
pub struct Known {
    /// Running or stopped.
    pub status_code: lxd::StatusCode,
    /// `user.mosaic.deployment`.
    pub deployment: String,
    /// `user.mosaic.instance`.
    pub instance: String,
}

/// A change kept until a poll that started after it lands, so an older poll cannot undo it.
#[derive(Debug)]
struct Pending {
    at: Instant,
    change: Change,
}

#[derive(Debug, Default)]
struct Hosts {
    snapshots: HashMap<HostId, Arc<Snapshot>>,
    pending: HashMap<HostId, Vec<Pending>>,
}

impl Hosts {
    /// Replaces a host's snapshot with a copy whose containers `edit` changed (readers share
    /// snapshots, so one is never changed in place). `false`, and nothing replaced, when the host
    /// has no snapshot with containers or `edit` says it changed nothing.
    fn edit(&mut self, host: HostId, edit: impl FnOnce(&mut HashMap<String, Observed>) -> bool) -> bool {
        let Some(snapshot) = self.snapshots.get(&host) else { return false };
        let Ok(seen) = &snapshot.instances else { return false };
        let mut seen = seen.clone();
        if !edit(&mut seen) {
            return false;
        }
        let snapshot = Snapshot { instances: Ok(seen), ..(**snapshot).clone() };
        self.snapshots.insert(host, Arc::new(snapshot));
        true
    }
}

/// The cache.
#[derive(Debug)]
pub struct HostCache {
    hosts: RwLock<Hosts>,
    /// Wakes the refresher early.
    wake: Notify,
    /// When the latest full round of the background refresher started (tests wait on it).
    refreshed: tokio::sync::watch::Sender<Option<Instant>>,
    /// LXD listings made so far (the benchmark reports calls per minute).
    calls: std::sync::atomic::AtomicU64,
    /// State readings asked for so far.
    reads: std::sync::atomic::AtomicU64,
    /// State readings not asked for because the host stopped answering its listing mid-round.
    skips: std::sync::atomic::AtomicU64,
    /// Jobs of this server changing each host now: state readings wait for them ([`state`]).
    changing: tokio::sync::watch::Sender<HashMap<HostId, usize>>,
    /// Counts changes to the snapshots (see [`HostCache::generation`]).
    generation: std::sync::atomic::AtomicU64,
    /// The same count, for waiting on a change ([`HostCache::changed_since`]).
    changes: tokio::sync::watch::Sender<u64>,
    /// Each host's event stream.
    streams: events::Streams,
}

impl Default for HostCache {
    fn default() -> Self {
        HostCache {
            hosts: RwLock::default(),
            wake: Notify::new(),
            refreshed: tokio::sync::watch::channel(None).0,
            calls: std::sync::atomic::AtomicU64::new(0),
            reads: std::sync::atomic::AtomicU64::new(0),
            skips: std::sync::atomic::AtomicU64::new(0),
            changing: tokio::sync::watch::channel(HashMap::new()).0,
            generation: std::sync::atomic::AtomicU64::new(0),
            changes: tokio::sync::watch::channel(0).0,
            streams: events::Streams::default(),
        }
    }
}

impl HostCache {
    /// How many times the snapshots changed: readers that keep something computed from them
    /// (the overview memo) compare it to know whether it is still current.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn changed(&self) {
        let now = self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        self.changes.send_replace(now);
    }

    /// Waits until the snapshots changed after [`HostCache::generation`] said `generation`.
    pub async fn changed_since(&self, generation: u64) {
        let mut changes = self.changes.subscribe();
        // The sender lives as long as `self`, so this only ends when the condition holds.
        let _ = changes.wait_for(|now| *now > generation).await;
    }

    /// The latest snapshot of every host.
    pub fn all(&self) -> HashMap<HostId, Arc<Snapshot>> {
        self.hosts.read().unwrap_or_else(|e| e.into_inner()).snapshots.clone()
    }

    /// The latest snapshot of one host.
    pub fn get(&self, host: HostId) -> Option<Arc<Snapshot>> {
        self.hosts.read().unwrap_or_else(|e| e.into_inner()).snapshots.get(&host).cloned()
    }

    /// Applies what a job did (or an event said) to a host's snapshot, without asking LXD: a
    /// finished job's changes show at once. Memory and addresses of a container that just started
    /// come with its first reading, which the change itself prompts ([`state`]).
    /// `false` if the host has no snapshot to patch (never polled, or it did not answer).
    pub fn apply(&self, host: HostId, changes: Vec<Change>) -> bool {
        let at = Instant::now();
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        let patched = hosts.edit(host, |seen| {
            changes.iter().for_each(|change| patch(seen, change));
            true
        });
        if !patched {
            return false;
        }
        hosts
            .pending
            .entry(host)
            .or_default()
            .extend(changes.into_iter().map(|change| Pending { at, change }));
        drop(hosts);
        self.changed();
        true
    }

    /// Forgets a host (after it is removed).
    pub fn forget(&self, id: HostId) {
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        hosts.snapshots.remove(&id);
        hosts.pending.remove(&id);
        drop(hosts);
        self.changed();
    }
}

/// Applies one job change to a host's containers. A container that keeps running keeps its last
/// memory and addresses; one that just started shows none until its first reading.
fn patch(seen: &mut HashMap<String, Observed>, change: &Change) {
    let Some(known) = &change.now else {
        seen.remove(&change.name);
        return;
    };
    let running = known.status_code == lxd::StatusCode::RUNNING;
    let (memory, addresses, state_read) = match seen.get(&change.name) {
        Some(before) if running && before.status_code == lxd::StatusCode::RUNNING => {
            (before.memory, before.addresses.clone(), before.state_read)
        }
        _ => (0, Vec::new(), None),
    };
    let proxies = seen.get(&change.name).map(|before| before.proxies.clone()).unwrap_or_default();
    let location = seen.get(&change.name).map(|before| before.location.clone()).unwrap_or_default();
    let observed = Observed {
        status_code: known.status_code,
        memory,
        addresses,
        state_read,
        proxies,
        deployment: known.deployment.clone(),
        instance: known.instance.clone(),
        location,
    };
    seen.insert(change.name.clone(), observed);
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Instant;

    use chrono::Utc;
    use lxd::StatusCode;
    use mosaic_types::HostId;

    use super::{Change, HostCache, Known, Observed, Snapshot};

    fn seen(status_code: StatusCode, memory: u64) -> Observed {
        Observed {
            status_code,
            memory,
            addresses: vec![],
            state_read: None,
            deployment: "d".into(),
            instance: "i".into(),
            proxies: HashMap::new(),
            location: String::new(),
        }
    }

    fn poll(taken: Instant, c1: Observed) -> Snapshot {
        Snapshot {
            taken,
            taken_at: Utc::now(),
            server: None,
            instances: Ok(HashMap::from([("c1".to_owned(), c1)])),
            members: None,
            offline_since: None,
        }
    }

    fn started() -> Change {
        let known = Known { status_code: StatusCode::RUNNING, deployment: "d".into(), instance: "i".into() };
        Change { name: "c1".into(), now: Some(known) }
    }

    fn c1(cache: &HostCache, host: HostId) -> Option<(StatusCode, u64)> {
        let all = cache.all();
        let seen = all[&host].instances.as_ref().ok()?.get("c1")?.clone();
        Some((seen.status_code, seen.memory))
    }

    fn read(cache: &HostCache, host: HostId, memory: u64, at: Instant) {
        cache.record(host, vec![super::state::Reading::new("c1", memory, at)]);
    }

    #[test]
    fn memory_comes_with_readings_and_outlives_listings_while_the_container_runs() {
        let cache = HostCache::default();
        let host = HostId::new();
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::RUNNING, 0)))]);
        let first = Instant::now();
        read(&cache, host, 42, first);
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 42)));
        assert!(cache.all()[&host].state_age().is_some());

        // A listing brings no memory: the reading stays while the container runs, and the
        // container's figures are as old as the reading, older than the listing.
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::RUNNING, 0)))]);
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 42)));
        let snapshot = cache.all()[&host].clone();
        let floor = first.elapsed();
        let c1_seen = snapshot.instances.as_ref().ok().and_then(|s| s.get("c1")).cloned();
        assert!(c1_seen.is_some_and(|o| snapshot.age_of(&o) >= floor));
        assert!(snapshot.oldest(["c1"]) >= floor);
        assert!(snapshot.state_age().is_some_and(|age| age >= floor));

        // A reading older than the one recorded does not replace it; a newer one does.
        read(&cache, host, 7, first - std::time::Duration::from_millis(1));
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 42)));
        read(&cache, host, 43, Instant::now());
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 43)));

        // Stopped: the reading goes, and a late one for it is not recorded.
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::STOPPED, 0)))]);
        assert_eq!(c1(&cache, host), Some((StatusCode::STOPPED, 0)));
        read(&cache, host, 44, Instant::now());
        assert_eq!(c1(&cache, host), Some((StatusCode::STOPPED, 0)));
        assert_eq!(cache.all()[&host].state_age(), None, "nothing runs");

        // Started again: no figure until its first reading.
        assert!(cache.apply(host, vec![started()]));
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 0)));
        let since = Instant::now();
        assert!(!cache.all()[&host].read_since(since));
        read(&cache, host, 45, since);
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 45)));
        assert!(cache.all()[&host].read_since(since));
    }

    #[test]
    fn a_jobs_change_shows_at_once_and_survives_a_poll_older_than_it() {
        let cache = HostCache::default();
        let host = HostId::new();
        assert!(!cache.apply(host, vec![started()]), "nothing to patch before the first poll");

        let before = Instant::now();
        cache.store(vec![(host, poll(before, seen(StatusCode::STOPPED, 0)))]);
        assert!(cache.apply(host, vec![started()]));
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 0)));

        // A poll that started before the change (it saw the container stopped) lands late.
        cache.store(vec![(host, poll(before, seen(StatusCode::STOPPED, 0)))]);
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 0)));

        // A poll that started after it is the truth, and the change is dropped.
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::RUNNING, 42)))]);
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 42)));
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::STOPPED, 0)))]);
        assert_eq!(c1(&cache, host), Some((StatusCode::STOPPED, 0)));

        // A deletion removes it; a running container that stays running keeps its memory.
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::RUNNING, 42)))]);
        assert!(cache.apply(host, vec![started()]));
        assert_eq!(c1(&cache, host), Some((StatusCode::RUNNING, 42)));
        assert!(cache.apply(host, vec![Change { name: "c1".into(), now: None }]));
        assert_eq!(c1(&cache, host), None);
    }

    #[test]
    fn a_host_that_did_not_answer_is_not_patched() {
        let cache = HostCache::default();
        let host = HostId::new();
        let down = || Snapshot {
            taken: Instant::now(),
            taken_at: Utc::now(),
            server: None,
            instances: Err("down".into()),
            members: None,
            offline_since: None,
        };
        cache.store(vec![(host, down())]);
        assert!(!cache.apply(host, vec![started()]));
        // It stays offline since the first poll that found it so.
        let since = cache.all()[&host].offline_since;
        assert!(since.is_some());
        cache.store(vec![(host, down())]);
        assert_eq!(cache.all()[&host].offline_since, since);
        cache.store(vec![(host, poll(Instant::now(), seen(StatusCode::RUNNING, 1)))]);
        assert_eq!(cache.all()[&host].offline_since, None);
    }

    #[test]
    fn a_member_is_down_unless_listed_and_not_offline() {
        let members: Vec<lxd::ClusterMember> = serde_json::from_str(
            r#"[{"server_name": "m1", "status": "Online"}, {"server_name": "m2", "status": "Offline"},
                {"server_name": "m3", "status": "Evacuated"}]"#,
        )
        .unwrap_or_default();
        let clustered = Some(super::ServerFacts { version: "5.0.2".into(), clustered: true });
        let mut snapshot = poll(Instant::now(), seen(StatusCode::RUNNING, 1));
        assert!(!snapshot.member_down("m1"), "outside clusters nothing is down");
        snapshot.server = clustered;
        assert!(snapshot.member_down("m1"), "members not read: cannot tell");
        snapshot.members = Some(members);
        assert!(!snapshot.member_down("m1"));
        assert!(snapshot.member_down("m2"));
        assert!(!snapshot.member_down("m3"), "an evacuated member still answers for its instances");
        assert!(snapshot.member_down("m9"), "a member the cluster no longer has");
        assert!(!snapshot.member_down("none") && !snapshot.member_down(""));

        // A poll that cannot read the members keeps the list, every member's status unknown.
        let cache = HostCache::default();
        let host = HostId::new();
        cache.store(vec![(host, snapshot)]);
        let mut unread = poll(Instant::now(), seen(StatusCode::RUNNING, 1));
        unread.server = Some(super::ServerFacts { version: "5.0.2".into(), clustered: true });
        cache.store(vec![(host, unread)]);
        let kept = cache.all()[&host].clone();
        let names: Vec<&str> = kept.members.iter().flatten().map(|m| m.server_name.as_str()).collect();
        assert_eq!(names, ["m1", "m2", "m3"]);
        assert!(kept.member_down("m1"), "a member whose status is unknown counts as down");
    }
}
