//! LXD clients for registered hosts, built once per host and reused; what the API shows of a host.
//!
//! A host is one LXD daemon or one LXD cluster, in one LXD project. Its client carries the
//! project (every request says `?project=`) and, for a cluster, every member's URL: the members
//! share one certificate, so one pin covers them, and the client fails over to the next member
//! when the one in use stops answering.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use mosaic_types::hosts::{ClusterMember, HostStatus, HostTransport, MemberStatus};

use crate::config::Allowed;

/// A cache of one `lxd::Client` per host: a client owns a connection pool and TLS session state,
/// so reusing it saves a handshake per call.
#[derive(Debug, Default)]
pub struct HostClients {
    clients: Mutex<HashMap<HostId, (Address, lxd::Client)>>,
    /// Counts every LXD request of every client, labelled with the host's name.
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Where and how a host is reached, and its name (the metrics' label): a client is reused only
/// while these stay the same (the database is shared, and another server or an operator may have
/// changed them). The host cache restarts a host's background tasks when it changes.
pub(crate) type Address =
    (HostTransport, Option<String>, Option<String>, Option<String>, String, String, Vec<String>);

pub(crate) fn address(host: &Host) -> Address {
    (
        host.transport,
        host.url.clone(),
        host.fingerprint.clone(),
        host.socket_path.clone(),
        host.name.clone(),
        host.project.clone(),
        host.member_urls(),
    )
}

impl HostClients {
    /// Clients whose requests `metrics` counts.
    pub fn observed(metrics: Arc<crate::metrics::Metrics>) -> Self {
        HostClients { clients: Mutex::default(), metrics: Some(metrics) }
    }

    /// The name of every host a client was built for (the metrics label hosts by name).
    pub fn names(&self) -> HashMap<HostId, String> {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.iter().map(|(id, (address, _))| (*id, address.4.clone())).collect()
    }

    /// The client for `host`, built on first use and whenever its address changed.
    pub fn get(&self, host: &Host, identity: &lxd::Identity) -> anyhow::Result<lxd::Client> {
        let address = address(host);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, c)) = clients.get(&host.id)
            && *known == address
        {
            return Ok(c.clone());
        }
        let mut client = client_for(host, identity)?;
        if let Some(metrics) = &self.metrics {
            client = client.with_observer(metrics.lxd_observer(&host.name));
        }
        clients.insert(host.id, (address, client.clone()));
        Ok(client)
    }

    /// Forgets a host's client (after it is removed).
    pub fn forget(&self, id: HostId) {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }
}

/// Builds a client from a host's stored connection details: its project, and for a cluster every
/// member's URL (the registered one first).
pub fn client_for(host: &Host, identity: &lxd::Identity) -> anyhow::Result<lxd::Client> {
    let client = match host.transport {
        HostTransport::Unix => {
            let path = host.socket_path.as_deref().context("unix host without a socket path")?;
            lxd::Client::unix(path)?
        }
        HostTransport::Https => {
            let first = host.url.as_deref().context("https host without a URL")?;
            let mut urls: Vec<url::Url> = vec![first.parse().context("stored host URL")?];
            for member in host.member_urls() {
                let url: url::Url = member.parse().context("stored member URL")?;
                if !urls.iter().any(|u| same_place(u, &url)) {
                    urls.push(url);
                }
            }
            let fingerprint =
                host.fingerprint.as_deref().context("https host without a fingerprint")?.parse()?;
            lxd::Client::https_cluster(&urls, fingerprint, Some(identity))?
        }
    };
    Ok(client.in_project(&host.project))
}

