//! The app: routes, the layout, and sign-in gating.

use std::rc::Rc;

use mosaic_types::DeploymentId;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::access::{self, Access, Can};
use crate::components::ErrorBanner;
use crate::hooks::{use_action, use_load};
use crate::pages::{
    cloud_configs::CloudConfigs, deployment::DeploymentPage, deployments::Deployments, hosts::Hosts,
    login::Login, tokens::Tokens, users::Users,
};
use crate::services;
use crate::session::{SessionAction, SessionProvider, use_session};

/// Every screen.
#[derive(Clone, Routable, PartialEq)]
pub enum Route {
    /// The deployments overview.
    #[at("/")]
    Deployments,
    /// One deployment.
    #[at("/deployments/:id")]
    Deployment {
        /// Its ID.
        id: String,
    },
    /// Cloud-configs.
    #[at("/cloud-configs")]
    CloudConfigs,
    /// Hosts.
    #[at("/hosts")]
    Hosts,
    /// Your API tokens.
    #[at("/tokens")]
    Tokens,
    /// Users and their tokens (admins).
    #[at("/users")]
    Users,
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

fn switch(route: Route) -> Html {
    match route {
        Route::Deployments => html! { <Deployments /> },
        Route::Deployment { id } => match id.parse::<DeploymentId>() {
            Ok(id) => html! { <DeploymentPage {id} /> },
            Err(_) => html! { <p class="error">{ "That is not a deployment ID." }</p> },
        },
        Route::CloudConfigs => html! { <CloudConfigs /> },
        Route::Hosts => html! { <Hosts /> },
        Route::Tokens => html! { <Tokens /> },
        Route::Users => html! { <Users /> },
        Route::NotFound => html! { <p>{ "Nothing here." }</p> },
    }
}

/// The root component.
#[function_component(App)]
pub fn app() -> Html {
    html! {
        <SessionProvider>
            <BrowserRouter>
                <Shell />
            </BrowserRouter>
        </SessionProvider>
    }
}

/// The sign-in screen, the check of a token kept from before, or the app with what the token
/// allows.
#[function_component(Shell)]
fn shell() -> Html {
    let session = use_session();
    // The server refused an action (a 403): ask `/me` again, keeping the page (and its error) as
    // it is, so what the app offers catches up with a role changed since sign-in.
    let recheck = use_action(
        |api, ()| async move {
            let me = services::users::me(&api).await?;
            Ok((AttrValue::from(api.token().to_owned()), me))
        },
        {
            let dispatch = session.dispatch.clone();
            move |(token, me)| dispatch.emit(SessionAction::Identified(token, Rc::new(me)))
        },
    );
    {
        let run = recheck.run();
        use_effect_with(session.rechecks, move |n| {
            if *n > 0 {
                run.emit(());
            }
        });
    }
    if session.token.is_none() {
        return html! { <Login /> };
    }
    let Some(me) = session.me.clone() else { return html! { <Identify /> } };
    let can_see_users = Access::of(&me).can(Can::SeeUsers);
    let sign_out = session.dispatch.reform(|_| SessionAction::SignOut);
    html! {
        <>
            <header class="top">
                <span class="brand">{ "Mosaic" }</span>
                <nav>
                    <Link<Route> to={Route::Deployments}>{ "Deployments" }</Link<Route>>
                    <Link<Route> to={Route::CloudConfigs}>{ "Cloud-configs" }</Link<Route>>
                    <Link<Route> to={Route::Hosts}>{ "Hosts" }</Link<Route>>
                    <Link<Route> to={Route::Tokens}>{ "Tokens" }</Link<Route>>
                    if can_see_users { <Link<Route> to={Route::Users}>{ "Users" }</Link<Route>> }
                </nav>
                <span class="whoami" id="whoami" data-role={me.role.as_str()}>{ access::describe(&me) }</span>
                <button class="link" id="sign-out" onclick={sign_out}>{ "Sign out" }</button>
            </header>
            <main>
                <Switch<Route> render={switch} />
            </main>
        </>
    }
}

/// Asks `/me` about a token kept from before a reload of the page: what it may do decides what
/// the pages offer, so no page is shown before the answer. A 401 signs out, saying why.
#[function_component(Identify)]
fn identify() -> Html {
    let session = use_session();
    let answer = use_load(session.token.clone().unwrap_or_default(), |api, token| async move {
        services::users::me(&api).await.map(|me| (token, me))
    });
    {
        let dispatch = session.dispatch.clone();
        use_effect_with(answer.shared(), move |answer| {
            if let Some(answer) = answer {
                let (token, me) = (**answer).clone();
                dispatch.emit(SessionAction::Identified(token, Rc::new(me)));
            }
        });
    }
    let sign_out = session.dispatch.reform(|_| SessionAction::SignOut);
    html! {
        <main class="login">
            <h1>{ "Mosaic" }</h1>
            if answer.error().is_none() { <p class="muted">{ "Signing in…" }</p> }
            <ErrorBanner error={answer.error()} on_dismiss={answer.dismiss()} />
            if answer.error().is_some() {
                <div class="actions">
                    <button class="link" onclick={answer.reload().reform(|_| ())}>{ "Try again" }</button>
                    <button class="link" onclick={sign_out}>{ "Sign out" }</button>
                </div>
            }
        </main>
    }
}
