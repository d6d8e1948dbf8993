//! The crate's one error type. HAProxy's own words are kept verbatim wherever it said something.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::ConfigError;

/// Everything that can go wrong driving HAProxy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HAProxy binary is missing: the machine runs without a load balancer.
    #[error("haproxy not installed at {}", path.display())]
    NotInstalled {
        /// The path that was tried (`MOSAIC_HAPROXY_BIN` in the server).
        path: PathBuf,
    },
    /// The binary exists but is not HAProxy 2.x (or could not say which version it is).
    #[error("{} is not a usable haproxy: {detail}", path.display())]
    UnsupportedBinary {
        /// The binary.
        path: PathBuf,
        /// What it said, or why it could not be run.
        detail: String,
    },
    /// A local I/O step failed (files in the data directory, sockets, spawning).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The model could not be rendered.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `haproxy -c` refused a rendered file; `output` is HAProxy's report (its `[ALERT]` lines).
    #[error("haproxy rejected the configuration: {output}")]
    ConfigRejected {
        /// What `haproxy -c` printed.
        output: String,
    },
    /// HAProxy exited instead of starting (e.g. a bind address in use); `output` is what it
    /// printed.
    #[error("haproxy failed to start ({status}): {output}")]
    StartFailed {
        /// The exit status of the launching process.
        status: String,
        /// What HAProxy printed.
        output: String,
    },
    /// `start` found a HAProxy already answering on this data directory's master socket.
    #[error("a haproxy (master pid {master_pid}) is already running in {}", dir.display())]
    AlreadyRunning {
        /// The data directory.
        dir: PathBuf,
        /// Its master's pid.
        master_pid: u32,
    },
    /// Nothing answers on the master socket of this data directory.
    #[error("no haproxy is running in {}", dir.display())]
    NotRunning {
        /// The data directory.
        dir: PathBuf,
    },
    /// A reload would bind an address something else already holds; nothing was reloaded.
    #[error("cannot listen on {addr}: {source}")]
    BindUnavailable {
        /// The address.
        addr: SocketAddr,
        /// Why binding it failed.
        #[source]
        source: std::io::Error,
    },
    /// The master reported a failed reload: the new worker did not start, and the previous
    /// workers keep serving the previous configuration.
    #[error(
        "haproxy's reload failed (the master counts {failed_reloads} failed reloads); the previous \
         configuration is still serving"
    )]
    ReloadFailed {
        /// The master's count of failed reloads.
        failed_reloads: u32,
    },
    /// HAProxy refused a runtime command; `message` is its answer verbatim.
    #[error("haproxy refused `{command}`: {message}")]
    Rejected {
        /// The command sent.
        command: String,
        /// The kind of refusal, for callers that branch on it.
        kind: Rejection,
        /// HAProxy's own words.
        message: String,
    },
    /// An answer that could not be understood.
    #[error("unexpected answer to `{command}`: {detail}")]
    Unexpected {
        /// The command sent.
        command: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// A bounded wait ran out.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        after: Duration,
    },
    /// `admit` waited for a server's checks to pass and they did not.
    #[error(
        "server {backend}/{server} did not pass its health check within {after:?} (last check: {last_check})"
    )]
    NotHealthy {
        /// The backend.
        backend: String,
        /// The server.
        server: String,
        /// The bound.
        after: Duration,
        /// The last check result, as `show stat` reports it (e.g. `L7STS 500 Layer7 wrong status`).
        last_check: String,
    },
}

/// The kinds of refusal the runtime API gives, recognised from HAProxy 2.6's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `No such backend.`
    NoSuchBackend,
    /// `No such server.`
    NoSuchServer,
    /// `Already exists a server with the same name in backend.`
    AlreadyExists,
    /// `Server still has connections attached to it, cannot remove it.`
    HasConnections,
    /// `Only servers in maintenance mode can be deleted.`
    NotInMaintenance,
    /// Anything else (a bad keyword, an unknown command, permissions…).
    Other,
}

impl Rejection {
    /// Classifies one of HAProxy's refusal messages.
    pub(crate) fn classify(message: &str) -> Self {
        let m = message.trim();
        if m.starts_with("No such backend") || m.starts_with("Can't find backend") {
            Self::NoSuchBackend
        } else if m.starts_with("No such server") {
            Self::NoSuchServer
        } else if m.starts_with("Already exists a server") {
            Self::AlreadyExists
        } else if m.contains("still has connections attached") {
            Self::HasConnections
        } else if m.starts_with("Only servers in maintenance mode can be deleted") {
            Self::NotInMaintenance
        } else {
            Self::Other
        }
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// The refusal kind, if HAProxy refused a runtime command.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Self::Rejected { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
