//! The app's own hooks: the two shapes every page's work with the API takes.
//!
//! - [`use_load`]: read something when the component appears (and when its inputs change), keep
//!   it, show why reading failed, read it again on demand.
//! - [`use_action`]: do something when the user asks (save, delete, start a job): whether it is
//!   under way, why it failed, and what to do once it worked.
//!
//! Both call the API as the signed-in user ([`crate::session::use_api`]), so a 401 anywhere signs
//! the user out.

pub mod use_action;
pub mod use_load;

pub use use_action::use_action;
pub use use_load::use_load;
