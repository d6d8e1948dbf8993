//! Mosaic's API server: the library behind the `mosaic` binary and the integration tests.

pub mod config;
pub mod routes;
pub mod startup;
pub mod telemetry;
