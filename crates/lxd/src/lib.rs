//! A typed async client for the LXD REST API (LXD 5.0 LTS and later).
//!
//! The layout follows LXD's own Go client: one place turns LXD's response envelope into a
//! `Result` (`response.rs`), wire types are split by verb (`Instance` for GET, `InstancesPost` for
//! create, `InstanceStatePut` for state changes), and every mutation hands back an [`Operation`]
//! that can be waited on.
//!
//! A [`Client`] talks to one LXD host (or one cluster, failing over between its members), over
//! HTTPS with mutual TLS and the server certificate pinned by fingerprint ([`tls`]), or over the
//! daemon's unix socket; everything the host sends back is bounded and checked (no redirects,
//! only relative `/1.0/` paths followed, capped bodies and output). [`Client::events`] streams the
//! host's events over the same transport. [`Client::with_observer`] hooks metrics into every
//! request. [`HostLimiter`] fans one call per (host, item) out over
//! many hosts with a per-host concurrency bound.

mod client;
mod cluster;
mod devices;
mod error;
mod events;
mod exec;
mod fanout;
mod files;
mod fingerprint;
mod identity;
mod images;
mod instances;
mod name;
mod observer;
mod operation;
mod profiles;
mod projects;
mod response;
mod server;
mod status;
pub mod tls;
mod trust;

pub use client::{Client, DEFAULT_BODY_LIMIT};
pub use cluster::{ClusterMember, MemberStatus};
pub use devices::{ProxyBind, ProxyDevice};
pub use error::{Error, Result};
pub use events::{DEFAULT_EVENTS_PING, Event, EventStream, EventType, LifecycleEvent};
pub use exec::{DEFAULT_EXEC_OUTPUT_LIMIT, ExecOutput, ExecRequest};
pub use fanout::HostLimiter;
pub use files::FileTail;
pub use fingerprint::Fingerprint;
pub use identity::Identity;
pub use images::{Image, ImageAlias, ImageProtocol, ImageRef, ImagesPost, RemoteImage};
pub use instances::{
    Instance, InstanceFilter, InstanceSource, InstanceState, InstanceStateAction, InstanceStatePut,
    InstancesPost, MemoryState, NetworkAddress, NetworkState,
};
pub use name::InstanceName;
pub use observer::{ObservedRequest, RequestObserver, RequestOutcome, path_template};
pub use operation::{Operation, OperationMetadata, Progress};
pub use profiles::{Profile, ProfilesPost};
pub use projects::{Project, ProjectsPost};
pub use server::{Server, ServerEnvironment};
pub use status::StatusCode;
pub use trust::{CertificateToken, TrustToken};
