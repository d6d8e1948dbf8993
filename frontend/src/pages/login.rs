//! Sign in with an API token.

use std::rc::Rc;

use mosaic_types::users::Me;
use yew::prelude::*;

use super::input_value;
use crate::components::ErrorBanner;
use crate::hooks::use_action;
use crate::services::{self, Api};
use crate::session::{SessionAction, use_session};

/// The sign-in screen: the token is checked against `GET /api/v1/me` before it is kept, and the
/// answer says what the app may offer. When the server signed the user out (a 401), it says so
/// here.
#[function_component(Login)]
pub fn login() -> Html {
    let session = use_session();
    let token = use_state(String::new);
    let sign_in = use_action(
        // The token typed here is not the session's yet: a 401 only means it is wrong.
        |_, token: String| async move {
            let me = services::users::me(&Api::new(token.clone().into(), Callback::noop())).await?;
            Ok((token, me))
        },
        {
            let dispatch = session.dispatch.clone();
            move |(token, me): (String, Me)| dispatch.emit(SessionAction::SignIn(token.into(), Rc::new(me)))
        },
    );
    let submit = {
        let (token, run) = (token.clone(), sign_in.run());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(token.trim().to_owned());
        })
    };
    let busy = sign_in.pending();
    html! {
        <main class="login">
            <h1>{ "Mosaic" }</h1>
            <p class="muted">{ "Fleets of LXD containers from cloud-config templates." }</p>
            if let Some(why) = &session.signed_out_because {
                <div class="banner warn" id="signed-out" role="status">{ why }</div>
            }
            <form onsubmit={submit}>
                <label for="token">{ "API token" }</label>
                <input id="token" type="password" autocomplete="off" placeholder="mosaic_…" value={(*token).clone()}
                    oninput={let t = token.clone(); Callback::from(move |e| t.set(input_value(&e)))} />
                <button type="submit" id="sign-in" disabled={busy || token.trim().is_empty()}>{ if busy { "Signing in…" } else { "Sign in" } }</button>
            </form>
            <ErrorBanner error={sign_in.error()} on_dismiss={sign_in.dismiss()} />
        </main>
    }
}
