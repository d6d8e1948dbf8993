//! Supervising one HAProxy in master-worker mode: start (daemonised, so it outlives Mosaic),
//! attach, seamless reload through the master CLI, stop.
//!
//! HAProxy 2.6 facts this is built on (seen on this machine):
//! - `haproxy -W -D` forks the master into its own session (so it survives Mosaic), reports a
//!   start failure (e.g. `cannot bind socket`) on stderr with exit status 1, then closes stdio.
//! - `reload` on the master CLI re-executes the master with the same arguments; listeners pass to
//!   the new worker (`-x sockpair@…`), so no connection is refused. The connection closes without
//!   an answer. `show proc` then lists the new worker; a failed reload only increments
//!   `[failed: N]` and the previous worker keeps serving. `haproxy -c` does not catch a bind
//!   failure, so new bind addresses are tried here first.
//! - Servers added at runtime are gone from the new worker after a reload, and a server that is
//!   in the file but unknown to the state file starts UP before its first check. So the file gets
//!   the servers the running worker has in rotation or draining (at the same address), their
//!   states travel in the server-state file, and the rest are added at runtime after the reload
//!   (in maintenance until their checks pass).
//! - A server the state file puts in maintenance *enters* it, and HAProxy pauses the health checks
//!   of a server entering maintenance until it leaves: a server waiting there for its checks would
//!   wait forever. So servers in maintenance are never carried in the file; they are added again.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::Mutex;

use crate::config::rendered_binds;
use crate::error::Rejection;
use crate::master::{MasterCli, Processes};
use crate::stats::{ServerStateRow, parse_servers_state, servers_state_header};
use crate::{Config, Error, Name, Paths, RuntimeApi};

const POLL: Duration = Duration::from_millis(25);

/// Where HAProxy lives and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The `haproxy` binary (`MOSAIC_HAPROXY_BIN` in the server; Debian's is `/usr/sbin/haproxy`).
    pub binary: PathBuf,
    /// The data directory (created 0700): config, sockets, pidfile, server states.
    pub data_dir: PathBuf,
    /// Bound on each wait for HAProxy: start, a reload's new worker, one socket command.
    pub ready_timeout: Duration,
}

impl Settings {
    /// Settings with a 10 s bound on waits.
    pub fn new(binary: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self { binary: binary.into(), data_dir: data_dir.into(), ready_timeout: Duration::from_secs(10) }
    }
}

/// Whether [`Haproxy::start_or_attach`] found a running HAProxy or started one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A new master was started.
    Started,
    /// A running master answered on the data directory's socket.
    Attached,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// The pid of the worker now serving the new configuration.
    pub worker_pid: u32,
    /// Servers of the config that the old worker did not have; they were added at runtime after
    /// the reload and wait in maintenance until `admit`ted.
    pub added: Vec<(Name, Name)>,
}

/// A handle on one supervised HAProxy. Dropping it leaves HAProxy running (that is the point:
/// restarting Mosaic must not drop a connection); [`Haproxy::attach`] finds it again.
#[derive(Debug)]
pub struct Haproxy {
    settings: Settings,
    paths: Paths,
    runtime: RuntimeApi,
    master: MasterCli,
    master_pid: u32,
    /// Reloads rewrite shared files (config, state file): one at a time.
    reload_lock: Mutex<()>,
}

impl Haproxy {
    /// Attaches to the HAProxy running in `settings.data_dir`, or starts one with `config`.
    /// After attaching, the running config is whatever it was; call [`Haproxy::reload`] to apply
    /// `config` (a reload is seamless, so doing it unconditionally is safe).
    pub async fn start_or_attach(settings: Settings, config: &Config) -> Result<(Self, Origin), Error> {
        if let Some(haproxy) = Self::attach(settings.clone()).await? {
            return Ok((haproxy, Origin::Attached));
        }
        Ok((Self::start(settings, config).await?, Origin::Started))
    }

    /// Attaches to the HAProxy running in `settings.data_dir`: `None` when nothing answers on its
    /// master socket (never started, stopped, or the machine rebooted).
    pub async fn attach(settings: Settings) -> Result<Option<Self>, Error> {
        let paths = paths_for(&settings)?;
        let master = MasterCli::new(&paths.master_socket, settings.ready_timeout);
        let processes = match master.processes().await {
            Ok(p) => p,
            Err(Error::Io { source, .. }) if not_listening(&source) => return Ok(None),
            Err(e) => return Err(e),
        };
        let runtime = RuntimeApi::new(&paths.admin_socket).with_timeout(settings.ready_timeout);
        let haproxy = Self {
            master_pid: processes.master_pid,
            settings,
            paths,
            runtime,
            master,
            reload_lock: Mutex::new(()),
        };
        haproxy.wait_for_worker(|_| true, None).await?;
        Ok(Some(haproxy))
    }

