//! The app's own hooks: the shapes every page's work with the API takes.
//!
//! - [`use_load`]: read something when the component appears (and when its inputs change), keep
//!   it, show why reading failed, read it again on demand.
//! - [`use_paged`]: the same for a list read a page at a time, with "More".
//! - [`use_action`]: do something when the user asks (save, delete, start a job): whether it is
//!   under way, why it failed, and what to do once it worked.
//!
//! They call the API as the signed-in user ([`crate::session::use_api`]), so a 401 anywhere signs
//! the user out.

pub mod use_action;
pub mod use_load;
pub mod use_paged;

pub use use_action::use_action;
pub use use_load::use_load;
pub use use_paged::use_paged;
