//! Sign in with an API token.

use yew::prelude::*;

use super::input_value;
use crate::components::ErrorBanner;
use crate::services::{self, ApiError};
use crate::session::use_session;

/// The sign-in screen: the token is checked against `GET /api/v1/me` before it is kept.
#[function_component(Login)]
pub fn login() -> Html {
    let session = use_session();
    let token = use_state(String::new);
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    let submit = {
        let (token, error, busy, set) = (token.clone(), error.clone(), busy.clone(), session.set.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (token, error, busy, set) = (token.clone(), error.clone(), busy.clone(), set.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let value = token.trim().to_owned();
                match services::get::<mosaic_types::users::User>("/api/v1/me", &value).await {
                    Ok(_) => set.emit(Some(value)),
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <main class="login">
            <h1>{ "Mosaic" }</h1>
            <p class="muted">{ "Fleets of LXD containers from cloud-config templates." }</p>
            <form onsubmit={submit}>
                <label for="token">{ "API token" }</label>
                <input id="token" type="password" autocomplete="off" placeholder="mosaic_…" value={(*token).clone()}
                    oninput={let t = token.clone(); Callback::from(move |e| t.set(input_value(&e)))} />
                <button type="submit" id="sign-in" disabled={*busy || token.trim().is_empty()}>{ if *busy { "Signing in…" } else { "Sign in" } }</button>
            </form>
            <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
        </main>
    }
}