    /// Starts a new HAProxy in `settings.data_dir` with `config`: validates the file with
    /// `haproxy -c`, starts the master daemonised (`-W -D`, master CLI on `master.sock`, 0600),
    /// waits until its worker answers on the admin socket, then adds the config's servers at
    /// runtime (in maintenance, checks on: `admit` them). Fails with [`Error::AlreadyRunning`] if
    /// one already answers there, [`Error::NotInstalled`] without a binary.
    pub async fn start(settings: Settings, config: &Config) -> Result<Self, Error> {
        version(&settings.binary).await?;
        let paths = paths_for(&settings)?;
        prepare_dir(&paths.dir)?;
        if let Some(running) = Self::attach(settings.clone()).await? {
            return Err(Error::AlreadyRunning { dir: paths.dir.clone(), master_pid: running.master_pid });
        }
        let (file_config, left_out) = config.split_servers(|_, _| false);
        let text = file_config.render(&paths)?;
        // States from an earlier process must not be applied to this one.
        remove_if_exists(&paths.state_file)?;
        write_checked(&settings.binary, &paths.config, &text).await?;

        let master_arg = format!("{},mode,600", paths.master_socket.display());
        let mut command = Command::new(&settings.binary);
        command
            .args(["-W", "-D", "-S", &master_arg, "-f"])
            .arg(&paths.config)
            .current_dir(&paths.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = tokio::time::timeout(settings.ready_timeout, command.output())
            .await
            .map_err(|_| Error::Timeout { what: "haproxy to start".into(), after: settings.ready_timeout })?
            .map_err(Error::io(format!("running {}", settings.binary.display())))?;
        if !output.status.success() {
            return Err(Error::StartFailed {
                status: output.status.to_string(),
                output: printed(&output.stdout, &output.stderr),
            });
        }
        let master = MasterCli::new(&paths.master_socket, settings.ready_timeout);
        let runtime = RuntimeApi::new(&paths.admin_socket).with_timeout(settings.ready_timeout);
        let mut haproxy =
            Self { master_pid: 0, settings, paths, runtime, master, reload_lock: Mutex::new(()) };
        let processes = haproxy.wait_for_worker(|_| true, None).await?;
        haproxy.master_pid = processes.master_pid;
        haproxy.add_servers(config, &left_out).await?;
        tracing::info!(master_pid = haproxy.master_pid, dir = %haproxy.paths.dir.display(), "haproxy started");
        Ok(haproxy)
    }

    /// Applies `config` with one seamless reload: the file gets the services and the servers the
    /// running worker has (states carried over through the server-state file), new bind
    /// addresses are tried first, the file is checked with `haproxy -c`, the master reloads, and
    /// this returns once the new worker answers on the admin socket. Servers of `config` the old
    /// worker did not have are then added at runtime (in maintenance: `admit` them); servers the
    /// worker has but `config` does not are gone from the new worker — drain them first.
    /// On failure the previous configuration keeps serving and the previous file is restored.
    pub async fn reload(&self, config: &Config) -> Result<ReloadReport, Error> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let state_text = self.runtime.servers_state_text(None).await?;
        let running: Vec<ServerStateRow> = parse_servers_state(&state_text)
            .map_err(|e| Error::Unexpected { command: "show servers state".into(), detail: e.0 })?;
        let present: HashSet<(&str, &str, SocketAddr)> = running
            .iter()
            .filter(|r| !r.admin.maint())
            .map(|r| (r.backend.as_str(), r.server.as_str(), r.socket_addr()))
            .collect();
        let (file_config, left_out) = config.split_servers(|backend, server| {
            present.contains(&(backend.as_str(), server.name.as_str(), server.addr))
        });
        let text = file_config.render(&self.paths)?;

        let previous = std::fs::read_to_string(&self.paths.config)
            .map_err(Error::io(format!("reading {}", self.paths.config.display())))?;
        let bound = rendered_binds(&previous);
        for addr in config.binds().into_iter().filter(|a| !bound.contains(a)) {
            TcpListener::bind(addr).map_err(|source| Error::BindUnavailable { addr, source })?;
        }

        // The new worker loads these states: only for servers written into the file, so a state
        // never lands on a server of the same name at another address.
        let kept: HashSet<(&str, &str)> = file_config
            .services
            .iter()
            .flat_map(|s| s.servers.iter().map(move |srv| (s.name.as_str(), srv.name.as_str())))
            .collect();
        let mut states = servers_state_header(&state_text).unwrap_or_default();
        for row in running.iter().filter(|r| kept.contains(&(r.backend.as_str(), r.server.as_str()))) {
            states.push_str(&row.raw);
            states.push('\n');
        }
        write_atomically(&self.paths.state_file, &states)?;
        write_checked(&self.settings.binary, &self.paths.config, &text).await?;

        let before = self.master.processes().await?;
        let result = async {
            self.master.reload().await?;
            let old: HashSet<u32> = before.workers.iter().map(|w| w.pid).collect();
            self.wait_for_worker(|pid| !old.contains(&pid), Some(before.failed_reloads)).await
        }
        .await;
        let processes = match result {
            Ok(p) => p,
            Err(e) => {
                if let Err(restore) = write_atomically(&self.paths.config, &previous) {
                    tracing::warn!(error = %restore, "could not restore the previous haproxy.cfg");
                }
                return Err(e);
            }
        };
        let worker_pid = processes.workers.iter().map(|w| w.pid).max().unwrap_or_default();
        let added = self.add_servers(config, &left_out).await?;
        tracing::info!(worker_pid, added = added.len(), "haproxy reloaded");
        Ok(ReloadReport { worker_pid, added })
    }

