//! One LXD host, reached over HTTPS (mutual TLS, pinned certificate) or its unix socket.
//!
//! Everything LXD sends back is treated as input from a peer that may be compromised: redirects
//! are never followed, every body is read with a size cap, and paths LXD hands us to follow
//! (operations, `Location`, exec logs) must be relative `/1.0/...` paths on the same host.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{self, HeaderMap};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::identity::Identity;
use crate::observer::{ObservedRequest, RequestObserver, RequestOutcome, path_template};
use crate::operation::Operation;
use crate::response::{self, Response};
use crate::tls;

/// How long a plain request (not an operation wait) may take before we call the host unreachable.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a TCP connection: LXD on a reachable host answers in milliseconds.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default cap on one LXD response body: 32 MiB.
///
/// `GET /1.0/instances?recursion=2` costs about 6 KiB per running container on LXD 5.0, so a
/// 500-container host answers in about 3 MiB; the cap leaves a tenfold margin and still stops a
/// hostile or broken peer from making Mosaic buffer gigabytes.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A client for one LXD host (or one cluster, reached through any of its members).
///
/// Cheap to clone: the connection pool and TLS configuration are shared, and built once per host.
/// Clones also share which cluster member answered last.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    project: Option<Arc<str>>,
    pinned: Option<Fingerprint>,
    socket: Option<Arc<PathBuf>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    body_limit: usize,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What identifies the host; not the TLS configuration (it holds the client identity).
        f.debug_struct("Client")
            .field("url", &self.base_url().as_str())
            .field("urls", &self.endpoints.bases.len())
            .field("project", &self.project)
            .field("pinned", &self.pinned)
            .field("body_limit", &self.body_limit)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

/// The base URLs a client may use, and which one answered last.
#[derive(Debug)]
struct Endpoints {
    bases: Vec<Url>,
    current: AtomicUsize,
}

impl Endpoints {
    fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed) % self.bases.len()
    }
}

/// What came back from LXD before envelope parsing: status, the headers we use, and the body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// One request to LXD, before the client adds the base URL, the project and the transport.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    pub(crate) query: &'a [(&'a str, &'a str)],
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) headers: Vec<(header::HeaderName, String)>,
    pub(crate) timeout: Duration,
    /// Whether `?project=` applies (false for server-wide resources such as projects).
    pub(crate) scoped: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, path: &'a str) -> Self {
        Call {
            method,
            path,
            query: &[],
            body: None,
            headers: Vec::new(),
            timeout: REQUEST_TIMEOUT,
            scoped: true,
        }
    }

    pub(crate) fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    pub(crate) fn json<B: Serialize + ?Sized>(mut self, body: Option<&B>) -> Result<Self> {
        if let Some(body) = body {
            let bytes =
                serde_json::to_vec(body).map_err(|e| Error::invalid("request body", e.to_string()))?;
            self.body = Some(bytes);
            self.headers.push((header::CONTENT_TYPE, "application/json".to_owned()));
        }
        Ok(self)
    }

    pub(crate) fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn unscoped(mut self) -> Self {
        self.scoped = false;
        self
    }
}

impl Client {
    /// A client for `url` (e.g. `https://10.0.0.5:8443`) that accepts only the server certificate
    /// whose SHA-256 fingerprint is `pinned`, presenting `identity` as its client certificate.
    ///
    /// `identity` may be `None` to talk to a server that does not trust us yet (to read its
    /// public `GET /1.0`, or to join it with a trust token or password).
    pub fn https(url: &Url, pinned: Fingerprint, identity: Option<&Identity>) -> Result<Self> {
        Self::https_cluster(std::slice::from_ref(url), pinned, identity)
    }

