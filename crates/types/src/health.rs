//! `GET /api/health` (anyone) and `GET /api/v1/health` (with a token).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether the server and what it depends on are reachable. Answered to anyone, so it names no
/// host: counts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers, `degraded` otherwise.
    pub status: String,
    /// Mosaic's version.
    pub version: String,
    /// Whether the database answered.
    pub database: bool,
    /// Registered hosts, and how many answered the host cache's last poll.
    pub hosts: HostCounts,
}

/// Hosts by reachability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostCounts {
    /// Hosts the host cache knows.
    pub total: u32,
    /// Hosts that answered its last poll.
    pub online: u32,
}

/// [`Health`] with each host named, for signed-in users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthDetail {
    /// The summary anyone sees.
    #[serde(flatten)]
    pub health: Health,
    /// Each host as the host cache last saw it.
    pub host_details: Vec<HostHealth>,
}

/// One host's reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostHealth {
    /// Its name.
    pub name: String,
    /// Whether it answered the last poll.
    pub online: bool,
    /// Why not, when it did not.
    pub error: Option<String>,
    /// How old that answer is, in milliseconds (`null` before the first poll).
    pub data_age_ms: Option<u64>,
    /// Whether its instances' status is live (its event stream) or polled.
    pub events: crate::hosts::HostEvents,
}