    /// Stops HAProxy: a soft stop first (`SIGUSR1` to the master: listeners close, current
    /// connections finish), then `SIGTERM` if it is still there after `grace`. Returns once the
    /// master is gone.
    pub async fn stop(self, grace: Duration) -> Result<(), Error> {
        let pid = match self.master.processes().await {
            Ok(p) => p.master_pid,
            Err(Error::Io { source, .. }) if not_listening(&source) => self.master_pid,
            Err(e) => return Err(e),
        };
        signal(pid, rustix::process::Signal::USR1)?;
        if wait_gone(pid, grace).await {
            return Ok(());
        }
        signal(pid, rustix::process::Signal::TERM)?;
        if wait_gone(pid, self.settings.ready_timeout).await {
            return Ok(());
        }
        Err(Error::Timeout {
            what: format!("haproxy master {pid} to exit"),
            after: grace + self.settings.ready_timeout,
        })
    }

    /// The runtime API of the current worker.
    pub fn runtime(&self) -> &RuntimeApi {
        &self.runtime
    }

    /// The files of this HAProxy.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The master's pid.
    pub fn master_pid(&self) -> u32 {
        self.master_pid
    }

    /// `show proc` on the master: current and old workers, reload counts.
    pub async fn processes(&self) -> Result<Processes, Error> {
        self.master.processes().await
    }

