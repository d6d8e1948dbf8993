//! The LXD client crate against the two real LXD daemons.

mod cloud_init;
mod cluster;
mod devices;
mod events;
pub(crate) mod fake_server;
mod fanout;
mod files;
mod hardening;
mod images;
mod lifecycle;
mod names;
mod projects;
mod tls;
