//! The deployments overview, and the dialog that creates one.

use mosaic_types::cloud_configs::CloudConfig;
use mosaic_types::deployments::{CloudConfigPin, CreateDeployment, Deployment};
use yew::prelude::*;
use yew_router::prelude::*;

use super::{checked, input_value};
use crate::app::Route;
use crate::components::{ErrorBanner, Modal};
use crate::format;
use crate::services::{self, ApiError};
use crate::session::use_token;

/// One card per deployment: containers by state, memory, readiness.
#[function_component(Deployments)]
pub fn deployments() -> Html {
    let token = use_token();
    let list = use_state(|| None::<Vec<Deployment>>);
    let error = use_state(|| None::<ApiError>);
    let creating = use_state(|| false);
    let reload = {
        let (list, error, token) = (list.clone(), error.clone(), token.clone());
        Callback::from(move |_: ()| {
            let (list, error, token) = (list.clone(), error.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::deployments::list(&token).await {
                    Ok(l) => list.set(Some(l)),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }
    let body = match &*list {
        None => html! { <p class="muted">{ "Loading…" }</p> },
        Some(l) if l.is_empty() => html! { <p class="empty">{ "No deployments yet — create one." }</p> },
        Some(l) => html! { <div class="cards">{ for l.iter().map(card) }</div> },
    };
    html! {
        <>
            <div class="page-head">
                <h1>{ "Deployments" }</h1>
                <button id="create-deployment" onclick={let c = creating.clone(); Callback::from(move |_| c.set(true))}>{ "Create deployment" }</button>
            </div>
            <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
            { body }
            if *creating {
                <CreateDialog on_close={let c = creating.clone(); Callback::from(move |_| c.set(false))}
                    on_created={let (c, r) = (creating.clone(), reload.clone()); Callback::from(move |_| { c.set(false); r.emit(()) })} />
            }
        </>
    }
}

fn card(d: &Deployment) -> Html {
    let i = &d.instances;
    html! {
        <Link<Route> to={Route::Deployment { id: d.id.to_string() }} classes="card">
            <h3 class="name">{ &d.name }</h3>
            if d.status == mosaic_types::deployments::DeploymentStatus::Deleting { <span class="badge bad">{ "deleting" }</span> }
            <dl>
                <dt>{ "Containers" }</dt><dd class="counts">{ format!("{} running · {} stopped · {} other", i.running, i.stopped, i.other + i.unknown + i.missing) }</dd>
                <dt>{ "Memory" }</dt><dd class="memory">{ format::bytes(d.memory_bytes) }</dd>
                <dt>{ "Ready" }</dt><dd class="readiness">{ format!("{} / {}", d.readiness.ready, i.total) }</dd>
            </dl>
            <p class="muted">{ d.cloud_configs.iter().map(|c| format!("{}/{}", c.namespace, c.name)).collect::<Vec<_>>().join(", ") }</p>
        </Link<Route>>
    }
}

#[derive(Properties, PartialEq)]
struct CreateProps {
    on_close: Callback<()>,
    on_created: Callback<()>,
}

/// Name + cloud-configs picked from a searchable list.
#[function_component(CreateDialog)]
fn create_dialog(props: &CreateProps) -> Html {
    let token = use_token();
    let name = use_state(String::new);
    let search = use_state(String::new);
    let all = use_state(Vec::<CloudConfig>::new);
    let picked = use_state(Vec::<mosaic_types::CloudConfigId>::new);
    let error = use_state(|| None::<ApiError>);
    {
        let (all, error, token) = (all.clone(), error.clone(), token.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match services::cloud_configs::list(&token).await {
                    Ok(l) => all.set(l),
                    Err(e) => error.set(Some(e)),
                }
            });
        });
    }
    let submit = {
        let (name, picked, error, token, done) =
            (name.clone(), picked.clone(), error.clone(), token.clone(), props.on_created.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let body = CreateDeployment {
                name: name.trim().to_owned(),
                cloud_configs: picked
                    .iter()
                    .map(|id| CloudConfigPin { cloud_config_id: *id, revision: None })
                    .collect(),
            };
            let (error, token, done) = (error.clone(), token.clone(), done.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::deployments::create(&token, &body).await {
                    Ok(_) => done.emit(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let needle = search.to_lowercase();
    let shown: Vec<&CloudConfig> = all
        .iter()
        .filter(|c| format!("{}/{}", c.namespace, c.name).to_lowercase().contains(&needle))
        .collect();
    html! {
        <Modal title="Create deployment" on_close={props.on_close.clone()}>
            <form onsubmit={submit}>
                <label for="deployment-name">{ "Name" }</label>
                <input id="deployment-name" value={(*name).clone()} placeholder="My_Site"
                    oninput={let n = name.clone(); Callback::from(move |e| n.set(input_value(&e)))} />
                <label for="cc-search">{ "Cloud-configs" }</label>
                <input id="cc-search" type="search" placeholder="Search namespace/name" value={(*search).clone()}
                    oninput={let s = search.clone(); Callback::from(move |e| s.set(input_value(&e)))} />
                <ul class="picker">
                    if shown.is_empty() { <li class="muted">{ "No cloud-configs match." }</li> }
                    { for shown.iter().map(|c| {
                        let id = c.id;
                        let label = format!("{}/{}", c.namespace, c.name);
                        let toggle = {
                            let picked = picked.clone();
                            Callback::from(move |e: Event| {
                                let mut now = (*picked).clone();
                                if checked(&e) { now.push(id) } else { now.retain(|x| *x != id) }
                                picked.set(now);
                            })
                        };
                        html! { <li><label><input type="checkbox" data-cloud-config={label.clone()} checked={picked.contains(&id)} onchange={toggle} />{ label }</label></li> }
                    }) }
                </ul>
                <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
                <div class="actions"><button type="submit" id="create-deployment-submit">{ "Create" }</button></div>
            </form>
        </Modal>
    }
}
