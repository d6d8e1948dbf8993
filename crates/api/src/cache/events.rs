//! Fresh status from each host's event stream.
//!
//! The listing runs every few seconds (the cache interval), and status cannot wait that long:
//! someone stopping a container with `lxc` must show in the overview at once. So every host also
//! gets a subscription to its lifecycle events (`/1.0/events?type=lifecycle`, over the same
//! pinned TLS or socket as its requests), and each event about one of Mosaic's containers patches
//! the host's snapshot within milliseconds, through [`HostCache::apply`] (a poll that started
//! before the event cannot undo it).
//!
//! An event names a container and what happened to it. For a container the snapshot knows, the
//! action says its new status (`instance-started` → running, `instance-stopped` and
//! `instance-shutdown` → stopped, `instance-deleted` → gone, …). For one it does not know yet
//! (created behind Mosaic's back, or renamed), or an action that says no status
//! (`instance-updated`, `instance-restored`), one cheap `GET /1.0/instances/NAME` (no state)
//! tells whether it carries Mosaic's key and what its status is. Other events (exec, files,
//! snapshots, …) are ignored.
//!
//! A stream that drops is reconnected with back-off (1 s, doubling to 30 s); meanwhile the host's
//! status comes from polling alone, every cache interval, and the host's status says so
//! ([`StreamStatus`], shown in `GET /hosts` and `GET /v1/health`). Listing never stops: it
//! bounds how stale status can be when a stream died without a word (pings find that within
//! three ping intervals). After a reconnection the lister is woken, since events were missed
//! meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use mosaic_types::hosts::HostEvents;

use super::{Change, HostCache, Known};
use crate::labels::{DEPLOYMENT_KEY, INSTANCE_KEY, MANAGED_KEY};
use crate::state::AppState;

/// First wait before reconnecting a dropped stream; doubled after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a quiet stream is pinged: a stream that died silently is found within three of
/// these (status falls back to the poll interval meanwhile, never worse).
const PING: Duration = Duration::from_secs(5);

/// One host's event stream as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    /// Whether the stream is open now.
    pub connected: bool,
    /// Since when it is in that state.
    pub since: DateTime<Utc>,
    /// Why it is not open (the last failure), while it is not.
    pub error: Option<String>,
    /// When the next connection attempt is due, while it is not open.
    pub retry_at: Option<DateTime<Utc>>,
}

impl StreamStatus {
    /// The wire form; `None` (no stream tried yet) is not live, saying so.
    pub fn to_wire(status: Option<&StreamStatus>) -> HostEvents {
        match status {
            Some(s) => HostEvents {
                live: s.connected,
                error: s.error.clone(),
                since: Some(s.since),
                retry_at: s.retry_at,
            },
            None => HostEvents {
                live: false,
                error: Some("no event stream yet; status comes from polling".into()),
                since: None,
                retry_at: None,
            },
        }
    }
}

/// The event stream status of every host.
#[derive(Debug, Default)]
pub struct Streams {
    status: Mutex<HashMap<HostId, StreamStatus>>,
}

