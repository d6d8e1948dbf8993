//! Mosaic's API server: the library behind the `mosaic` binary and the integration tests.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod cloud_config_rules;
pub mod config;
pub mod db;
pub mod embedded_pg;
pub mod error;
pub mod hosts;
pub mod identity;
pub mod jobs;
pub mod labels;
pub mod metrics;
pub mod openapi;
pub mod overview;
pub mod overview_memo;
pub mod paging;
pub mod placement;
pub mod routes;
pub mod routing;
pub mod startup;
pub mod state;
pub mod telemetry;
