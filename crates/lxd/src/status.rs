//! LXD's numeric status codes.

use serde::{Deserialize, Serialize};

/// A status code as LXD reports it for operations and instances.
///
/// Kept as a number rather than a closed enum: newer LXD versions add codes (113 "Ready" in 5.5),
/// and an unknown code must not make a whole listing fail to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// The operation was created.
    pub const CREATED: StatusCode = StatusCode(100);
    /// The operation started.
    pub const STARTED: StatusCode = StatusCode(101);
    /// The instance is stopped.
    pub const STOPPED: StatusCode = StatusCode(102);
    /// The operation or instance is running.
    pub const RUNNING: StatusCode = StatusCode(103);
    /// The operation is being cancelled.
    pub const CANCELLING: StatusCode = StatusCode(104);
    /// The operation is pending.
    pub const PENDING: StatusCode = StatusCode(105);
    /// The instance is starting.
    pub const STARTING: StatusCode = StatusCode(106);
    /// The instance is stopping.
    pub const STOPPING: StatusCode = StatusCode(107);
    /// The instance is frozen.
    pub const FROZEN: StatusCode = StatusCode(110);
    /// The instance is in an error state.
    pub const ERROR: StatusCode = StatusCode(112);
    /// The operation succeeded.
    pub const SUCCESS: StatusCode = StatusCode(200);
    /// The operation failed.
    pub const FAILURE: StatusCode = StatusCode(400);
    /// The operation was cancelled.
    pub const CANCELLED: StatusCode = StatusCode(401);

    /// Whether an operation with this code has finished (successfully or not).
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }
}
