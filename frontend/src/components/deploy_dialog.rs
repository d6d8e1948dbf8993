//! The deploy dialog: one row per cloud-config of the deployment — count, hosts, placement, and
//! extra profiles offered from the chosen hosts (`default` suggested).

use std::collections::{BTreeSet, HashMap};

use mosaic_types::deployments::{DeployCloudConfig, DeployRequest, DeploymentDetail, Placement};
use mosaic_types::hosts::Host;
use mosaic_types::{CloudConfigId, HostId};
use yew::prelude::*;

use crate::components::{ErrorBanner, Modal};
use crate::pages::{checked, input_value, select_value};
use crate::services::{self, ApiError};
use crate::session::use_token;

/// Props.
#[derive(Properties, PartialEq)]
pub struct DeployProps {
    /// The deployment to deploy.
    pub detail: DeploymentDetail,
    /// Closes the dialog.
    pub on_close: Callback<()>,
    /// Submits the request.
    pub on_submit: Callback<DeployRequest>,
}

#[derive(Clone, PartialEq)]
struct Row {
    count: String,
    hosts: BTreeSet<HostId>,
    placement: Placement,
    profiles: BTreeSet<String>,
}

/// One row per cloud-config: count, hosts, placement, extra profiles from the chosen hosts.
#[function_component(DeployDialog)]
pub fn deploy_dialog(props: &DeployProps) -> Html {
    let token = use_token();
    let hosts = use_state(Vec::<Host>::new);
    let profiles = use_state(HashMap::<HostId, Vec<String>>::new);
    let error = use_state(|| None::<ApiError>);
    let phone_home = use_state(|| false);
    let start = use_state(|| false);
    let members: Vec<(CloudConfigId, String)> = props
        .detail
        .deployment
        .cloud_configs
        .iter()
        .map(|c| (c.cloud_config_id, format!("{}/{}", c.namespace, c.name)))
        .collect();
    let rows = use_state(|| {
        members
            .iter()
            .map(|(id, _)| {
                (
                    *id,
                    Row {
                        count: "0".into(),
                        hosts: BTreeSet::new(),
                        placement: Placement::Spread,
                        profiles: ["default".to_owned()].into(),
                    },
                )
            })
            .collect::<HashMap<_, _>>()
    });
    {
        let (hosts, profiles, error, token) = (hosts.clone(), profiles.clone(), error.clone(), token.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match services::hosts::list(&token).await {
                    Ok(list) => {
                        let mut found = HashMap::new();
                        for h in list.iter().filter(|h| h.status.online) {
                            if let Ok(p) = services::hosts::profiles(&token, h.id).await {
                                found.insert(h.id, p.into_iter().map(|p| p.name).collect());
                            }
                        }
                        profiles.set(found);
                        hosts.set(list);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        });
    }
    let submit = {
        let (rows, on_submit, error, phone_home, start) =
            (rows.clone(), props.on_submit.clone(), error.clone(), phone_home.clone(), start.clone());
        let order: Vec<CloudConfigId> = members.iter().map(|(id, _)| *id).collect();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut items = Vec::new();
            for id in &order {
                let row = &rows[id];
                let count: i32 = match row.count.trim().parse() {
                    Ok(c) => c,
                    Err(_) => {
                        error.set(Some(ApiError {
                            status: 0,
                            code: String::new(),
                            message: format!("“{}” is not a number of instances", row.count),
                        }));
                        return;
                    }
                };
                if count == 0 {
                    continue;
                }
                items.push(DeployCloudConfig {
                    cloud_config_id: *id,
                    count,
                    hosts: row.hosts.iter().copied().collect(),
                    placement: row.placement,
                    profiles: row.profiles.iter().cloned().collect(),
                });
            }
            on_submit.emit(DeployRequest { cloud_configs: items, phone_home: *phone_home, start: *start });
        })
    };
    html! {
        <Modal title="Deploy instances" on_close={props.on_close.clone()}>
            <form onsubmit={submit} class="deploy">
                { for members.iter().map(|(id, label)| {
                    let id = *id;
                    let row = rows[&id].clone();
                    let offered: BTreeSet<String> = row.hosts.iter().flat_map(|h| profiles.get(h).cloned().unwrap_or_default()).collect();
                    html! {
                        <fieldset data-cloud-config={label.clone()}>
                            <legend>{ label }</legend>
                            <label>{ "Instances " }
                                <input class="count" type="number" min="0" value={row.count.clone()}
                                    oninput={let rows = rows.clone(); Callback::from(move |e: InputEvent| {
                                        let v = input_value(&e); let mut now = (*rows).clone();
                                        if let Some(r) = now.get_mut(&id) { r.count = v; } rows.set(now);
                                    })} />
                            </label>
                            <label>{ "Placement " }
                                <select class="placement" onchange={let rows = rows.clone(); Callback::from(move |e: Event| {
                                    let v = select_value(&e); let mut now = (*rows).clone();
                                    if let Some(r) = now.get_mut(&id) { r.placement = if v == "per_host" { Placement::PerHost } else { Placement::Spread }; } rows.set(now);
                                })}>
                                    <option value="spread" selected={row.placement == Placement::Spread}>{ "spread over the hosts" }</option>
                                    <option value="per_host" selected={row.placement == Placement::PerHost}>{ "on each host" }</option>
                                </select>
                            </label>
                            <div class="hosts">{ "Hosts: " }
                                { for hosts.iter().map(|h| {
                                    let hid = h.id;
                                    let rows = rows.clone();
                                    html! { <label><input type="checkbox" data-host={h.name.clone()} disabled={!h.status.online} checked={row.hosts.contains(&hid)}
                                        onchange={Callback::from(move |e: Event| {
                                            let on = checked(&e); let mut now = (*rows).clone();
                                            if let Some(r) = now.get_mut(&id) { if on { r.hosts.insert(hid); } else { r.hosts.remove(&hid); } } rows.set(now);
                                        })} />{ &h.name }</label> }
                                }) }
                            </div>
                            <div class="profiles">{ "Profiles: " }
                                if offered.is_empty() { <span class="muted">{ "choose hosts first" }</span> }
                                { for offered.iter().map(|p| {
                                    let name = p.clone();
                                    let rows = rows.clone();
                                    html! { <label><input type="checkbox" data-profile={p.clone()} checked={row.profiles.contains(p)}
                                        onchange={Callback::from(move |e: Event| {
                                            let on = checked(&e); let mut now = (*rows).clone();
                                            if let Some(r) = now.get_mut(&id) { if on { r.profiles.insert(name.clone()); } else { r.profiles.remove(&name); } } rows.set(now);
                                        })} />{ p }</label> }
                                }) }
                            </div>
                        </fieldset>
                    }
                }) }
                <label><input type="checkbox" id="phone-home" checked={*phone_home} onchange={let p = phone_home.clone(); Callback::from(move |e: Event| p.set(checked(&e)))} />{ " Instances phone home when their cloud-config has run" }</label>
                <label><input type="checkbox" id="start-too" checked={*start} onchange={let s = start.clone(); Callback::from(move |e: Event| s.set(checked(&e)))} />{ " Start them once created" }</label>
                <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
                <div class="actions"><button type="submit" id="deploy-submit">{ "Deploy" }</button></div>
            </form>
        </Modal>
    }
}