    /// A client for an LXD cluster reachable at any of `urls` (its members' addresses, the
    /// preferred one first), all presenting the one certificate `pinned` (cluster members share
    /// `cluster.crt`).
    ///
    /// When the member in use does not answer (the connection cannot be made or times out), the
    /// request is sent to the next member, and the one that answered is used from then on by this
    /// client and its clones. An HTTP error is an answer: it is never retried elsewhere. A read
    /// (`GET`) whose connection died before any answer is retried on the next member; a mutation
    /// whose connection broke after it may have been sent is not (it may have taken effect), and
    /// fails with [`Error::Transport`], while the next call connects afresh and fails over.
    pub fn https_cluster(urls: &[Url], pinned: Fingerprint, identity: Option<&Identity>) -> Result<Self> {
        if urls.is_empty() {
            return Err(Error::invalid("LXD URL", "no URL given"));
        }
        for url in urls {
            if url.scheme() != "https" {
                return Err(Error::invalid("LXD URL", format!("{url} is not an https:// URL")));
            }
        }
        let config = tls::client_config(pinned, identity)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config.clone())
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| Error::invalid("HTTP client", e.to_string()))?;
        Ok(Client {
            http,
            endpoints: Arc::new(Endpoints {
                bases: urls.iter().map(base_of).collect(),
                current: AtomicUsize::new(0),
            }),
            project: None,
            pinned: Some(pinned),
            socket: None,
            tls: Some(Arc::new(config)),
            body_limit: DEFAULT_BODY_LIMIT,
            observer: None,
        })
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
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::invalid("HTTP client", e.to_string()))?;
        let base = Url::parse("http://lxd/").map_err(|e| Error::Protocol(e.to_string()))?;
        Ok(Client {
            http,
            endpoints: Arc::new(Endpoints { bases: vec![base], current: AtomicUsize::new(0) }),
            project: None,
            pinned: None,
            socket: Some(Arc::new(socket.as_ref().to_owned())),
            tls: None,
            body_limit: DEFAULT_BODY_LIMIT,
            observer: None,
        })
    }

    /// The same client, scoped to an LXD project: every request about instances, profiles,
    /// images, operations (and their waits), exec logs, files and events carries `?project=`.
    pub fn in_project(mut self, project: &str) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The LXD project this client is scoped to, if any (`None` means LXD's `default`).
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// The same client with another cap on how many bytes one LXD answer may have
    /// ([`DEFAULT_BODY_LIMIT`] unless set). A longer answer fails with [`Error::TooLarge`]
    /// while it is read, before it is all in memory.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes.max(1);
        self
    }

    /// The same client, telling `observer` about every request it (and its clones, operations
    /// and event streams) sends: method, path template, outcome and duration. For metrics.
    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Tells the observer, if any, about one request.
    pub(crate) fn observe(&self, method: &str, path: &str, outcome: RequestOutcome, started: Instant) {
        if let Some(observer) = &self.observer {
            let path = path_template(path);
            observer.observe(&ObservedRequest { method, path: &path, outcome, duration: started.elapsed() });
        }
    }

    /// The cap on one answer's size, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The base URL of the host (of the cluster member in use; `http://lxd/` for a unix socket).
    pub fn base_url(&self) -> &Url {
        &self.endpoints.bases[self.endpoints.current()]
    }

    /// Every base URL this client may use, the preferred one first.
    pub fn base_urls(&self) -> &[Url] {
        &self.endpoints.bases
    }

    /// The pinned server fingerprint, for HTTPS clients.
    pub fn pinned_fingerprint(&self) -> Option<Fingerprint> {
        self.pinned
    }

    /// The unix socket, for socket clients.
    pub(crate) fn socket_path(&self) -> Option<&Path> {
        self.socket.as_deref().map(PathBuf::as_path)
    }

    /// The pinned TLS configuration, for HTTPS clients (the events websocket reuses it).
    pub(crate) fn tls_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls.clone()
    }

    /// The endpoints to try in order, starting with the one that answered last, as
    /// (index, base URL) pairs.
    pub(crate) fn endpoints_in_order(&self) -> Vec<(usize, Url)> {
        let (first, count) = (self.endpoints.current(), self.endpoints.bases.len());
        (0..count).map(|step| (first + step) % count).map(|i| (i, self.endpoints.bases[i].clone())).collect()
    }

    /// Remembers that endpoint `index` answered (the events websocket fails over by itself).
    pub(crate) fn answered_on(&self, index: usize) {
        if index != self.endpoints.current() {
            tracing::info!(url = %self.endpoints.bases[index], "LXD cluster member answered; using it from now on");
            self.endpoints.current.store(index, Ordering::Relaxed);
        }
    }

    /// The URL of `path` on `base` with the client's project (for the events websocket).
    pub(crate) fn scoped_url(&self, base: &Url, path: &str, query: &[(&str, &str)]) -> Result<Url> {
        self.url_on(base, path, query, true)
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
        let call = Call::new(method, path).query(query).json(body)?.timeout(timeout);
        self.call(call).await.map(|(response, _)| response)
    }

    /// Sends a call and parses the envelope; also returns the headers (for `ETag`).
    pub(crate) async fn call(&self, call: Call<'_>) -> Result<(Response, HeaderMap)> {
        let reply = self.exchange_call(call).await?;
        let parsed = response::parse(reply.status, &reply.body)?;
        if let Response::Async { operation, .. } = &parsed {
            // LXD names the operation twice; both must point back at this host's API.
            checked_path("operation path", operation)?;
            if let Some(location) = reply.headers.get(header::LOCATION) {
                let location = location.to_str().map_err(|_| Error::UnsafePath {
                    what: "Location header",
                    path: String::from_utf8_lossy(location.as_bytes()).into_owned(),
                })?;
                checked_path("Location header", location)?;
            }
        }
        Ok((parsed, reply.headers))
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
        self.operation_call(Call::new(method, path).json(body)?).await
    }

    /// Sends a call that LXD answers with a background operation.
    pub(crate) async fn operation_call(&self, call: Call<'_>) -> Result<Operation> {
        let path = call.path.to_owned();
        match self.call(call).await?.0 {
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

    /// Sends a call and reads the whole body, capped at the client's body limit.
    pub(crate) async fn exchange_call(&self, call: Call<'_>) -> Result<Reply> {
        let (url, resp) = self.send(call).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = read_capped(&url, resp, self.body_limit).await?;
        tracing::trace!(%url, status, bytes = body.len(), "LXD answered");
        Ok(Reply { status, headers, body })
    }

    /// Sends a call and hands back the unread response (redirects already refused).
    ///
    /// With several endpoints (a cluster), a connection that cannot be made moves on to the next
    /// member, starting from the one that answered last.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<(Url, reqwest::Response)> {
        let started = Instant::now();
        let sent = self.send_unobserved(&call).await;
        let outcome = match &sent {
            Ok((_, resp)) => RequestOutcome::Answered(resp.status().as_u16()),
            Err(_) => RequestOutcome::Failed,
        };
        self.observe(call.method.as_str(), call.path, outcome, started);
        sent
    }

    async fn send_unobserved(&self, call: &Call<'_>) -> Result<(Url, reqwest::Response)> {
        let endpoints = &self.endpoints;
        let first = endpoints.current();
        let count = endpoints.bases.len();
        let mut last_error = None;
        for step in 0..count {
            let index = (first + step) % count;
            let url = self.url_on(&endpoints.bases[index], call.path, call.query, call.scoped)?;
            let mut req = self.http.request(call.method.clone(), url.clone()).timeout(call.timeout);
            for (name, value) in &call.headers {
                req = req.header(name.clone(), value.as_str());
            }
            if let Some(body) = &call.body {
                req = req.body(body.clone());
            }
            match req.send().await {
                Ok(resp) => {
                    if index != first {
                        tracing::info!(%url, "LXD cluster member answered; using it from now on");
                        endpoints.current.store(index, Ordering::Relaxed);
                    }
                    if resp.status().is_redirection() {
                        let location = resp
                            .headers()
                            .get(header::LOCATION)
                            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
                            .unwrap_or_default();
                        return Err(Error::Redirect { url: url.to_string(), location });
                    }
                    return Ok((url, resp));
                }
                Err(source) => {
                    let error = transport_error(&url, source);
                    // Not answered: no connection could be made (any method), or, for a read,
                    // the connection died before any answer (e.g. a pooled connection the member
                    // dropped) or timed out. A mutation is only retried elsewhere if it was
                    // certainly never sent.
                    let idempotent = matches!(call.method, Method::GET | Method::HEAD);
                    let unanswered = matches!(&error, Error::Transport { source, .. }
                        if source.is_connect() || (idempotent && source.status().is_none()
                            && (source.is_request() || source.is_timeout())));
                    if !unanswered || step + 1 == count {
                        return Err(error);
                    }
                    tracing::warn!(%url, error = %error, "LXD cluster member does not answer; trying the next");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::invalid("LXD URL", "no URL given")))
    }

    /// The URL of `path` (which may carry its own query, as LXD's operation URLs can) on `base`.
    fn url_on(&self, base: &Url, path: &str, query: &[(&str, &str)], scoped: bool) -> Result<Url> {
        let (path_only, own_query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let mut url = base
            .join(path_only.trim_start_matches('/'))
            .map_err(|e| Error::Protocol(format!("bad path {path}: {e}")))?;
        if url.origin() != base.origin() {
            return Err(Error::UnsafePath { what: "request path", path: path.to_owned() });
        }
        url.set_query(own_query);
        let has_project = url.query_pairs().any(|(k, _)| k == "project");
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
            if scoped
                && !has_project
                && let Some(project) = &self.project
            {
                pairs.append_pair("project", project);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }
}

/// Turns a reqwest failure into our error, recognising a pinned-certificate mismatch.
pub(crate) fn transport_error(url: &Url, source: reqwest::Error) -> Error {
    match tls::mismatch_in(&source) {
        Some((expected, actual)) => Error::FingerprintMismatch { expected, actual },
        None => Error::Transport { url: url.to_string(), source },
    }
}

/// Reads a body, failing as soon as it grows beyond `limit` bytes.
pub(crate) async fn read_capped(url: &Url, mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    let too_large = || Error::TooLarge { url: url.to_string(), limit: limit as u64 };
    if resp.content_length().is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(url, e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What [`read_tail`] kept of a body.
#[derive(Debug)]
pub(crate) struct Tail {
    pub(crate) bytes: Vec<u8>,
    pub(crate) truncated: bool,
    pub(crate) total: Option<u64>,
}

/// Reads the last `keep` bytes of a file LXD serves (exec logs, instance files).
///
/// The request asked for `Range: bytes=-keep`, which LXD 5.0 honours (206, `Content-Range`), so
/// only the tail crosses the wire. If something in between ignored the range (200), the body is
/// streamed keeping its last `keep` bytes, and reading stops after `hard_cap` bytes.
pub(crate) async fn read_tail(
    url: &Url,
    mut resp: reqwest::Response,
    keep: usize,
    hard_cap: usize,
) -> Result<Tail> {
    let status = resp.status().as_u16();
    if status == 416 {
        // "Range not satisfiable": an empty file on some servers.
        return Ok(Tail { bytes: Vec::new(), truncated: false, total: Some(0) });
    }
    if !(200..300).contains(&status) {
        let body = read_capped(url, resp, 64 * 1024).await?;
        return Err(match response::parse(status, &body) {
            Err(e) => e,
            Ok(_) => Error::Api { status, message: String::from_utf8_lossy(&body).into_owned() },
        });
    }
    if status == 206 {
        let range =
            resp.headers().get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (start, total) = range
            .as_deref()
            .and_then(parse_content_range)
            .ok_or_else(|| Error::Protocol(format!("{url} answered 206 with Content-Range {range:?}")))?;
        // The server chose the range; still never keep more than asked.
        let mut bytes = read_capped(url, resp, keep.saturating_add(1)).await.map_err(|e| match e {
            Error::TooLarge { .. } => {
                Error::Protocol(format!("{url} sent more than the {keep} bytes asked for"))
            }
            other => other,
        })?;
        let extra = bytes.len().saturating_sub(keep);
        bytes.drain(..extra);
        return Ok(Tail { bytes, truncated: start > 0 || extra > 0, total: Some(total) });
    }
    let total = resp.content_length();
    let mut kept: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
    let mut read = 0usize;
    let mut truncated = false;
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(url, e))? {
        read += chunk.len();
        kept.extend(chunk.iter());
        if kept.len() > keep {
            truncated = true;
            let extra = kept.len() - keep;
            kept.drain(..extra);
        }
        if read >= hard_cap {
            truncated = truncated || total.is_none_or(|t| t > read as u64);
            break;
        }
    }
    Ok(Tail { bytes: kept.into(), truncated, total })
}

/// `bytes START-END/TOTAL` → (START, TOTAL). LXD writes `bytes 0--1/0` for an empty file.
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let start = range.split('-').next()?.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()?))
}

/// Accepts a path LXD gave us to follow only if it is a relative `/1.0/...` path on the same
/// host: not an absolute URL, not protocol-relative (`//elsewhere`), no `..`, no fragments, no
/// whitespace or control characters. A compromised host must not steer Mosaic's certificate
/// (or Mosaic's reads) anywhere else.
pub(crate) fn checked_path<'a>(what: &'static str, path: &'a str) -> Result<&'a str> {
    let refuse = || Error::UnsafePath { what, path: path.chars().take(200).collect() };
    let (path_only, query) = match path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path, ""),
    };
    let clean = |s: &str| s.chars().all(|c| c.is_ascii_graphic() && !"\\#@".contains(c));
    if !path_only.starts_with("/1.0/")
        || path_only.contains("//")
        || path_only.split('/').any(|seg| seg == ".." || seg == ".")
        || path_only.to_ascii_lowercase().contains("%2e")
        || path_only.to_ascii_lowercase().contains("%2f")
        || !clean(path_only)
        || !clean(query)
    {
        return Err(refuse());
    }
    Ok(path)
}

