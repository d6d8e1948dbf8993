//! The deploy dialog: one row per cloud-config of the deployment — count, hosts, placement, and
//! extra profiles offered from the chosen hosts (`default` suggested).

use std::collections::{BTreeSet, HashMap};

use mosaic_types::deployments::{DeployCloudConfig, DeployRequest, DeploymentDetail, Placement};
use mosaic_types::hosts::Host;
use mosaic_types::{CloudConfigId, HostId};
use yew::prelude::*;

use crate::components::{ErrorBanner, Modal};
use crate::hooks::use_load;
use crate::pages::{checked, input_value, select_value};
use crate::services::{self, ApiError};

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

/// The hosts to offer and each online host's profiles.
#[derive(Default)]
struct Options {
    hosts: Vec<Host>,
    profiles: HashMap<HostId, Vec<String>>,
}

/// One cloud-config's choices, as typed.
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
    let options = use_load((), |api, ()| async move {
        let hosts = services::hosts::all(&api).await?;
        // Profiles are offered from online hosts; one that cannot be read offers none (the host
        // list shows why it is unwell).
        let mut profiles = HashMap::new();
        for h in hosts.iter().filter(|h| h.status.online) {
            if let Ok(p) = services::hosts::profiles(&api, h.id).await {
                profiles.insert(h.id, p.into_iter().map(|p| p.name).collect::<Vec<_>>());
            }
        }
        Ok::<_, ApiError>(Options { hosts, profiles })
    });
    let invalid = use_state(|| None::<ApiError>);
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
    let submit = {
        let (rows, on_submit, invalid, phone_home, start) =
            (rows.clone(), props.on_submit.clone(), invalid.clone(), phone_home.clone(), start.clone());
        let order: Vec<CloudConfigId> = members.iter().map(|(id, _)| *id).collect();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match request(&order, &rows, *phone_home, *start) {
                Ok(body) => on_submit.emit(body),
                Err(message) => invalid.set(Some(ApiError::validation(message))),
            }
        })
    };
    let no_options = Options::default();
    let Options { hosts, profiles } = options.data().unwrap_or(&no_options);
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
                <ErrorBanner error={options.error()} on_dismiss={options.dismiss()} />
                <ErrorBanner error={(*invalid).clone()} on_dismiss={let i = invalid.clone(); Callback::from(move |_| i.set(None))} />
                <div class="actions"><button type="submit" id="deploy-submit">{ "Deploy" }</button></div>
            </form>
        </Modal>
    }
}

/// The request the rows describe (cloud-configs with no instances left out), or what is wrong
/// with them.
fn request(
    order: &[CloudConfigId],
    rows: &HashMap<CloudConfigId, Row>,
    phone_home: bool,
    start: bool,
) -> Result<DeployRequest, String> {
    let mut items = Vec::new();
    for id in order {
        let Some(row) = rows.get(id) else { continue };
        let count: i32 =
            row.count.trim().parse().map_err(|_| format!("“{}” is not a number of instances", row.count))?;
        if count == 0 {
            continue;
        }
        items.push(DeployCloudConfig {
            cloud_config_id: *id,
            count,
            hosts: row.hosts.iter().copied().collect(),
            placement: row.placement,
            profiles: row.profiles.iter().cloned().collect(),
            // Clustered hosts: every online member (the server's default).
            members: Default::default(),
        });
    }
    Ok(DeployRequest { cloud_configs: items, phone_home, start })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(count: &str) -> Row {
        Row {
            count: count.into(),
            hosts: BTreeSet::new(),
            placement: Placement::PerHost,
            profiles: ["default".to_owned()].into(),
        }
    }

    #[test]
    fn rows_become_a_request_in_order_without_empty_ones() {
        let ids: Vec<CloudConfigId> = [
            "0b6f8c1e-0000-4000-8000-000000000001",
            "0b6f8c1e-0000-4000-8000-000000000002",
            "0b6f8c1e-0000-4000-8000-000000000003",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let rows = HashMap::from([(ids[0], row(" 2 ")), (ids[1], row("0")), (ids[2], row("1"))]);
        let body = request(&ids, &rows, true, false).unwrap();
        let counts: Vec<_> = body.cloud_configs.iter().map(|c| (c.cloud_config_id, c.count)).collect();
        assert_eq!(counts, [(ids[0], 2), (ids[2], 1)]);
        assert_eq!((body.phone_home, body.start), (true, false));
        assert_eq!(body.cloud_configs[0].profiles, ["default"]);
        let rows = HashMap::from([(ids[0], row("two"))]);
        assert_eq!(request(&ids, &rows, false, false).unwrap_err(), "“two” is not a number of instances");
    }
}
