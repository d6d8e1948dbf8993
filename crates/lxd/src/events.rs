//! LXD's event stream (`GET /1.0/events`): a websocket of lifecycle, operation and log events.
//!
//! The websocket runs over a connection this module makes itself: over HTTPS a TCP connection
//! wrapped by tokio-rustls with the client's own pinned-certificate configuration (so the pinned
//! verifier guards it exactly as it guards every request), over a unix socket a plain one. The
//! caller reconnects: a stream ends (after an error item, when it can say why) as soon as the
//! connection drops, and a connection that goes silent is found by pings.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{SinkExt, Stream, StreamExt};
use rustls::pki_types::ServerName;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use url::Url;

use crate::client::{CONNECT_TIMEOUT, Client};
use crate::error::{Error, Result};
use crate::observer::RequestOutcome;
use crate::operation::OperationMetadata;
use crate::tls;

/// How often [`Client::events`] pings a quiet event stream; the stream fails when a ping got no
/// answer (nothing at all came back) for two intervals, so a silent death shows within three.
pub const DEFAULT_EVENTS_PING: Duration = Duration::from_secs(10);
/// The largest single event accepted. LXD's events are a few KiB (an operation event carries
/// its metadata); 1 MiB leaves room without letting a peer make us buffer more.
const MAX_EVENT: usize = 1 << 20;

/// Which kind of events to subscribe to (`?type=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something happened to an object: `instance-created`, `instance-started`, ...
    Lifecycle,
    /// A background operation was created or changed state (with its progress metadata).
    Operation,
    /// LXD's own log lines.
    Logging,
}

impl EventType {
    /// LXD's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Lifecycle => "lifecycle",
            EventType::Operation => "operation",
            EventType::Logging => "logging",
        }
    }
}

/// One event (`{"type", "timestamp", "metadata", "location", "project"}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `lifecycle`, `operation` or `logging` (kept as text: newer LXD adds kinds).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened (RFC 3339).
    #[serde(default)]
    pub timestamp: String,
    /// The cluster member it happened on (`none` outside clusters).
    #[serde(default)]
    pub location: String,
    /// The project it belongs to (empty when LXD does not say).
    #[serde(default)]
    pub project: String,
    /// What happened; its shape depends on `kind` (see [`Event::lifecycle`], [`Event::operation`]).
    #[serde(default)]
    pub metadata: Value,
}

impl Event {
    /// The typed view of a lifecycle event; `None` for other kinds.
    pub fn lifecycle(&self) -> Option<LifecycleEvent> {
        if self.kind != "lifecycle" {
            return None;
        }
        serde_json::from_value(self.metadata.clone()).ok()
    }

    /// The operation an operation event reports (with its progress metadata); `None` for other
    /// kinds.
    pub fn operation(&self) -> Option<OperationMetadata> {
        if self.kind != "operation" {
            return None;
        }
        serde_json::from_value(self.metadata.clone()).ok()
    }
}

/// What a lifecycle event says happened.
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleEvent {
    /// What happened, e.g. `instance-created`, `instance-started`, `instance-stopped`,
    /// `instance-shutdown`, `instance-deleted`, `instance-updated`.
    pub action: String,
    /// The object's API path, e.g. `/1.0/instances/web-1` (with `?project=` outside `default`).
    #[serde(default)]
    pub source: String,
    /// Action-specific details.
    #[serde(default)]
    pub context: Value,
}

impl LifecycleEvent {
    /// The instance's name when the event is about an instance (`/1.0/instances/NAME`, also
    /// for sub-resources such as `/1.0/instances/NAME/snapshots/s1`).
    pub fn instance_name(&self) -> Option<&str> {
        let path = self.source.split('?').next().unwrap_or_default();
        let rest = path.strip_prefix("/1.0/instances/")?;
        let name = rest.split('/').next().unwrap_or_default();
        (!name.is_empty()).then_some(name)
    }
}

/// A stream of events from one host. Ends when the connection does: the caller reconnects
/// (with back-off) and, having missed events meanwhile, re-reads what it needs.
pub struct EventStream {
    url: Url,
    inner: Pin<Box<dyn Stream<Item = Result<Event>> + Send>>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("url", &self.url.as_str()).finish_non_exhaustive()
    }
}