/// The URL with any path dropped and a trailing slash, so that `join("1.0/...")` works.
fn base_of(url: &Url) -> Url {
    let mut base = url.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_api_paths_are_followed() {
        for ok in [
            "/1.0/operations/910c3046-611e-49b5-9fac-7752caed3e35",
            "/1.0/operations/abc?project=team-a",
            "/1.0/instances/c1/logs/exec_910c.stdout",
        ] {
            assert_eq!(checked_path("operation path", ok).unwrap(), ok);
        }
        for bad in [
            "https://evil.example/1.0/operations/x",
            "//evil.example/1.0/operations/x",
            "/1.0//evil.example/x",
            "/1.0/../etc/passwd",
            "/1.0/%2e%2e/x",
            "/2.0/operations/x",
            "1.0/operations/x",
            "/1.0/operations/x#frag",
            "/1.0/operations/a b",
            "/1.0/operations/x\\y",
            "/1.0/user@evil/x",
            "",
        ] {
            assert!(
                matches!(checked_path("operation path", bad), Err(Error::UnsafePath { .. })),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn content_range_is_read() {
        assert_eq!(parse_content_range("bytes 48874-48893/48894"), Some((48874, 48894)));
        assert_eq!(parse_content_range("bytes 0--1/0"), Some((0, 0)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn project_is_added_once_and_operation_queries_are_kept() {
        let client = Client::unix("/nonexistent.socket").unwrap().in_project("team-a");
        let base = client.base_url().clone();
        let url = client.url_on(&base, "/1.0/instances", &[("recursion", "2")], true).unwrap();
        assert_eq!(url.as_str(), "http://lxd/1.0/instances?recursion=2&project=team-a");
        let url =
            client.url_on(&base, "/1.0/operations/x?project=team-a", &[("timeout", "5")], true).unwrap();
        assert_eq!(url.as_str(), "http://lxd/1.0/operations/x?project=team-a&timeout=5");
        let url = client.url_on(&base, "/1.0/projects", &[], false).unwrap();
        assert_eq!(url.as_str(), "http://lxd/1.0/projects");
    }
}
