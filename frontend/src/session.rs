//! The signed-in session: the API token, kept in session storage until sign-out.

use gloo_storage::{SessionStorage, Storage};
use yew::prelude::*;

const KEY: &str = "mosaic.token";

/// The session, shared through a context.
#[derive(Clone, PartialEq)]
pub struct Session {
    /// The API token, if signed in.
    pub token: Option<AttrValue>,
    /// Signs in with a token (already checked) or out (`None`).
    pub set: Callback<Option<String>>,
}

/// Provides the session to its children.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The app.
    pub children: Html,
}

/// The session provider.
#[function_component(SessionProvider)]
pub fn session_provider(props: &Props) -> Html {
    let token = use_state(|| SessionStorage::get::<String>(KEY).ok().map(AttrValue::from));
    let set = {
        let token = token.clone();
        Callback::from(move |value: Option<String>| {
            match &value {
                Some(t) => {
                    let _ = SessionStorage::set(KEY, t);
                }
                None => SessionStorage::delete(KEY),
            }
            token.set(value.map(AttrValue::from));
        })
    };
    let session = Session { token: (*token).clone(), set };
    html! { <ContextProvider<Session> context={session}>{ props.children.clone() }</ContextProvider<Session>> }
}

/// The session.
#[hook]
pub fn use_session() -> Session {
    use_context::<Session>().expect("SessionProvider wraps the app")
}

/// The token, or an empty string when signed out (pages are only shown signed in).
#[hook]
pub fn use_token() -> String {
    use_session().token.map(|t| t.to_string()).unwrap_or_default()
}