impl EventStream {
    /// The websocket URL this stream reads (the cluster member it reached, for a cluster).
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl Stream for EventStream {
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Either transport, so one websocket type serves both.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

impl Client {
    /// Subscribes to the host's events of the given kinds (all of them if `types` is empty), in
    /// the client's project.
    ///
    /// Subscribe before starting the operations whose events you want: LXD sends only what
    /// happens after the subscription. For a cluster client, the member that answers is used
    /// (trying the next when one cannot be reached), and LXD forwards every member's events.
    pub async fn events(&self, types: &[EventType]) -> Result<EventStream> {
        self.events_with_ping(types, DEFAULT_EVENTS_PING).await
    }

    /// [`Client::events`] with another ping interval: the stream is pinged when quiet and fails
    /// when a ping got no answer for two intervals, which bounds how long a connection that died
    /// without a word (a host powered off, a cut cable) goes unnoticed to about three intervals.
    /// Pings are sent while the stream is being polled; a consumer that pauses is not mistaken
    /// for a dead connection (answers already received are read first).
    pub async fn events_with_ping(&self, types: &[EventType], ping_every: Duration) -> Result<EventStream> {
        let ping_every = ping_every.max(Duration::from_millis(100));
        let kinds: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        let kinds = kinds.join(",");
        let query: Vec<(&str, &str)> = if kinds.is_empty() { vec![] } else { vec![("type", kinds.as_str())] };
        let started = std::time::Instant::now();
        let opened = self.open_events(&query, ping_every).await;
        let outcome = match &opened {
            Ok(_) => RequestOutcome::Answered(101),
            Err(Error::Api { status, .. }) => RequestOutcome::Answered(*status),
            Err(_) => RequestOutcome::Failed,
        };
        self.observe("GET", "/1.0/events", outcome, started);
        opened
    }

    /// Connects and upgrades to the websocket.
    async fn open_events(&self, query: &[(&str, &str)], ping_every: Duration) -> Result<EventStream> {
        let (url, stream) = self.connect_events(query).await?;
        let config =
            WebSocketConfig::default().max_message_size(Some(MAX_EVENT)).max_frame_size(Some(MAX_EVENT));
        let handshake = client_async_with_config(url.as_str(), stream, Some(config));
        let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT * 2, handshake)
            .await
            .map_err(|_| Error::Events {
                url: url.to_string(),
                reason: "no websocket handshake in time".into(),
            })?
            .map_err(|e| handshake_error(&url, e))?;
        Ok(EventStream { url: url.clone(), inner: Box::pin(events_of(ws, url, ping_every)) })
    }

    /// Connects the transport for the events websocket; returns the `ws(s)://` URL and stream.
    async fn connect_events(&self, query: &[(&str, &str)]) -> Result<(Url, Box<dyn Transport>)> {
        if let Some(socket) = self.socket_path() {
            let mut url = self.scoped_url(self.base_url(), "/1.0/events", query)?;
            set_scheme(&mut url, "ws")?;
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::UnixStream::connect(socket))
                .await
                .map_err(|_| events_error(&url, "connecting to the socket timed out"))?
                .map_err(|e| events_error(&url, &format!("cannot connect to {}: {e}", socket.display())))?;
            return Ok((url, Box::new(stream)));
        }
        let config =
            self.tls_config().ok_or_else(|| Error::invalid("LXD client", "neither HTTPS nor socket"))?;
        // The websocket handshake is HTTP/1.1; never offer anything else.
        let mut config = (*config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let mut last_error = None;
        for (index, base) in self.endpoints_in_order() {
            let mut url = self.scoped_url(&base, "/1.0/events", query)?;
            set_scheme(&mut url, "wss")?;
            let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
            let port = url.port_or_known_default().unwrap_or(8443);
            let tcp = match tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::TcpStream::connect((host.as_str(), port)),
            )
            .await
            {
                Ok(Ok(tcp)) => tcp,
                Ok(Err(e)) => {
                    last_error = Some(events_error(&url, &format!("cannot connect: {e}")));
                    continue;
                }
                Err(_) => {
                    last_error = Some(events_error(&url, "connecting timed out"));
                    continue;
                }
            };
            let name =
                ServerName::try_from(host.clone()).map_err(|e| Error::invalid("LXD URL", e.to_string()))?;
            let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                .await
                .map_err(|_| events_error(&url, "TLS handshake timed out"))?
                .map_err(|e| match tls::mismatch_in(&e) {
                    Some((expected, actual)) => Error::FingerprintMismatch { expected, actual },
                    None => events_error(&url, &format!("TLS handshake failed: {e}")),
                })?;
            self.answered_on(index);
            return Ok((url, Box::new(tls)));
        }
        Err(last_error.unwrap_or_else(|| Error::invalid("LXD URL", "no URL given")))
    }
}

