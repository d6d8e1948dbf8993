//! The runtime API over the admin socket: server membership and states without a reload.
//!
//! Facts of HAProxy 2.6.12 this client is built on (seen on this machine):
//! - `add server` creates the server in maintenance with checks off; it takes the backend's check
//!   rules (`option httpchk`, `tcp-check`) but none of `default-server`, so `inter/rise/fall` are
//!   passed on the command.
//! - Checks run while a server is in maintenance and its health counter climbs to `rise`.
//! - Leaving maintenance (`enable server`) puts a server straight UP with its health at `rise`,
//!   whatever its checks said, and with checks never run it is UP until the first one fails. So a
//!   server must not be enabled before its checks passed: [`RuntimeApi::admit`] waits for that.
//! - `del server` needs maintenance first and is refused while the server has connections.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::CheckTiming;
use crate::error::Rejection;
use crate::socket::exchange;
use crate::stats::{ServerStateRow, StatRow, parse_servers_state, parse_show_stat};
use crate::{Error, Name};

/// How often bounded waits poll `show stat`: a unix-socket round trip costs well under a
/// millisecond, and 50 ms keeps reactions far below a check interval.
const POLL: Duration = Duration::from_millis(50);

/// Idle connections to a server are purged by HAProxy after `pool-purge-delay` (5 s by default);
/// until then `del server` is refused, so deletion keeps retrying this long past the drain.
const DELETE_GRACE: Duration = Duration::from_secs(6);

/// Administrative states settable with `set server … state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    /// In rotation (subject to checks).
    Ready,
    /// No new traffic; current sessions finish.
    Drain,
    /// No traffic; required before `del server`.
    Maint,
}

impl AdminState {
    fn keyword(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Drain => "drain",
            Self::Maint => "maint",
        }
    }
}

/// What [`RuntimeApi::drain`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// The server did not exist when the drain began (already removed, e.g. by a reload).
    pub already_gone: bool,
    /// Sessions still open when the timeout ran out (0 when the server emptied in time).
    pub sessions_left: u64,
    /// Whether those sessions were cut (`shutdown sessions server`) to delete the server.
    pub forced: bool,
    /// How long the whole drain took.
    pub elapsed: Duration,
}

/// A client of one HAProxy worker's admin socket (the runtime API). Cheap to clone; every call
/// is one connection and one command.
#[derive(Debug, Clone)]
pub struct RuntimeApi {
    socket: PathBuf,
    timeout: Duration,
}

