//! The HTTP API, through the real server on a free port and a fresh database per test.

mod audit;
mod auth;
mod authz;
mod cloud_configs;
mod deploy_input;
mod deployments;
mod drift;
mod embedded;
mod errors;
mod faults;
mod fencing;
mod fresh;
mod health;
mod hosts;
mod instances;
mod lifecycle;
mod metrics;
mod openapi;
mod phone_home;
mod real_hosts;
mod rollouts;
mod routing;
mod servers;
mod traces;
mod trust;
