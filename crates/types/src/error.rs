//! The one error envelope every failure is answered with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A stable machine-readable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `validation_failed`, `deployment_not_found`, `unauthorized`.
    pub code: String,
    /// What is wrong, in words meant for the operator.
    pub message: String,
}
