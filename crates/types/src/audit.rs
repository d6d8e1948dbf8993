//! The audit log: who did what, to what, when, and how it ended.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

crate::stored::stored_enum! {
    /// How an audited action ended.
    pub enum Outcome {
        /// It did what was asked.
        Success = "success",
        /// It was refused or failed.
        Failure = "failure",
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Increasing ID (use it to page: `?before=`).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (user name).
    pub actor: String,
    /// What, e.g. `host.create`, `cloud_config.update`.
    pub action: String,
    /// To what, e.g. `host/lxd-a`.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Details: the error for failures.
    pub detail: String,
}
