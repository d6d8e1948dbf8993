//! The signed-in session: the API token, kept in session storage until sign-out, who it belongs
//! to and what it may do (`GET /api/v1/me`, asked again when the server refuses an action), and
//! why the user was signed out when the server stopped accepting it.

use std::rc::Rc;

use gloo_storage::{SessionStorage, Storage};
use mosaic_types::users::Me;
use yew::prelude::*;

use crate::services::{Api, Refusal};

const KEY: &str = "mosaic.token";

/// Who is signed in, and why nobody is when the server ended it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionState {
    /// The API token, if signed in.
    pub token: Option<AttrValue>,
    /// What `/me` said about the token: `None` until it answered (after a reload of the page, the
    /// token comes from storage and is asked about again).
    pub me: Option<Rc<Me>>,
    /// Why the user was signed out without asking (shown on the sign-in screen).
    pub signed_out_because: Option<AttrValue>,
    /// Counts the actions the server refused this token (403s): each makes the app ask `/me`
    /// again, so what it offers catches up with a role changed since sign-in.
    pub rechecks: u32,
}

/// What can happen to a session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
    /// Sign in with a token the server accepted, and what it said the token may do.
    SignIn(AttrValue, Rc<Me>),
    /// `/me` answered for this token (kept only if it is still the session's token).
    Identified(AttrValue, Rc<Me>),
    /// Ask `/me` again (the user's role may have changed).
    Reidentify,
    /// The user signed out.
    SignOut,
    /// The server answered 401 (sign out) or 403 (ask `/me` again) to a request made with this
    /// token.
    Refused(Refusal),
}

impl Reducible for SessionState {
    type Action = SessionAction;

    fn reduce(self: Rc<Self>, action: SessionAction) -> Rc<Self> {
        match action {
            SessionAction::SignIn(token, me) => Rc::new(SessionState {
                token: Some(token),
                me: Some(me),
                signed_out_because: None,
                rechecks: 0,
            }),
            SessionAction::Identified(token, _) if self.token.as_ref() != Some(&token) => self,
            SessionAction::Identified(_, me) => Rc::new(SessionState { me: Some(me), ..(*self).clone() }),
            SessionAction::Reidentify if self.me.is_none() => self,
            SessionAction::Reidentify => Rc::new(SessionState { me: None, ..(*self).clone() }),
            SessionAction::SignOut => Rc::new(SessionState::default()),
            // A late answer to a request made with an earlier token says nothing about this one.
            SessionAction::Refused(u) if self.token.as_ref() != Some(&u.token) => self,
            SessionAction::Refused(u) if u.error.is_forbidden() => {
                Rc::new(SessionState { rechecks: self.rechecks.wrapping_add(1), ..(*self).clone() })
            }
            SessionAction::Refused(u) if !u.error.is_unauthorized() => self,
            SessionAction::Refused(u) => Rc::new(SessionState {
                token: None,
                me: None,
                rechecks: 0,
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
    /// What the token may do, once `/me` answered.
    pub me: Option<Rc<Me>>,
    /// Why the user was signed out without asking.
    pub signed_out_because: Option<AttrValue>,
    /// Actions refused so far (each asks `/me` again).
    pub rechecks: u32,
    /// Changes the session.
    pub dispatch: Callback<SessionAction>,
}

impl Session {
    /// The API as this session's user; a 401 signs them out, a 403 asks `/me` again.
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
        me: None,
        signed_out_because: None,
        rechecks: 0,
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
        me: state.me.clone(),
        signed_out_because: state.signed_out_because.clone(),
        rechecks: state.rechecks,
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
    use mosaic_types::users::{ApiToken, Role, User};

    use super::*;
    use crate::services::ApiError;

    fn refused(token: &str) -> SessionAction {
        SessionAction::Refused(Refusal {
            token: AttrValue::from(token.to_owned()),
            error: ApiError {
                status: 401,
                code: "unauthorized".into(),
                message: "the token is not valid".into(),
            },
        })
    }

    /// What `/me` says about a token of a user with `role`.
    fn me(role: Role) -> Rc<Me> {
        let now = chrono::Utc::now();
        let user = User {
            id: "0b6f8c1e-0000-4000-8000-000000000001".parse().unwrap(),
            name: "ops".into(),
            role,
            disabled_at: None,
            created_at: now,
        };
        let token = ApiToken {
            id: "0b6f8c1e-0000-4000-8000-000000000002".parse().unwrap(),
            user_id: user.id,
            user_name: user.name.clone(),
            name: "first token".into(),
            role: None,
            deployments: None,
            expires_at: None,
            created_at: now,
            last_used_at: None,
        };
        Rc::new(Me { user, token, role })
    }

    fn sign_in(token: &str) -> SessionAction {
        SessionAction::SignIn(AttrValue::from(token.to_owned()), me(Role::Operator))
    }

    #[test]
    fn a_refused_token_signs_out_and_says_why() {
        let state = Rc::new(SessionState::default()).reduce(sign_in("t1"));
        let state = state.reduce(refused("t1"));
        assert_eq!((&state.token, &state.me), (&None, &None));
        let why = state.signed_out_because.as_deref().unwrap_or_default();
        assert!(why.contains("the token is not valid"), "{why}");
        let state = state.reduce(sign_in("t2"));
        assert_eq!((state.token.as_deref(), state.signed_out_because.as_deref()), (Some("t2"), None));
    }

    #[test]
    fn a_late_refusal_of_an_earlier_token_is_ignored() {
        let state = Rc::new(SessionState::default()).reduce(sign_in("t2"));
        let after = state.clone().reduce(refused("t1"));
        assert!(Rc::ptr_eq(&state, &after));
        let signed_out = Rc::new(SessionState::default());
        assert!(Rc::ptr_eq(&signed_out.clone().reduce(refused("")), &signed_out));
    }

    #[test]
    fn what_me_says_is_kept_only_for_the_token_it_was_asked_about() {
        // A token restored from storage is asked about again.
        let restored = Rc::new(SessionState { token: Some("t1".into()), ..SessionState::default() });
        let late = restored.clone().reduce(SessionAction::Identified("t0".into(), me(Role::Admin)));
        assert!(Rc::ptr_eq(&restored, &late));
        let known = restored.reduce(SessionAction::Identified("t1".into(), me(Role::Viewer)));
        assert_eq!(known.me.as_ref().map(|m| m.role), Some(Role::Viewer));
        // Asking again forgets the answer, keeps the token.
        let again = known.reduce(SessionAction::Reidentify);
        assert_eq!((again.token.as_deref(), &again.me), (Some("t1"), &None));
    }

    #[test]
    fn a_refused_action_asks_again_what_the_token_may_do_and_keeps_the_session() {
        let state = Rc::new(SessionState::default()).reduce(sign_in("t1"));
        let forbidden = |token: &str| {
            SessionAction::Refused(Refusal {
                token: AttrValue::from(token.to_owned()),
                error: ApiError { status: 403, code: "forbidden".into(), message: "needs operator".into() },
            })
        };
        let after = state.clone().reduce(forbidden("t1"));
        assert_eq!((after.token.as_deref(), after.me.is_some(), after.rechecks), (Some("t1"), true, 1));
        // Another token's refusal says nothing about this one.
        assert!(Rc::ptr_eq(&after, &after.clone().reduce(forbidden("t0"))));
        // A new sign-in starts counting afresh.
        assert_eq!(after.reduce(sign_in("t2")).rechecks, 0);
    }
}
