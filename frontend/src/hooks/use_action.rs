//! Running an action: pending state, error, on-success.

use std::future::Future;
use std::rc::Rc;

use yew::prelude::*;

use crate::services::{Api, ApiError};
use crate::session::use_api;

/// Where an action is.
#[derive(Clone, PartialEq, Default)]
struct ActionState {
    /// Runs under way (an action may be run again before the last run ended).
    pending: usize,
    /// Why the last run failed, until dismissed or a later run starts.
    error: Option<ApiError>,
}

enum ActionEvent {
    Started,
    Succeeded,
    Failed(ApiError),
    Dismissed,
}

impl Reducible for ActionState {
    type Action = ActionEvent;

    fn reduce(self: Rc<Self>, event: ActionEvent) -> Rc<Self> {
        let pending = self.pending;
        Rc::new(match event {
            ActionEvent::Started => ActionState { pending: pending + 1, error: None },
            ActionEvent::Succeeded => ActionState { pending: pending.saturating_sub(1), ..(*self).clone() },
            ActionEvent::Failed(e) => ActionState { pending: pending.saturating_sub(1), error: Some(e) },
            ActionEvent::Dismissed if self.error.is_none() => return self,
            ActionEvent::Dismissed => ActionState { pending, error: None },
        })
    }
}

/// An action's state and trigger, as [`use_action`] returns them.
pub struct UseActionHandle<I> {
    state: UseReducerHandle<ActionState>,
    run: Callback<I>,
}

impl<I: 'static> UseActionHandle<I> {
    /// Runs the action with this input.
    pub fn run(&self) -> Callback<I> {
        self.run.clone()
    }

    /// Whether a run is under way (to disable its button).
    pub fn pending(&self) -> bool {
        self.state.pending > 0
    }

    /// Why the last run failed.
    pub fn error(&self) -> Option<ApiError> {
        self.state.error.clone()
    }

    /// Forgets the error (for the banner's "Dismiss").
    pub fn dismiss(&self) -> Callback<()> {
        let dispatcher = self.state.dispatcher();
        Callback::from(move |()| dispatcher.dispatch(ActionEvent::Dismissed))
    }
}

/// An action the user starts: `action(api, input)` runs when `run()` is called; its error is kept
/// for the page to show; `on_success` gets the result. A check that fails in the browser (a form
/// field) is an `Err` from `action` like the server's own, and is shown the same way.
#[hook]
pub fn use_action<I, T, F, Fut, S>(action: F, on_success: S) -> UseActionHandle<I>
where
    I: 'static,
    T: 'static,
    F: Fn(Api, I) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
    S: Fn(T) + 'static,
{
    let api = use_api();
    let state = use_reducer(ActionState::default);
    let run = {
        let dispatcher = state.dispatcher();
        let on_success = Rc::new(on_success);
        Callback::from(move |input: I| {
            dispatcher.dispatch(ActionEvent::Started);
            let request = action(api.clone(), input);
            let (dispatcher, on_success) = (dispatcher.clone(), on_success.clone());
            yew::platform::spawn_local(async move {
                match request.await {
                    Ok(value) => {
                        dispatcher.dispatch(ActionEvent::Succeeded);
                        on_success(value);
                    }
                    Err(e) => dispatcher.dispatch(ActionEvent::Failed(e)),
                }
            });
        })
    };
    UseActionHandle { state, run }
}
