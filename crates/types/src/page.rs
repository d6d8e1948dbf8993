//! Pages of a list: a bounded number of items and where the next page starts.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One page of a list, in a stable order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Most items one page may hold.
pub const MAX_LIMIT: u32 = 500;
/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// How much of a list to return: `limit` items after `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page, as returned.
    #[param(max_length = 400)]
    pub cursor: Option<String>,
}
