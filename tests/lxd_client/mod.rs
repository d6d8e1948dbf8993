//! The LXD client crate against the two real LXD daemons.

mod cloud_init;
mod fanout;
mod lifecycle;
mod names;
mod tls;
