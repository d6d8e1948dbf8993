//! The one error type of the LXD client.

use crate::fingerprint::Fingerprint;

/// Shorthand for results of LXD calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to LXD.
///
/// LXD's own words are kept verbatim in [`Error::Api`] and [`Error::Operation`]: an operator
/// debugging "Instance is running" or "Failed to create instance: name already in use" needs
/// exactly that text, not our paraphrase.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// LXD answered with an error envelope (`{"type": "error", ...}`).
    #[error("LXD answered {status}: {message}")]
    Api {
        /// The HTTP status LXD used (404, 403, 409, 400, 500, ...).
        status: u16,
        /// LXD's own error text.
        message: String,
    },
    /// A background operation ended in failure or was cancelled.
    #[error("LXD operation {id} failed: {message}")]
    Operation {
        /// The operation's UUID.
        id: String,
        /// LXD's own error text (`err` of the operation).
        message: String,
    },
    /// An operation did not finish within the time we were willing to wait.
    #[error("LXD operation {id} did not finish within {seconds} s")]
    OperationTimeout {
        /// The operation's UUID.
        id: String,
        /// How long we waited.
        seconds: u64,
    },
    /// The server presented a certificate other than the pinned one.
    #[error("the server's certificate fingerprint is {actual}, not the pinned {expected}")]
    FingerprintMismatch {
        /// The fingerprint we pinned.
        expected: Fingerprint,
        /// The fingerprint the server presented.
        actual: Fingerprint,
    },
    /// A trust token names a server certificate other than the one we are talking to.
    #[error("the trust token is for a server with fingerprint {token}, but this server's is {server}")]
    TokenFingerprintMismatch {
        /// Fingerprint inside the token.
        token: Fingerprint,
        /// Fingerprint of the server we connected to.
        server: Fingerprint,
    },
    /// Input refused before any request was sent.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid ("instance name", "certificate", "trust token", ...).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The connection or HTTP exchange failed (refused, reset, TLS handshake, timeout).
    #[error("cannot reach LXD at {url}: {source}")]
    Transport {
        /// The URL we tried.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// LXD answered something that is not the JSON we expected.
    #[error("unexpected answer from LXD: {0}")]
    Protocol(String),
    /// LXD answered with an HTTP redirect. Redirects are never followed: LXD itself never sends
    /// one, and following it would hand our client certificate's session to another address.
    #[error("LXD at {url} answered with a redirect to {location:?}; redirects are not followed")]
    Redirect {
        /// The URL we asked.
        url: String,
        /// Where it wanted to send us (the `Location` header, possibly empty).
        location: String,
    },
    /// LXD handed us a path to follow (an operation, a `Location`, an exec log) that is not a
    /// relative `/1.0/...` path on the same host, e.g. an absolute URL to somewhere else.
    #[error("refusing to follow the {what} {path:?} from LXD: not a relative /1.0/ path")]
    UnsafePath {
        /// Which kind of path it was ("operation path", "Location header", "exec log path").
        what: &'static str,
        /// The path as LXD sent it (cut at 200 characters).
        path: String,
    },
    /// An answer from LXD was longer than the client's cap (see `Client::with_body_limit`);
    /// reading stopped at the cap.
    #[error("the answer from {url} is larger than the {limit}-byte cap")]
    TooLarge {
        /// The URL we asked.
        url: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The events websocket could not be opened, or failed while open.
    #[error("LXD event stream at {url}: {reason}")]
    Events {
        /// The websocket URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Api`], if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether LXD said the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether LXD refused us because our certificate is not trusted.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// Whether the host could not be reached at all (as opposed to answering with an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Transport { .. } | Error::FingerprintMismatch { .. })
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid { what, reason: reason.into() }
    }
}
