//! Reusable pieces.

pub mod deploy_dialog;
pub mod error;
pub mod job_progress;
pub mod memory_chart;
pub mod modal;
pub mod more;
pub mod rollout;
pub mod secret;
pub mod service;
pub mod token_table;

pub use deploy_dialog::DeployDialog;
pub use error::ErrorBanner;
pub use job_progress::JobProgress;
pub use memory_chart::MemoryChart;
pub use modal::Modal;
pub use more::More;
pub use rollout::{RolloutDialog, RolloutPanel};
pub use secret::SecretOnce;
pub use service::ExposeDialog;
pub use token_table::TokenTable;
