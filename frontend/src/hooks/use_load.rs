//! "Load this, show errors, reload."

use std::future::Future;
use std::rc::Rc;

use yew::prelude::*;

use crate::services::{Api, ApiError};
use crate::session::use_api;

/// What a load has brought so far.
struct LoadState<T> {
    /// The last data that arrived (kept while a reload runs or after a reload fails).
    data: Option<Rc<T>>,
    /// Why the last attempt failed, until dismissed or a later attempt works.
    error: Option<ApiError>,
    /// A request is under way.
    loading: bool,
}

enum LoadAction<T> {
    Started,
    Finished(Result<T, ApiError>),
    Dismissed,
}

impl<T> Reducible for LoadState<T> {
    type Action = LoadAction<T>;

    fn reduce(self: Rc<Self>, action: LoadAction<T>) -> Rc<Self> {
        match action {
            // No re-render for a state that does not change (a poll while one is running).
            LoadAction::Started if self.loading => self,
            LoadAction::Started => {
                Rc::new(LoadState { data: self.data.clone(), error: self.error.clone(), loading: true })
            }
            LoadAction::Finished(Ok(data)) => {
                Rc::new(LoadState { data: Some(Rc::new(data)), error: None, loading: false })
            }
            LoadAction::Finished(Err(error)) => {
                Rc::new(LoadState { data: self.data.clone(), error: Some(error), loading: false })
            }
            LoadAction::Dismissed if self.error.is_none() => self,
            LoadAction::Dismissed => {
                Rc::new(LoadState { data: self.data.clone(), error: None, loading: self.loading })
            }
        }
    }
}

/// A load's state and controls, as [`use_load`] returns them.
pub struct UseLoadHandle<T> {
    state: UseReducerHandle<LoadState<T>>,
    reload: Callback<()>,
}

impl<T: 'static> UseLoadHandle<T> {
    /// The data, once some arrived (also while a reload runs, and after one failed).
    pub fn data(&self) -> Option<&T> {
        self.state.data.as_deref()
    }

    /// The data, shared: for a child component's props without copying it.
    pub fn shared(&self) -> Option<Rc<T>> {
        self.state.data.clone()
    }

    /// Why the last attempt failed.
    pub fn error(&self) -> Option<ApiError> {
        self.state.error.clone()
    }

    /// Reads the data again (the answer to an earlier read that comes later is dropped).
    pub fn reload(&self) -> Callback<()> {
        self.reload.clone()
    }

    /// Forgets the error (for the banner's "Dismiss").
    pub fn dismiss(&self) -> Callback<()> {
        let dispatcher = self.state.dispatcher();
        Callback::from(move |()| dispatcher.dispatch(LoadAction::Dismissed))
    }
}

/// Loads `load(api, deps)` when the component mounts and whenever `deps` changes; `reload()`
/// loads again. Only the latest request's answer is kept: a slow answer to an earlier one
/// arriving after a newer one (or after the component is gone) is dropped.
#[hook]
pub fn use_load<T, D, F, Fut>(deps: D, load: F) -> UseLoadHandle<T>
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: Fn(Api, D) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let api = use_api();
    let state = use_reducer(|| LoadState { data: None, error: None, loading: false });
    // Counts requests: an answer is kept only if no request was made (or the component
    // unmounted) since its own.
    let latest = use_mut_ref(|| 0_u64);
    let run: Rc<dyn Fn(D)> = {
        let (dispatcher, latest) = (state.dispatcher(), latest.clone());
        Rc::new(move |deps: D| {
            let mine = {
                let mut latest = latest.borrow_mut();
                *latest += 1;
                *latest
            };
            dispatcher.dispatch(LoadAction::Started);
            let request = load(api.clone(), deps);
            let (dispatcher, latest) = (dispatcher.clone(), latest.clone());
            yew::platform::spawn_local(async move {
                let result = request.await;
                if *latest.borrow() == mine {
                    dispatcher.dispatch(LoadAction::Finished(result));
                }
            });
        })
    };
    {
        let (run, latest) = (run.clone(), latest.clone());
        use_effect_with(deps.clone(), move |deps| {
            run(deps.clone());
            move || *latest.borrow_mut() += 1
        });
    }
    let reload = Callback::from(move |()| run(deps.clone()));
    UseLoadHandle { state, reload }
}
