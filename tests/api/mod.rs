//! The HTTP API, through the real server on a free port and a fresh database per test.

mod audit;
mod auth;
mod cloud_configs;
mod deploy_input;
mod deployments;
mod drift;
mod embedded;
mod errors;
mod faults;
mod health;
mod hosts;
mod lifecycle;
mod openapi;
mod phone_home;
mod routing;
mod servers;
