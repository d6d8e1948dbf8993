//! The HTTP API, through the real server on a free port and a fresh database per test.

mod audit;
mod auth;
mod cloud_configs;
mod deployments;
mod embedded;
mod errors;
mod health;
mod hosts;
mod lifecycle;
mod openapi;
