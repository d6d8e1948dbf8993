//! The signed-in session: the API token, kept in session storage until sign-out, and why the
//! user was signed out when the server stopped accepting it.

use std::rc::Rc;

use gloo_storage::{SessionStorage, Storage};
use yew::prelude::*;

use crate::services::{Api, Unauthorized};

const KEY: &str = "mosaic.token";

/// Who is signed in, and why nobody is when the server ended it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionState {
    /// The API token, if signed in.
    pub token: Option<AttrValue>,
    /// Why the user was signed out without asking (shown on the sign-in screen).
    pub signed_out_because: Option<AttrValue>,
}

/// What can happen to a session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
    /// Sign in with a token the server accepted.
    SignIn(AttrValue),
    /// The user signed out.
    SignOut,
    /// The server answered 401 to a request made with this token.
    Refused(Unauthorized),
}

impl Reducible for SessionState {
    type Action = SessionAction;

    fn reduce(self: Rc<Self>, action: SessionAction) -> Rc<Self> {
        match action {
            SessionAction::SignIn(token) => {
                Rc::new(SessionState { token: Some(token), signed_out_because: None })
            }
            SessionAction::SignOut => Rc::new(SessionState::default()),
            // A late answer to a request made with an earlier token says nothing about this one.
            SessionAction::Refused(u) if self.token.as_ref() != Some(&u.token) => self,
            SessionAction::Refused(u) => Rc::new(SessionState {
                token: None,
                signed_out_because: Some(
                    format!(
                        "You were signed out: Mosaic no longer accepts your token ({}). It may have \
                         been revoked; sign in with a valid one.",
                        u.error.message
                    )
                    .into(),
                ),
            }),
        }
    }
}

/// The session, shared through a context.
#[derive(Clone, PartialEq)]
pub struct Session {
    /// The API token, if signed in.
    pub token: Option<AttrValue>,
    /// Why the user was signed out without asking.
    pub signed_out_because: Option<AttrValue>,
    /// Changes the session.
    pub dispatch: Callback<SessionAction>,
}

impl Session {
    /// The API as this session's user; a 401 signs them out.
    pub fn api(&self) -> Api {
        Api::new(self.token.clone().unwrap_or_default(), self.dispatch.reform(SessionAction::Refused))
    }
}

/// Provides the session to its children.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The app.
    pub children: Html,
}

/// The session provider: keeps the token in session storage, so a reload stays signed in.
#[function_component(SessionProvider)]
pub fn session_provider(props: &Props) -> Html {
    let state = use_reducer(|| SessionState {
        token: SessionStorage::get::<String>(KEY).ok().map(AttrValue::from),
        signed_out_because: None,
    });
    use_effect_with(state.token.clone(), |token| match token {
        Some(t) => {
            // Storage can refuse (a full quota): the session then lasts until a reload.
            let _ = SessionStorage::set(KEY, t.as_str());
        }
        None => SessionStorage::delete(KEY),
    });
    let dispatch = {
        let state = state.clone();
        Callback::from(move |action| state.dispatch(action))
    };
    let session = Session {
        token: state.token.clone(),
        signed_out_because: state.signed_out_because.clone(),
        dispatch,
    };
    html! { <ContextProvider<Session> context={session}>{ props.children.clone() }</ContextProvider<Session>> }
}

/// The session.
#[hook]
pub fn use_session() -> Session {
    use_context::<Session>().expect("SessionProvider wraps the app")
}

/// The API as the signed-in user (pages are only shown signed in).
#[hook]
pub fn use_api() -> Api {
    use_session().api()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ApiError;

    fn refused(token: &str) -> SessionAction {
        SessionAction::Refused(Unauthorized {
            token: AttrValue::from(token.to_owned()),
            error: ApiError {
                status: 401,
                code: "unauthorized".into(),
                message: "the token is not valid".into(),
            },
        })
    }

    #[test]
    fn a_refused_token_signs_out_and_says_why() {
        let state = Rc::new(SessionState::default()).reduce(SessionAction::SignIn("t1".into()));
        let state = state.reduce(refused("t1"));
        assert_eq!(state.token, None);
        let why = state.signed_out_because.as_deref().unwrap_or_default();
        assert!(why.contains("the token is not valid"), "{why}");
        let state = state.reduce(SessionAction::SignIn("t2".into()));
        assert_eq!((state.token.as_deref(), state.signed_out_because.as_deref()), (Some("t2"), None));
    }

    #[test]
    fn a_late_refusal_of_an_earlier_token_is_ignored() {
        let state = Rc::new(SessionState::default()).reduce(SessionAction::SignIn("t2".into()));
        let after = state.clone().reduce(refused("t1"));
        assert!(Rc::ptr_eq(&state, &after));
        let signed_out = Rc::new(SessionState::default());
        assert!(Rc::ptr_eq(&signed_out.clone().reduce(refused("")), &signed_out));
    }
}
