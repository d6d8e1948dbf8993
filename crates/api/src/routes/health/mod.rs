//! `GET /api/health`: is the server up.

pub mod get;
