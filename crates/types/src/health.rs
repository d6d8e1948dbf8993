//! `GET /api/health`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether the server and what it depends on are reachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers, `degraded` otherwise.
    pub status: String,
    /// Mosaic's version.
    pub version: String,
    /// Whether the database answered.
    pub database: bool,
    /// Each registered host and whether it answered.
    pub hosts: Vec<HostHealth>,
}

/// One host's reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostHealth {
    /// Its name.
    pub name: String,
    /// Whether it answered.
    pub online: bool,
}
