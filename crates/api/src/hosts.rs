//! LXD clients for registered hosts, built once per host and reused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use mosaic_types::hosts::{HostStatus, HostTransport};

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
/// changed them).
type Address = (HostTransport, Option<String>, Option<String>, Option<String>, String);

fn address(host: &Host) -> Address {
    (host.transport, host.url.clone(), host.fingerprint.clone(), host.socket_path.clone(), host.name.clone())
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

/// Builds a client from a host's stored connection details.
pub fn client_for(host: &Host, identity: &lxd::Identity) -> anyhow::Result<lxd::Client> {
    match host.transport.as_str() {
        "unix" => {
            let path = host.socket_path.as_deref().context("unix host without a socket path")?;
            Ok(lxd::Client::unix(path)?)
        }
        _ => {
            let url = host
                .url
                .as_deref()
                .context("https host without a URL")?
                .parse()
                .context("stored host URL")?;
            let fingerprint =
                host.fingerprint.as_deref().context("https host without a fingerprint")?.parse()?;
            Ok(lxd::Client::https(&url, fingerprint, Some(identity))?)
        }
    }
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
        };
    };
    HostStatus {
        online: snapshot.instances.is_ok(),
        lxd_version: snapshot.server.as_ref().map(|s| s.version.clone()),
        clustered: snapshot.server.as_ref().map(|s| s.clustered),
        error: snapshot.instances.as_ref().err().cloned(),
        checked_at: Some(snapshot.taken_at),
        events: crate::cache::StreamStatus::to_wire(None),
    }
}

/// Converts a stored host and its status to the wire type.
pub fn to_wire(host: Host, status: HostStatus) -> mosaic_types::hosts::Host {
    mosaic_types::hosts::Host {
        id: host.id,
        name: host.name,
        transport: host.transport,
        url: host.url,
        fingerprint: host.fingerprint,
        socket_path: host.socket_path,
        status,
        created_at: host.created_at,
    }
}