fn set_scheme(url: &mut Url, scheme: &str) -> Result<()> {
    url.set_scheme(scheme).map_err(|()| Error::Protocol(format!("cannot make a {scheme} URL of {url}")))
}

fn events_error(url: &Url, reason: &str) -> Error {
    Error::Events { url: url.to_string(), reason: reason.to_owned() }
}

/// A refused handshake keeps LXD's own words (e.g. 403 for an untrusted certificate).
fn handshake_error(url: &Url, e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            match crate::response::parse(status, body) {
                Err(api) => api,
                Ok(_) => Error::Api { status, message: String::from_utf8_lossy(body).into_owned() },
            }
        }
        other => events_error(url, &other.to_string()),
    }
}

/// The events of an open websocket, ending with the connection.
fn events_of(
    ws: WebSocketStream<Box<dyn Transport>>,
    url: Url,
    ping_every: Duration,
) -> impl Stream<Item = Result<Event>> + Send {
    struct State {
        ws: WebSocketStream<Box<dyn Transport>>,
        url: Url,
        ping: tokio::time::Interval,
        /// When the ping still waiting for an answer was sent (any frame counts as an answer).
        awaiting: Option<Instant>,
        silence: Duration,
    }
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State { ws, url, ping, awaiting: None, silence: ping_every * 2 };
    futures::stream::unfold(Some(state), |state| async move {
        let mut st = state?;
        loop {
            // Frames already received come first: a consumer that paused must not find its
            // stream declared dead while the pong sits unread.
            tokio::select! {
                biased;
                message = st.ws.next() => {
                    st.awaiting = None;
                    let text = match message {
                        None | Some(Ok(Message::Close(_))) => return None,
                        Some(Err(e)) => return Some((Err(events_error(&st.url, &e.to_string())), None)),
                        Some(Ok(Message::Text(text))) => text.as_bytes().to_vec(),
                        Some(Ok(Message::Binary(bytes))) => bytes.to_vec(),
                        Some(Ok(_)) => continue, // pings (answered by tungstenite), pongs
                    };
                    let event = serde_json::from_slice::<Event>(&text)
                        .map_err(|e| Error::Protocol(format!("not an LXD event: {e}")));
                    return Some((event, Some(st)));
                }
                _ = st.ping.tick() => {
                    match st.awaiting {
                        Some(sent) if sent.elapsed() >= st.silence => {
                            let reason = format!("no answer to a ping within {} ms", st.silence.as_millis());
                            return Some((Err(events_error(&st.url, &reason)), None));
                        }
                        Some(_) => {}
                        None => {
                            if let Err(e) = st.ws.send(Message::Ping(Vec::new().into())).await {
                                return Some((Err(events_error(&st.url, &e.to_string())), None));
                            }
                            st.awaiting = Some(Instant::now());
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_events_name_their_instance() {
        let event: Event = serde_json::from_str(
            r#"{"type":"lifecycle","timestamp":"2026-12-05T01:05:45Z","location":"none","project":"team-a",
                "metadata":{"action":"instance-started","source":"/1.0/instances/web-1?project=team-a",
                "context":{},"requestor":{"username":"root","protocol":"unix"}}}"#,
        )
        .unwrap();
        let lifecycle = event.lifecycle().unwrap();
        assert_eq!(lifecycle.action, "instance-started");
        assert_eq!(lifecycle.instance_name(), Some("web-1"));
        assert_eq!(event.project, "team-a");
        assert!(event.operation().is_none());

        let profile = LifecycleEvent {
            action: "profile-updated".into(),
            source: "/1.0/profiles/p".into(),
            context: Value::Null,
        };
        assert_eq!(profile.instance_name(), None);
    }
}
