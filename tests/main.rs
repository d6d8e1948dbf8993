//! Mosaic's one integration-test binary, run against the real test environment
//! (`scripts/testenv.sh up`): real LXD daemons, real PostgreSQL.

mod api;
mod lxd_client;