impl HostCache {
    /// Every host's event stream status.
    pub fn event_streams(&self) -> HashMap<HostId, StreamStatus> {
        self.streams.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One host's event stream status, in wire form.
    pub fn events_of(&self, host: HostId) -> HostEvents {
        StreamStatus::to_wire(self.streams.status.lock().unwrap_or_else(|e| e.into_inner()).get(&host))
    }

    fn set_stream(&self, host: HostId, status: StreamStatus) {
        self.streams.status.lock().unwrap_or_else(|e| e.into_inner()).insert(host, status);
    }

    /// Forgets a removed host's stream status.
    pub(super) fn forget_stream(&self, host: HostId) {
        self.streams.status.lock().unwrap_or_else(|e| e.into_inner()).remove(&host);
    }

    /// One host's stream, reconnected with back-off for as long as the host is registered.
    pub(super) async fn subscribe(self: Arc<Self>, state: AppState, host: Host) {
        let mut backoff = FIRST_BACKOFF;
        let mut ever = false;
        loop {
            let opened = match state.hosts.get(&host, &state.identity) {
                Ok(client) => client
                    .events_with_ping(&[lxd::EventType::Lifecycle], PING)
                    .await
                    .map(|stream| (client, stream))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("{e:#}")),
            };
            let error = match opened {
                Ok((client, mut stream)) => {
                    backoff = FIRST_BACKOFF;
                    let since = Utc::now();
                    self.set_stream(
                        host.id,
                        StreamStatus { connected: true, since, error: None, retry_at: None },
                    );
                    tracing::info!(host = %host.name, "host events: stream open");
                    if ever {
                        // Events were missed while the stream was down: re-list now.
                        self.poke();
                    }
                    ever = true;
                    let mut why = "the host closed the stream".to_owned();
                    while let Some(event) = stream.next().await {
                        match event {
                            Ok(event) => self.on_event(&state, &host, &client, &event).await,
                            Err(e) => why = e.to_string(),
                        }
                    }
                    why
                }
                Err(e) => e,
            };
            let retry_at = Utc::now() + chrono::Duration::from_std(backoff).unwrap_or_default();
            let since = match self.event_streams().get(&host.id) {
                Some(s) if !s.connected => s.since,
                _ => Utc::now(),
            };
            tracing::warn!(host = %host.name, error = %error, retry_in = ?backoff,
                "host events: no stream; status comes from polling until it is back");
            self.set_stream(
                host.id,
                StreamStatus {
                    connected: false,
                    since,
                    error: Some(format!(
                        "event stream down ({error}); status comes from polling every {} s",
                        state.settings.cache_interval.as_secs_f64()
                    )),
                    retry_at: Some(retry_at),
                },
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Applies one event to the host's snapshot, if it is about one of Mosaic's containers.
    async fn on_event(&self, state: &AppState, host: &Host, client: &lxd::Client, event: &lxd::Event) {
        let Some(lifecycle) = event.lifecycle() else { return };
        let Some(name) = lifecycle.instance_name() else { return };
        let action = lifecycle.action.as_str();
        let known = self.get(host.id).and_then(|s| s.instances.as_ref().ok()?.get(name).cloned());
        let keys = known.as_ref().map(|k| (k.deployment.clone(), k.instance.clone()));
        let mut changes = Vec::new();
        if action == "instance-renamed"
            && let Some(old) = lifecycle.context.get("old_name").and_then(|v| v.as_str())
        {
            changes.push(Change { name: old.to_owned(), now: None });
        }
        let change = match (status_after(action), keys) {
            (Some(Next::Gone), Some(_)) => Some(Change { name: name.to_owned(), now: None }),
            (Some(Next::Gone), None) => None,
            (Some(Next::Status(status_code)), Some((deployment, instance))) => {
                Some(Change { name: name.to_owned(), now: Some(Known { status_code, deployment, instance }) })
            }
            (Some(Next::Ask), _) | (Some(Next::Status(_)), None) => {
                ask(client, name, known.is_some(), state.settings.lxd_probe_timeout).await
            }
            (None, _) => None,
        };
        changes.extend(change);
        if changes.is_empty() {
            return;
        }
        if self.apply(host.id, changes) {
            state.metrics.host_event(&host.name, action);
        }
    }
}

/// What an action says about the container afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// This status.
    Status(lxd::StatusCode),
    /// It no longer exists.
    Gone,
    /// Nothing certain: ask LXD.
    Ask,
}

/// The status an instance lifecycle action leaves the instance in; `None` for actions that do
/// not change what the cache keeps (exec, files, snapshots, console, …).
fn status_after(action: &str) -> Option<Next> {
    use lxd::StatusCode as S;
    Some(match action {
        "instance-created" | "instance-stopped" | "instance-shutdown" => Next::Status(S::STOPPED),
        "instance-started" | "instance-restarted" | "instance-resumed" => Next::Status(S::RUNNING),
        "instance-paused" => Next::Status(S::FROZEN),
        "instance-deleted" => Next::Gone,
        "instance-renamed" | "instance-updated" | "instance-restored" => Next::Ask,
        _ => return None,
    })
}

/// Asks LXD about one container (config and status, no state: cheap); the change to make, if it
/// is (or was, per `known`) one of Mosaic's.
async fn ask(client: &lxd::Client, name: &str, known: bool, timeout: Duration) -> Option<Change> {
    let parsed = lxd::InstanceName::parse(name).ok()?;
    let gone = Change { name: name.to_owned(), now: None };
    match tokio::time::timeout(timeout, client.instance_config(&parsed)).await {
        Ok(Ok(instance)) if instance.config.get(MANAGED_KEY).is_some_and(|v| v == "true") => {
            let key = |k: &str| instance.config.get(k).cloned().unwrap_or_default();
            let now = Known {
                status_code: instance.status_code,
                deployment: key(DEPLOYMENT_KEY),
                instance: key(INSTANCE_KEY),
            };
            Some(Change { name: name.to_owned(), now: Some(now) })
        }
        // Not (or no longer) Mosaic's, or gone: forget it if the snapshot had it.
        Ok(Ok(_)) => known.then_some(gone),
        Ok(Err(e)) if e.is_not_found() => known.then_some(gone),
        // LXD could not say: the next poll will.
        Ok(Err(_)) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Next, status_after};

    #[test]
    fn actions_map_to_what_the_cache_keeps() {
        assert_eq!(status_after("instance-started"), Some(Next::Status(lxd::StatusCode::RUNNING)));
        assert_eq!(status_after("instance-shutdown"), Some(Next::Status(lxd::StatusCode::STOPPED)));
        assert_eq!(status_after("instance-stopped"), Some(Next::Status(lxd::StatusCode::STOPPED)));
        assert_eq!(status_after("instance-deleted"), Some(Next::Gone));
        assert_eq!(status_after("instance-updated"), Some(Next::Ask));
        assert_eq!(status_after("instance-exec"), None);
        assert_eq!(status_after("instance-log-retrieved"), None);
    }
}
