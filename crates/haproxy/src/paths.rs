//! Where one supervised HAProxy keeps its files: everything lives in one data directory (mode
//! 0700), so one directory is one HAProxy, and attaching to it needs nothing but the directory.

use std::path::{Path, PathBuf};

/// The files of one supervised HAProxy, all inside its data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The data directory itself (created with mode 0700).
    pub dir: PathBuf,
    /// The rendered configuration (`haproxy.cfg`), replaced atomically on every change.
    pub config: PathBuf,
    /// The admin socket of the current worker (`admin.sock`, mode 0600): the runtime API.
    pub admin_socket: PathBuf,
    /// The master CLI socket (`master.sock`, mode 0600): `show proc`, `reload`.
    pub master_socket: PathBuf,
    /// The master's pid (`haproxy.pid`), written by HAProxy; used to signal it (`stop`, guards).
    pub pidfile: PathBuf,
    /// Server states dumped before each reload and loaded by the new worker
    /// (`server-state`), so drain/maint states and health survive the reload.
    pub state_file: PathBuf,
}

impl Paths {
    /// The standard layout inside `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref().to_path_buf();
        Self {
            config: dir.join("haproxy.cfg"),
            admin_socket: dir.join("admin.sock"),
            master_socket: dir.join("master.sock"),
            pidfile: dir.join("haproxy.pid"),
            state_file: dir.join("server-state"),
            dir,
        }
    }
}