impl RuntimeApi {
    /// A client of the admin socket at `socket`, with a 5 s bound on each command.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self { socket: socket.into(), timeout: Duration::from_secs(5) }
    }

    /// The same client with another per-command bound.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one command and returns HAProxy's answer verbatim. `command` may not contain `;` or
    /// a line break (one call, one command).
    pub async fn command(&self, command: &str) -> Result<String, Error> {
        exchange(&self.socket, command, self.timeout).await
    }

    /// Sends a command whose success is the answer `expected` (trimmed; `""` for commands that
    /// answer nothing); anything else is HAProxy refusing, kept in its own words.
    async fn expect(&self, command: String, expected: &str) -> Result<(), Error> {
        let answer = self.command(&command).await?;
        let message = answer.trim();
        if message == expected {
            return Ok(());
        }
        Err(Error::Rejected { kind: Rejection::classify(message), message: message.to_owned(), command })
    }

    /// Adds a server to `backend` and turns its health check on (`add server … check inter … rise
    /// … fall …` + `enable health`). It stays in maintenance, out of rotation, while its checks run;
    /// [`RuntimeApi::admit`] (or [`RuntimeApi::enable_server`] once `show stat` says its checks
    /// pass) puts it in rotation. The check is the backend's own (`Service::check`); `timing`
    /// must be the backend's (`Service::timing`), since dynamic servers inherit no defaults.
    pub async fn add_server(
        &self,
        backend: &Name,
        server: &Name,
        addr: SocketAddr,
        timing: &CheckTiming,
    ) -> Result<(), Error> {
        self.expect(
            format!("add server {backend}/{server} {addr} {}", timing.server_keywords()),
            "New server registered.",
        )
        .await?;
        self.enable_health(backend, server).await
    }

    /// `enable server`: leave maintenance. The server is UP at once (health reset to `rise`)
    /// until a check fails, so call it only when its checks pass; see [`RuntimeApi::admit`].
    pub async fn enable_server(&self, backend: &Name, server: &Name) -> Result<(), Error> {
        self.expect(format!("enable server {backend}/{server}"), "").await
    }

    /// `enable health`: start the server's health checks (dynamic servers start with them off).
    pub async fn enable_health(&self, backend: &Name, server: &Name) -> Result<(), Error> {
        self.expect(format!("enable health {backend}/{server}"), "").await
    }

    /// `set server … state ready|drain|maint`.
    pub async fn set_state(&self, backend: &Name, server: &Name, state: AdminState) -> Result<(), Error> {
        self.expect(format!("set server {backend}/{server} state {}", state.keyword()), "").await
    }

    /// `del server`: the server must be in maintenance and have no connection left.
    pub async fn del_server(&self, backend: &Name, server: &Name) -> Result<(), Error> {
        self.expect(format!("del server {backend}/{server}"), "Server deleted.").await
    }

    /// `shutdown sessions server`: cut every session the server still has.
    pub async fn shutdown_sessions(&self, backend: &Name, server: &Name) -> Result<(), Error> {
        self.expect(format!("shutdown sessions server {backend}/{server}"), "").await
    }

    /// `show stat`: every frontend, backend and server row.
    pub async fn show_stat(&self) -> Result<Vec<StatRow>, Error> {
        let command = "show stat";
        let answer = self.command(command).await?;
        parse_show_stat(&answer).map_err(|e| Error::Unexpected { command: command.into(), detail: e.0 })
    }

    /// The `show stat` row of one server, `None` if the backend has no such server.
    pub async fn server_stat(&self, backend: &Name, server: &Name) -> Result<Option<StatRow>, Error> {
        Ok(self
            .show_stat()
            .await?
            .into_iter()
            .find(|r| r.proxy == backend.as_str() && r.server == server.as_str()))
    }

    /// `show servers state [backend]`: every server's address, operational and admin state and
    /// check health; `None` lists all backends.
    pub async fn show_servers_state(&self, backend: Option<&Name>) -> Result<Vec<ServerStateRow>, Error> {
        parse_servers_state(&self.servers_state_text(backend).await?)
            .map_err(|e| Error::Unexpected { command: "show servers state".into(), detail: e.0 })
    }

    /// The raw answer to `show servers state`, checked to be one (the supervisor writes it back
    /// into the server-state file).
    pub(crate) async fn servers_state_text(&self, backend: Option<&Name>) -> Result<String, Error> {
        let command = match backend {
            Some(b) => format!("show servers state {b}"),
            None => "show servers state".to_owned(),
        };
        let answer = self.command(&command).await?;
        if !answer.starts_with("1\n") {
            let message = answer.trim().to_owned();
            return Err(Error::Rejected { kind: Rejection::classify(&message), message, command });
        }
        Ok(answer)
    }

    /// The worker's pid (`show info`): tells which worker answers the socket after a reload.
    pub async fn worker_pid(&self) -> Result<u32, Error> {
        let answer = self.command("show info").await?;
        answer.lines().find_map(|l| l.strip_prefix("Pid: ")).and_then(|p| p.trim().parse().ok()).ok_or_else(
            || Error::Unexpected {
                command: "show info".into(),
                detail: format!("no Pid line in {:?}", answer.lines().next().unwrap_or("")),
            },
        )
    }

    /// Puts a server in rotation once its checks pass: waits (polling `show stat`, bounded by
    /// `timeout`) until its health reaches `rise` while out of rotation, then `set server … state
    /// ready`.
    /// A server that is already in rotation is left alone. Fails with [`Error::NotHealthy`] and the
    /// last check result when the checks do not pass in time; the server then stays out.
    pub async fn admit(&self, backend: &Name, server: &Name, timeout: Duration) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            let row = self.server_stat(backend, server).await?.ok_or_else(|| Error::Rejected {
                command: format!("show stat ({backend}/{server})"),
                kind: Rejection::NoSuchServer,
                message: "No such server.".into(),
            })?;
            if row.status.in_rotation() {
                return Ok(());
            }
            if row.checks_passing() {
                // `state ready` leaves maintenance and drain alike (`enable server` keeps a drain).
                return self.set_state(backend, server, AdminState::Ready).await;
            }
            if start.elapsed() >= timeout {
                return Err(Error::NotHealthy {
                    backend: backend.to_string(),
                    server: server.to_string(),
                    after: timeout,
                    last_check: row.last_check(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Takes a server out without breaking a request: `drain`, wait until its current sessions
    /// (and queue) reach 0 or `timeout` runs out (polling `show stat`), `maint`, then `del server`
    /// — retried while HAProxy still holds connections to it (idle ones are purged within
    /// seconds); sessions still open after `timeout` are cut so the deletion can happen.
    /// A server that does not exist (any more) is success with `already_gone`.
    pub async fn drain(
        &self,
        backend: &Name,
        server: &Name,
        timeout: Duration,
    ) -> Result<DrainReport, Error> {
        let start = Instant::now();
        let gone = |e: &Error| e.rejection() == Some(Rejection::NoSuchServer);
        match self.set_state(backend, server, AdminState::Drain).await {
            Err(e) if gone(&e) => {
                return Ok(DrainReport {
                    already_gone: true,
                    sessions_left: 0,
                    forced: false,
                    elapsed: start.elapsed(),
                });
            }
            other => other?,
        }
        let mut sessions_left;
        loop {
            let Some(row) = self.server_stat(backend, server).await? else {
                return Ok(DrainReport {
                    already_gone: true,
                    sessions_left: 0,
                    forced: false,
                    elapsed: start.elapsed(),
                });
            };
            sessions_left = row.scur + row.qcur;
            if sessions_left == 0 || start.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        self.set_state(backend, server, AdminState::Maint).await?;
        let mut forced = false;
        if sessions_left > 0 {
            self.shutdown_sessions(backend, server).await?;
            forced = true;
        }
        let deadline = timeout.max(start.elapsed()) + DELETE_GRACE;
        loop {
            match self.del_server(backend, server).await {
                Ok(()) => break,
                Err(e) if gone(&e) => break,
                Err(e) if e.rejection() == Some(Rejection::HasConnections) && start.elapsed() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(DrainReport { already_gone: false, sessions_left, forced, elapsed: start.elapsed() })
    }
}
