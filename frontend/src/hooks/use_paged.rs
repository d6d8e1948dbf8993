//! "Load the first page of a list, then more on demand."

use std::future::Future;

use mosaic_types::page::Page;
use yew::prelude::*;

use super::use_load::{UseLoadHandle, use_load};
use crate::services::{Api, ApiError};

/// A paged load's state and controls, as [`use_paged`] returns them.
pub struct UsePagedHandle<T> {
    /// The load: its data is the items of the pages shown so far, and the cursor after them.
    pub load: UseLoadHandle<Page<T>>,
    more: Callback<()>,
}

impl<T: 'static> UsePagedHandle<T> {
    /// The items shown so far.
    pub fn items(&self) -> Option<&[T]> {
        self.load.data().map(|p| p.items.as_slice())
    }

    /// Whether the server has more than is shown.
    pub fn has_more(&self) -> bool {
        self.load.data().is_some_and(|p| p.next_cursor.is_some())
    }

    /// Shows one more page.
    pub fn more(&self) -> Callback<()> {
        self.more.clone()
    }
}

/// Loads the first `n` pages of a list with `load(api, deps, n)`, starting with one: `more()`
/// shows one more, and a change of `deps` (a search) starts again from the first page. A reload
/// reads the pages shown again, so what is on screen stays fresh.
#[hook]
pub fn use_paged<T, D, F, Fut>(deps: D, load: F) -> UsePagedHandle<T>
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: Fn(Api, D, usize) -> Fut + 'static,
    Fut: Future<Output = Result<Page<T>, ApiError>> + 'static,
{
    // How many pages are shown, and for which inputs: new inputs show one page again.
    let shown = use_state(|| (deps.clone(), 1_usize));
    let pages = if shown.0 == deps { shown.1 } else { 1 };
    let load = use_load((deps.clone(), pages), move |api, (deps, pages)| load(api, deps, pages));
    let more = Callback::from(move |()| shown.set((deps.clone(), pages + 1)));
    UsePagedHandle { load, more }
}
