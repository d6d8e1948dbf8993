//! LXD clients for registered hosts, built once per host and reused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use mosaic_db::models::hosts::Host;
use mosaic_types::HostId;
use mosaic_types::hosts::{HostStatus, HostTransport};

/// A cache of one `lxd::Client` per host: a client owns a connection pool and TLS session state,
/// so reusing it saves a handshake per call.
#[derive(Debug, Default)]
pub struct HostClients {
    clients: Mutex<HashMap<HostId, (Address, lxd::Client)>>,
}

/// Where and how a host is reached: a client is reused only while these stay the same (the
/// database is shared, and another server or an operator may have changed them).
type Address = (HostTransport, Option<String>, Option<String>, Option<String>);

fn address(host: &Host) -> Address {
    (host.transport, host.url.clone(), host.fingerprint.clone(), host.socket_path.clone())
}

impl HostClients {
    /// The client for `host`, built on first use and whenever its address changed.
    pub fn get(&self, host: &Host, identity: &lxd::Identity) -> anyhow::Result<lxd::Client> {
        let address = address(host);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, c)) = clients.get(&host.id)
            && *known == address
        {
            return Ok(c.clone());
        }
        let client = client_for(host, identity)?;
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

/// Asks a host who it is, within `timeout`; never fails: an unreachable host is `online: false`.
pub async fn probe(client: &lxd::Client, timeout: Duration) -> HostStatus {
    let answer = tokio::time::timeout(timeout, client.server()).await;
    let checked_at = Utc::now();
    match answer {
        Ok(Ok(server)) if server.is_trusted() => HostStatus {
            online: true,
            lxd_version: Some(server.environment.server_version),
            clustered: Some(server.environment.server_clustered),
            error: None,
            checked_at,
        },
        Ok(Ok(_)) => offline("the host no longer trusts Mosaic's certificate".into(), checked_at),
        Ok(Err(e)) => offline(e.to_string(), checked_at),
        Err(_) => offline(format!("no answer within {} s", timeout.as_secs()), checked_at),
    }
}

fn offline(error: String, checked_at: chrono::DateTime<Utc>) -> HostStatus {
    HostStatus { online: false, lxd_version: None, clustered: None, error: Some(error), checked_at }
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

/// Probes many hosts at once, each bounded by `timeout`; results in input order.
pub async fn probe_all(clients: &[Option<lxd::Client>], timeout: Duration) -> Vec<HostStatus> {
    let probes = clients.iter().map(|c| async move {
        match c {
            Some(c) => probe(c, timeout).await,
            None => offline("invalid stored connection details".into(), Utc::now()),
        }
    });
    futures::future::join_all(probes).await
}
