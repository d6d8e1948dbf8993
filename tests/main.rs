//! Mosaic's one integration-test binary, run against the real test environment
//! (`scripts/testenv.sh up`): real LXD daemons, real PostgreSQL.

// Helpers shared by tests unwrap like the tests do: a panic is how a test reports a failure.
#![expect(clippy::unwrap_used, reason = "test code: a panic is the failure report")]

mod api;
mod e2e;
mod guide;
mod haproxy;
mod lxd_client;