    /// Waits until `show proc` lists a current worker accepted by `is_new` and that worker
    /// answers on the admin socket. With `failed_before`, a failed-reload count above it ends
    /// the wait with [`Error::ReloadFailed`].
    async fn wait_for_worker(
        &self,
        is_new: impl Fn(u32) -> bool,
        failed_before: Option<u32>,
    ) -> Result<Processes, Error> {
        let timeout = self.settings.ready_timeout;
        let start = Instant::now();
        loop {
            match self.master.processes().await {
                Ok(p) => {
                    if let Some(failed) = failed_before
                        && p.failed_reloads > failed
                    {
                        return Err(Error::ReloadFailed { failed_reloads: p.failed_reloads });
                    }
                    if let Some(worker) = p.workers.iter().find(|w| is_new(w.pid)) {
                        // The worker binds the admin socket as it finishes starting.
                        if matches!(self.runtime.worker_pid().await, Ok(pid) if pid == worker.pid) {
                            return Ok(p);
                        }
                    }
                }
                // While re-executing, the master is briefly not listening.
                Err(Error::Io { source, .. }) if not_listening(&source) => {}
                Err(e) => return Err(e),
            }
            if start.elapsed() >= timeout {
                return Err(Error::Timeout {
                    what: format!("a haproxy worker answering on {}", self.runtime.socket().display()),
                    after: timeout,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Adds `servers` at runtime with their service's check timing; a server that already exists
    /// is left as it is.
    async fn add_servers(
        &self,
        config: &Config,
        servers: &[(Name, crate::Server)],
    ) -> Result<Vec<(Name, Name)>, Error> {
        let mut added = Vec::new();
        for (backend, server) in servers {
            let Some(service) = config.service(backend) else { continue };
            match self.runtime.add_server(backend, &server.name, server.addr, &service.timing).await {
                Ok(()) => added.push((backend.clone(), server.name.clone())),
                Err(e) if e.rejection() == Some(Rejection::AlreadyExists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(added)
    }
}

/// The version string of the HAProxy at `binary` (`2.6.12-1+deb12u4`); [`Error::NotInstalled`]
/// when there is no such file, [`Error::UnsupportedBinary`] when it is not HAProxy 2.x or later.
pub async fn version(binary: &Path) -> Result<String, Error> {
    match std::fs::metadata(binary) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(Error::NotInstalled { path: binary.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotInstalled { path: binary.to_path_buf() });
        }
        Err(e) => return Err(Error::io(format!("looking at {}", binary.display()))(e)),
    }
    let unsupported = |detail: String| Error::UnsupportedBinary { path: binary.to_path_buf(), detail };
    let output = Command::new(binary)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| unsupported(format!("cannot run it: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("HAProxy version "))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| unsupported(format!("`-v` printed {:?}", text.lines().next().unwrap_or(""))))?;
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 2 {
        return Err(unsupported(format!("version {version}; 2.6 or later is needed")));
    }
    Ok(version.to_owned())
}

/// Runs `haproxy -c` on `file`: [`Error::ConfigRejected`] with HAProxy's report if it refuses.
pub async fn check_config(binary: &Path, file: &Path) -> Result<(), Error> {
    version(binary).await?;
    let output = Command::new(binary)
        .args(["-c", "-f"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(Error::io(format!("running {} -c", binary.display())))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::ConfigRejected { output: printed(&output.stdout, &output.stderr) })
    }
}

/// Sends `SIGTERM` to the master recorded in `data_dir`'s pidfile (a hard stop: workers close
/// everything). Synchronous so it can run from a `Drop` guard; returns the pid signalled, `None`
/// when there is no pidfile or its process is gone.
pub fn terminate(data_dir: &Path) -> std::io::Result<Option<u32>> {
    let pidfile = Paths::in_dir(data_dir).pidfile;
    let text = match std::fs::read_to_string(&pidfile) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(pid) = text.lines().next().and_then(|l| l.trim().parse::<u32>().ok()) else {
        return Ok(None);
    };
    if !alive(pid) {
        return Ok(None);
    }
    match signal(pid, rustix::process::Signal::TERM) {
        Ok(()) => Ok(Some(pid)),
        Err(Error::Io { source, .. }) => Err(source),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// Whether process `pid` exists and is not a zombie (a dead master whose parent has not reaped
/// it yet must count as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain ')'.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()) != Some('Z'),
        Err(_) => false,
    }
}

async fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() >= timeout {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}

fn signal(pid: u32, sig: rustix::process::Signal) -> Result<(), Error> {
    let raw = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw).ok_or_else(|| {
        Error::Unexpected { command: "signal".into(), detail: format!("{pid} is not a process id") }
    })?;
    match rustix::process::kill_process(raw, sig) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(Error::io(format!("signalling haproxy master {pid}"))(e.into())),
    }
}

fn not_listening(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused)
}

fn printed(stdout: &[u8], stderr: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(stderr).trim().to_owned();
    let out = String::from_utf8_lossy(stdout);
    if !out.trim().is_empty() {
        text.push('\n');
        text.push_str(out.trim());
    }
    text
}

/// The data directory's files, by absolute path: the master re-executes itself on reload and
/// the file names sockets, so nothing may depend on a working directory.
fn paths_for(settings: &Settings) -> Result<Paths, Error> {
    let dir = std::path::absolute(&settings.data_dir)
        .map_err(Error::io(format!("resolving {}", settings.data_dir.display())))?;
    Ok(Paths::in_dir(dir))
}

fn prepare_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    // The sockets give full control of the load balancer: only this user may reach them.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(Error::io(format!("making {} private", dir.display())))
}

fn remove_if_exists(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", path.display()))(e)),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes `text` to a temporary sibling (0600, synced) and renames it over `path`: a reader, or
/// HAProxy re-executing, sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let tmp = sibling(path, ".tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(Error::io(format!("creating {}", tmp.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(Error::io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(Error::io(format!("replacing {}", path.display())))
}

/// Writes the config to a sibling, has `haproxy -c` check it, and only then renames it over
/// `path`: a file HAProxy refuses never becomes the one a reload reads.
async fn write_checked(binary: &Path, path: &Path, text: &str) -> Result<(), Error> {
    let candidate = sibling(path, ".new");
    write_atomically(&candidate, text)?;
    if let Err(e) = check_config(binary, &candidate).await {
        let _ = std::fs::remove_file(&candidate);
        return Err(e);
    }
    std::fs::rename(&candidate, path).map_err(Error::io(format!("replacing {}", path.display())))
}
