//! The deployments overview, and the dialog that creates one.

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::CloudConfig;
use mosaic_types::deployments::{CloudConfigPin, CreateDeployment, Deployment, DeploymentStatus};
use yew::prelude::*;
use yew_router::prelude::*;

use super::{checked, input_value};
use crate::access::{Can, use_access};
use crate::app::Route;
use crate::components::{ErrorBanner, Modal, More};
use crate::format;
use crate::hooks::{use_action, use_load, use_paged};
use crate::services;

/// One card per deployment: containers by state, memory, readiness; a page at a time, searched
/// by name on the server. A token limited to some deployments is sent only those by the server.
#[function_component(Deployments)]
pub fn deployments() -> Html {
    let may_create = use_access().can(Can::CreateDeployments);
    let search = use_state(String::new);
    let paged = use_paged((*search).clone(), |api, q: String, pages| async move {
        services::deployments::list(&api, q.trim(), pages).await
    });
    let list = &paged.load;
    let creating = use_state(|| false);
    let searching = !search.trim().is_empty();
    let body = match paged.items() {
        None if list.error().is_some() => html! {},
        None => html! { <p class="muted">{ "Loading…" }</p> },
        Some([]) if searching => html! { <p class="empty">{ "No deployments match." }</p> },
        Some([]) if may_create => {
            html! { <p class="empty">{ "No deployments yet — create one." }</p> }
        }
        Some([]) => html! { <p class="empty">{ "No deployments yet." }</p> },
        Some(l) => html! { <div class="cards">{ for l.iter().map(card) }</div> },
    };
    html! {
        <>
            <div class="page-head">
                <h1>{ "Deployments" }</h1>
                if may_create {
                    <button id="create-deployment" onclick={let c = creating.clone(); Callback::from(move |_| c.set(true))}>{ "Create deployment" }</button>
                }
            </div>
            <input id="deployment-search" class="search" type="search" placeholder="Search by name" value={(*search).clone()}
                oninput={let s = search.clone(); Callback::from(move |e| s.set(input_value(&e)))} />
            <ErrorBanner error={list.error()} on_dismiss={list.dismiss()} />
            { body }
            <More id="more-deployments" shown={paged.has_more()} on_more={paged.more()} />
            if *creating {
                <CreateDialog on_close={let c = creating.clone(); Callback::from(move |_| c.set(false))}
                    on_created={let (c, r) = (creating.clone(), list.reload()); Callback::from(move |_| { c.set(false); r.emit(()) })} />
            }
        </>
    }
}

fn card(d: &Deployment) -> Html {
    let i = &d.instances;
    html! {
        <Link<Route> to={Route::Deployment { id: d.id.to_string() }} classes="card">
            <h3 class="name">{ &d.name }</h3>
            if d.status == DeploymentStatus::Deleting { <span class="badge bad">{ "deleting" }</span> }
            else { { crate::components::service::service_badge(&d.service) } }
            <dl>
                <dt>{ "Containers" }</dt><dd class="counts">{ format!("{} running · {} stopped · {} other", i.running, i.stopped, i.other + i.unknown + i.missing) }</dd>
                <dt>{ "Memory" }</dt><dd class="memory">{ format::bytes(d.memory_bytes) }</dd>
                <dt>{ "Ready" }</dt><dd class="readiness">{ format!("{} / {}", d.readiness.ready, i.total) }</dd>
                <dt>{ "Serving" }</dt><dd class="serving">{ format!("{} of {} running", d.service.counts.serving,
                    d.service.counts.serving + d.service.counts.pending + d.service.counts.failing + d.service.counts.cannot_judge) }</dd>
                if !d.service.addresses.is_empty() {
                    <dt>{ "Address" }</dt><dd class="addresses">{ d.service.addresses.join(", ") }</dd>
                }
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
    let name = use_state(String::new);
    let search = use_state(String::new);
    let picked = use_state(Vec::<CloudConfigId>::new);
    let all = use_load((), |api, ()| async move { services::cloud_configs::all(&api).await });
    let create = use_action(
        |api, body: CreateDeployment| async move { services::deployments::create(&api, &body).await },
        {
            let done = props.on_created.clone();
            move |_: Deployment| done.emit(())
        },
    );
    let submit = {
        let (name, picked, run) = (name.clone(), picked.clone(), create.run());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(CreateDeployment {
                name: name.trim().to_owned(),
                cloud_configs: picked
                    .iter()
                    .map(|id| CloudConfigPin { cloud_config_id: *id, revision: None })
                    .collect(),
            });
        })
    };
    let needle = search.to_lowercase();
    let shown: Vec<&CloudConfig> = all
        .data()
        .into_iter()
        .flatten()
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
                    if all.data().is_none() { <li class="muted">{ "Loading…" }</li> }
                    else if shown.is_empty() { <li class="muted">{ "No cloud-configs match." }</li> }
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
                <ErrorBanner error={all.error()} on_dismiss={all.dismiss()} />
                <ErrorBanner error={create.error()} on_dismiss={create.dismiss()} />
                <div class="actions"><button type="submit" id="create-deployment-submit" disabled={create.pending()}>{ "Create" }</button></div>
            </form>
        </Modal>
    }
}
