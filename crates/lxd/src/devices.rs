//! Devices on an existing instance: adding one (e.g. a proxy device that exposes a port inside
//! the container on the host) and removing it again.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use reqwest::header;
use serde_json::{Value, json};

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::name::InstanceName;
use crate::operation::Operation;
use crate::response::Response;

/// How often a device removal re-reads the instance when someone changed it in between.
const REMOVE_ATTEMPTS: usize = 3;

/// Which side of a proxy device listens (`bind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyBind {
    /// The host listens and connections go into the instance (expose a port of the guest).
    Host,
    /// The instance listens and connections go out to the host (reach a host service).
    Instance,
}

impl ProxyBind {
    /// LXD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyBind::Host => "host",
            ProxyBind::Instance => "instance",
        }
    }
}

/// An LXD proxy device: forwards connections from `listen` to `connect` across the container's
/// boundary, the way Mosaic reaches guests that have no network of their own.
///
/// Addresses are LXD's `<type>:<addr>:<port>` strings, e.g. `tcp:127.0.0.1:8080`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyDevice {
    /// Where connections are accepted (on the host for [`ProxyBind::Host`]).
    pub listen: String,
    /// Where they are forwarded to (inside the instance for [`ProxyBind::Host`]).
    pub connect: String,
    /// Which side listens.
    pub bind: ProxyBind,
}

impl ProxyDevice {
    /// A TCP proxy listening on the host at `listen` and connecting to `connect` inside the
    /// instance (`bind=host`), e.g. to put a guest's web server behind a load balancer.
    pub fn tcp_to_instance(listen: std::net::SocketAddr, connect: std::net::SocketAddr) -> Self {
        ProxyDevice {
            listen: format!("tcp:{listen}"),
            connect: format!("tcp:{connect}"),
            bind: ProxyBind::Host,
        }
    }

    /// A TCP proxy listening inside the instance at `listen` and connecting to `connect` on the
    /// host (`bind=instance`), e.g. for a guest to reach a service on the host's loopback.
    pub fn tcp_to_host(listen: std::net::SocketAddr, connect: std::net::SocketAddr) -> Self {
        ProxyDevice {
            listen: format!("tcp:{listen}"),
            connect: format!("tcp:{connect}"),
            bind: ProxyBind::Instance,
        }
    }

    /// The device as LXD's map of strings (`type: proxy`, `listen`, `connect`, `bind`).
    pub fn to_device(&self) -> BTreeMap<String, String> {
        [
            ("type", "proxy"),
            ("listen", self.listen.as_str()),
            ("connect", self.connect.as_str()),
            ("bind", self.bind.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

impl From<&ProxyDevice> for BTreeMap<String, String> {
    fn from(device: &ProxyDevice) -> Self {
        device.to_device()
    }
}

impl fmt::Display for ProxyDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proxy {} -> {} (bind={})", self.listen, self.connect, self.bind.as_str())
    }
}

fn check_device_name(device: &str) -> Result<()> {
    let ok = !device.is_empty()
        && device.len() <= 64
        && device.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("device name", format!("{device:?} needs 1-64 of [A-Za-z0-9-_.]")))
    }
}

impl Client {
    /// Adds (or replaces) the instance's own device `device` (`PATCH`, which merges `devices`).
    ///
    /// LXD applies it at once, also to a running instance (a proxy device starts listening), and
    /// answers synchronously, so there is no operation to wait for.
    pub async fn add_device(
        &self,
        name: &InstanceName,
        device: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        check_device_name(device)?;
        let body = json!({ "devices": { device: config } });
        self.sync(Method::PATCH, &format!("/1.0/instances/{name}"), Some(&body)).await.map(drop)
    }

    /// Removes the instance's own device `device`; `Ok(None)` if it has none of that name.
    ///
    /// LXD cannot remove a device with `PATCH` (it merges), so this reads the instance, drops the
    /// device and writes the instance back with `PUT` and `If-Match` on the `ETag` read, so a
    /// concurrent change is never overwritten (the read is retried when LXD answers 412).
    pub async fn remove_device(&self, name: &InstanceName, device: &str) -> Result<Option<Operation>> {
        check_device_name(device)?;
        let path = format!("/1.0/instances/{name}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (answer, headers) = self.call(Call::new(Method::GET, &path)).await?;
            let Response::Sync(mut instance) = answer else {
                return Err(Error::Protocol(format!("expected the instance from {path}")));
            };
            let etag = headers.get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let removed = instance
                .get_mut("devices")
                .and_then(Value::as_object_mut)
                .and_then(|devices| devices.remove(device));
            if removed.is_none() {
                return Ok(None);
            }
            let mut call = Call::new(Method::PUT, &path).json(Some(&instance))?;
            if let Some(etag) = etag {
                call = call.header(header::IF_MATCH, etag);
            }
            match self.operation_call(call).await {
                Err(Error::Api { status: 412, .. }) if attempt < REMOVE_ATTEMPTS => continue,
                other => return other.map(Some),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_device_renders_lxds_map() {
        let device =
            ProxyDevice::tcp_to_instance("127.0.0.1:18080".parse().unwrap(), "127.0.0.1:80".parse().unwrap());
        let map = device.to_device();
        assert_eq!(map["type"], "proxy");
        assert_eq!(map["listen"], "tcp:127.0.0.1:18080");
        assert_eq!(map["connect"], "tcp:127.0.0.1:80");
        assert_eq!(map["bind"], "host");
        assert_eq!(
            ProxyDevice::tcp_to_host("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap()).bind,
            ProxyBind::Instance
        );
        assert!(check_device_name("web-80").is_ok());
        assert!(check_device_name("../x").is_err());
        assert!(check_device_name("").is_err());
    }
}
