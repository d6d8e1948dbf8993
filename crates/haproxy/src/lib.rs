//! HAProxy 2.6 as a typed building block for Mosaic's load balancing.
//!
//! - [`Config`] models what HAProxy should serve (one frontend + backend per [`Service`], with a
//!   health check that speaks the protocol) and renders `haproxy.cfg` safely.
//! - [`Haproxy`] supervises one HAProxy in master-worker mode in its own data directory: start
//!   (daemonised, outliving Mosaic), attach, seamless reload through the master CLI, stop.
//! - [`RuntimeApi`] changes membership without reloads over the admin socket: add, admit,
//!   drain and delete servers, and reads `show stat` / `show servers state` as typed rows.
//!
//! Everything here was checked against Debian bookworm's `haproxy` 2.6.12; the module docs of
//! `runtime` and `process` list the behaviours the design depends on.

mod config;
mod error;
mod master;
mod name;
mod paths;
mod process;
mod runtime;
mod socket;
mod stats;

pub use config::{
    CheckTiming, Config, ConfigError, Global, HealthCheck, HttpCheck, HttpMethod, Mode, Server, Service,
    TcpCheck, Timeouts,
};
pub use error::{Error, Rejection};
pub use master::{Process, Processes};
pub use name::{Name, NameError};
pub use paths::Paths;
pub use process::{Haproxy, Origin, ReloadReport, Settings, alive, check_config, terminate, version};
pub use runtime::{AdminState, DrainReport, RuntimeApi};
pub use stats::{
    AdminFlags, OpState, ParseError, RowKind, ServerStateRow, ServerStatus, StatRow, parse_servers_state,
    parse_show_stat,
};
