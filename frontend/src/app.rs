//! The app: routes, the layout, and sign-in gating.

use mosaic_types::DeploymentId;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::{
    cloud_configs::CloudConfigs, deployment::DeploymentPage, deployments::Deployments, hosts::Hosts,
    login::Login,
};
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

#[function_component(Shell)]
fn shell() -> Html {
    let session = use_session();
    if session.token.is_none() {
        return html! { <Login /> };
    }
    let sign_out = session.dispatch.reform(|_| SessionAction::SignOut);
    html! {
        <>
            <header class="top">
                <span class="brand">{ "Mosaic" }</span>
                <nav>
                    <Link<Route> to={Route::Deployments}>{ "Deployments" }</Link<Route>>
                    <Link<Route> to={Route::CloudConfigs}>{ "Cloud-configs" }</Link<Route>>
                    <Link<Route> to={Route::Hosts}>{ "Hosts" }</Link<Route>>
                </nav>
                <button class="link" id="sign-out" onclick={sign_out}>{ "Sign out" }</button>
            </header>
            <main>
                <Switch<Route> render={switch} />
            </main>
        </>
    }
}