/// Whether two URLs name the same server (scheme, host and port).
fn same_place(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The member URLs of a cluster Mosaic may use: `https://` ones other than `registered`, and with
/// an allow-list only IP literals inside it (a member list comes from the host, which must not be
/// able to steer Mosaic elsewhere). Sorted, so a stored list compares equal across polls.
pub fn member_urls(
    members: &[lxd::ClusterMember],
    registered: &str,
    allowlist: Option<&[Allowed]>,
) -> Vec<String> {
    let Ok(registered) = url::Url::parse(registered) else { return Vec::new() };
    let mut urls: Vec<String> = members
        .iter()
        .filter_map(|m| url::Url::parse(&m.url).ok())
        .filter(|u| u.scheme() == "https" && u.host_str().is_some() && !same_place(u, &registered))
        .filter(|u| allowlist.is_none_or(|allow| url_allowed(u, allow)))
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// Stores the member URLs of clustered hosts whose cluster changed since they were stored (a
/// member joined, left or moved), so the clients fail over to the members there are now. Rare;
/// a failed write is logged and tried again at the next poll.
pub async fn keep_member_urls(
    state: &crate::state::AppState,
    hosts: &[Host],
    polled: &[(HostId, crate::cache::Snapshot)],
) {
    let allowlist = state.settings.host_allowlist.as_deref();
    let changed: Vec<(HostId, Vec<String>)> = polled
        .iter()
        .filter_map(|(id, snapshot)| {
            let host = hosts.iter().find(|h| h.id == *id)?;
            let members = snapshot.members.as_ref()?;
            let urls = member_urls(members, host.url.as_deref()?, allowlist);
            (urls != host.member_urls()).then_some((*id, urls))
        })
        .collect();
    if changed.is_empty() {
        return;
    }
    let written = crate::db::query(&state.pool, move |conn| {
        for (id, urls) in &changed {
            Host::set_member_urls(conn, *id, urls)?;
        }
        Ok(())
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(error = ?e, "host cache: cannot store cluster member URLs");
    }
}

/// Whether an HTTPS URL's host is an IP literal inside one of the allowed networks (no DNS lookup
/// is ever made for the check).
pub fn url_allowed(url: &url::Url, allow: &[Allowed]) -> bool {
    let ip: Option<IpAddr> = url.host_str().and_then(|h| h.trim_matches(['[', ']']).parse().ok());
    ip.is_some_and(|ip| allow.iter().any(|a| matches!(a, Allowed::Network(net) if net.contains(&ip))))
}

/// Whether a unix socket path is one the allow-list names (exactly).
pub fn socket_allowed(path: &str, allow: &[Allowed]) -> bool {
    allow.iter().any(|a| matches!(a, Allowed::Socket(p) if p.as_os_str() == path))
}

/// A host's status as the host cache last saw it, with its event stream's.
pub fn status_in(cache: &crate::cache::HostCache, id: HostId) -> HostStatus {
    HostStatus { events: cache.events_of(id), ..status(cache.all().get(&id).map(|s| &**s)) }
}

/// A host's status as the host cache last saw it; a host not polled yet is offline, saying so.
/// Its event stream is left out (not live): [`status_in`] adds it.
pub fn status(snapshot: Option<&crate::cache::Snapshot>) -> HostStatus {
    let Some(snapshot) = snapshot else {
        return HostStatus {
            online: false,
            lxd_version: None,
            clustered: None,
            error: Some("not checked yet".into()),
            checked_at: None,
            events: crate::cache::StreamStatus::to_wire(None),
            offline_since: None,
        };
    };
    HostStatus {
        online: snapshot.instances.is_ok(),
        lxd_version: snapshot.server.as_ref().map(|s| s.version.clone()),
        clustered: snapshot.server.as_ref().map(|s| s.clustered),
        error: snapshot.instances.as_ref().err().cloned(),
        checked_at: Some(snapshot.taken_at),
        events: crate::cache::StreamStatus::to_wire(None),
        offline_since: snapshot.offline_since,
    }
}

/// The members of a clustered host as the host cache last saw them, by name (empty for a
/// standalone host, or before the first poll).
pub fn members(snapshot: Option<&crate::cache::Snapshot>) -> Vec<ClusterMember> {
    let mut members: Vec<ClusterMember> = snapshot
        .and_then(|s| s.members.as_ref())
        .into_iter()
        .flatten()
        .map(|m| ClusterMember {
            name: m.server_name.clone(),
            url: m.url.clone(),
            status: member_status(&m.status),
            message: m.message.clone(),
        })
        .collect();
    members.sort_by(|a, b| a.name.cmp(&b.name));
    members
}

/// LXD's member status in the API's words.
pub fn member_status(status: &lxd::MemberStatus) -> MemberStatus {
    match status {
        lxd::MemberStatus::Online => MemberStatus::Online,
        lxd::MemberStatus::Offline => MemberStatus::Offline,
        lxd::MemberStatus::Evacuated => MemberStatus::Evacuated,
        lxd::MemberStatus::Other(_) => MemberStatus::Unknown,
    }
}

/// Converts a stored host and what the host cache saw of it to the wire type.
pub fn to_wire(host: Host, cache: &crate::cache::HostCache) -> mosaic_types::hosts::Host {
    let snapshot = cache.all().get(&host.id).cloned();
    mosaic_types::hosts::Host {
        members: members(snapshot.as_deref()),
        status: status_in(cache, host.id),
        project: host.project,
        id: host.id,
        name: host.name,
        transport: host.transport,
        url: host.url,
        fingerprint: host.fingerprint,
        socket_path: host.socket_path,
        created_at: host.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, url: &str) -> lxd::ClusterMember {
        serde_json::from_value(serde_json::json!({"server_name": name, "url": url, "status": "Online"}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn member_urls_leave_out_the_registered_one_and_what_the_allowlist_forbids() {
        let members = [
            member("m1", "https://127.0.0.1:18445"),
            member("m2", "https://127.0.0.1:18446"),
            member("m3", "https://10.1.2.3:8443"),
            member("m4", "https://lxd.example:8443"),
            member("m5", "http://127.0.0.1:1"),
        ];
        let everything = member_urls(&members, "https://127.0.0.1:18445/", None);
        assert_eq!(
            everything,
            ["https://10.1.2.3:8443", "https://127.0.0.1:18446", "https://lxd.example:8443"]
        );
        let loopback: Vec<Allowed> = vec!["127.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
        assert_eq!(
            member_urls(&members, "https://127.0.0.1:18445", Some(&loopback)),
            ["https://127.0.0.1:18446"]
        );
    }

    #[test]
    fn sockets_are_allowed_by_exact_path() {
        let allow: Vec<Allowed> = ["127.0.0.0/8", "/var/lib/lxd/unix.socket"]
            .iter()
            .map(|a| a.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert!(socket_allowed("/var/lib/lxd/unix.socket", &allow));
        assert!(!socket_allowed("/var/lib/lxd/unix.socket2", &allow));
        assert!(!socket_allowed("/var/lib/lxd/../lxd/unix.socket", &allow));
    }
}
