//! `GET /1.0`: who the server is.

use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;

/// The server's self-description (`GET /1.0`).
///
/// An untrusted client sees only the API fields and `auth: "untrusted"`; `environment` is then
/// empty, which is why every field defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    /// API extensions the server supports (feature detection, as LXD's Go client does).
    #[serde(default)]
    pub api_extensions: Vec<String>,
    /// `stable` for released servers.
    #[serde(default)]
    pub api_status: String,
    /// `1.0`.
    #[serde(default)]
    pub api_version: String,
    /// `trusted` or `untrusted`: whether our client certificate is in the trust store.
    #[serde(default)]
    pub auth: String,
    /// Details only a trusted client sees.
    #[serde(default)]
    pub environment: ServerEnvironment,
}

/// The part of `GET /1.0` visible to trusted clients.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerEnvironment {
    /// LXD's version, e.g. `5.0.2`.
    #[serde(default)]
    pub server_version: String,
    /// SHA-256 of the server certificate, lowercase hex.
    #[serde(default)]
    pub certificate_fingerprint: String,
    /// The server certificate (PEM): what another host needs to pull this server's public images
    /// over the `lxd` protocol ([`crate::RemoteImage::with_certificate`]).
    #[serde(default)]
    pub certificate: String,
    /// Whether the server is a cluster member.
    #[serde(default)]
    pub server_clustered: bool,
    /// The server's name (its hostname, or its cluster member name).
    #[serde(default)]
    pub server_name: String,
    /// Addresses the API listens on.
    #[serde(default)]
    pub addresses: Vec<String>,
}

impl Server {
    /// Whether the server trusts our client certificate.
    pub fn is_trusted(&self) -> bool {
        self.auth == "trusted"
    }

    /// Whether the server supports an API extension.
    pub fn has_extension(&self, name: &str) -> bool {
        self.api_extensions.iter().any(|e| e == name)
    }
}

impl Client {
    /// `GET /1.0`.
    pub async fn server(&self) -> Result<Server> {
        self.get("/1.0", &[]).await
    }
}
