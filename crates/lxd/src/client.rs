//! One LXD host, reached over HTTPS (mutual TLS, pinned certificate) or its unix socket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::identity::Identity;
use crate::operation::Operation;
use crate::response::{self, Response};
use crate::tls;

/// How long a plain request (not an operation wait) may take before we call the host unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a TCP connection: LXD on a reachable host answers in milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client for one LXD host.
///
/// Cheap to clone: the connection pool and TLS configuration are shared, and built once per host.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    project: Option<Arc<str>>,
    pinned: Option<Fingerprint>,
}

impl Client {
    /// A client for `url` (e.g. `https://10.0.0.5:8443`) that accepts only the server certificate
    /// whose SHA-256 fingerprint is `pinned`, presenting `identity` as its client certificate.
    ///
    /// `identity` may be `None` to talk to a server that does not trust us yet (to read its
    /// public `GET /1.0`, or to join it with a trust token or password).
    pub fn https(url: &Url, pinned: Fingerprint, identity: Option<&Identity>) -> Result<Self> {
        if url.scheme() != "https" {
            return Err(Error::invalid("LXD URL", format!("{url} is not an https:// URL")));
        }
        let config = tls::client_config(pinned, identity)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| Error::invalid("HTTP client", e.to_string()))?;
        Ok(Client { http, base: base_of(url), project: None, pinned: Some(pinned) })
    }

    /// A client for a local daemon's unix socket (e.g. `/var/lib/lxd/unix.socket`).
    ///
    /// Whoever can open the socket is fully trusted by LXD, so no certificate is involved.
    pub fn unix(socket: impl AsRef<Path>) -> Result<Self> {
        // reqwest is built without a default crypto provider; hand it one even though plain
        // HTTP over the socket never uses it.
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::invalid("TLS configuration", e.to_string()))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
        let http = reqwest::Client::builder()
            .unix_socket(socket.as_ref())
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::invalid("HTTP client", e.to_string()))?;
        let base = Url::parse("http://lxd/").map_err(|e| Error::Protocol(e.to_string()))?;
        Ok(Client { http, base, project: None, pinned: None })
    }

    /// The same client, scoped to an LXD project (`?project=` on every request).
    pub fn in_project(mut self, project: &str) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The host's base URL (`http://lxd/` for a unix socket).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The pinned server fingerprint, for HTTPS clients.
    pub fn pinned_fingerprint(&self) -> Option<Fingerprint> {
        self.pinned
    }

    /// Sends a request and parses the envelope.
    pub(crate) async fn request<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<Response> {
        let (status, bytes) = self.exchange(method, path, query, body, timeout).await?;
        response::parse(status, &bytes)
    }

    /// `GET` a synchronous resource and decode its metadata.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T> {
        let value = self.request::<()>(Method::GET, path, query, None, REQUEST_TIMEOUT).await?.into_sync()?;
        response::decode(value)
    }

    /// Sends a mutation that LXD runs as a background operation.
    pub(crate) async fn operation<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Operation> {
        match self.request(method, path, &[], body, REQUEST_TIMEOUT).await? {
            Response::Async { operation, metadata } => Operation::new(self.clone(), &operation, metadata),
            Response::Sync(_) => Err(Error::Protocol(format!("expected an operation from {path}"))),
        }
    }

    /// Sends a synchronous mutation and returns its metadata.
    pub(crate) async fn sync<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<serde_json::Value> {
        self.request(method, path, &[], body, REQUEST_TIMEOUT).await?.into_sync()
    }

    /// A raw exchange: HTTP status and body bytes, no envelope parsing (exec output logs are raw).
    pub(crate) async fn exchange<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>)> {
        let url = self.url(path)?;
        let mut req = self.http.request(method, url.clone()).timeout(timeout).query(query);
        if let Some(project) = &self.project {
            req = req.query(&[("project", &**project)]);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let transport = |source: reqwest::Error| match tls::mismatch_in(&source) {
            Some((expected, actual)) => Error::FingerprintMismatch { expected, actual },
            None => Error::Transport { url: url.to_string(), source },
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(transport)?;
        tracing::trace!(%url, status, "LXD answered");
        Ok((status, bytes.to_vec()))
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::Protocol(format!("bad path {path}: {e}")))
    }
}

/// The URL with any path dropped and a trailing slash, so that `join("1.0/...")` works.
fn base_of(url: &Url) -> Url {
    let mut base = url.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    base
}
