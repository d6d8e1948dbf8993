//! One deployment: its actions, cloud-configs, instances by host, live job progress, memory chart
//! and job history.

use std::collections::{BTreeSet, HashMap};

use gloo_timers::callback::Interval;
use mosaic_types::deployments::{DeployCloudConfig, DeployRequest, DeploymentDetail, Placement};
use mosaic_types::hosts::Host;
use mosaic_types::instances::Instance;
use mosaic_types::jobs::Job;
use mosaic_types::{CloudConfigId, DeploymentId, HostId};
use yew::prelude::*;
use yew_router::prelude::*;

use super::{checked, input_value, select_value};
use crate::app::Route;
use crate::components::{ErrorBanner, JobProgress, MemoryChart, Modal};
use crate::format;
use crate::services::{self, ApiError};
use crate::session::use_token;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The deployment.
    pub id: DeploymentId,
}

/// A request that starts a job, given the token: deploy, start, stop or delete.
type StartJob =
    Box<dyn FnOnce(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Job, ApiError>>>>>;

/// How often the page re-reads the deployment (the server answers from its host cache).
const REFRESH_MS: u32 = 3000;
/// Memory samples kept (at one per refresh: the last five minutes).
const SAMPLES: usize = 100;

/// The deployment page.
#[function_component(DeploymentPage)]
pub fn deployment_page(props: &Props) -> Html {
    let id = props.id;
    let token = use_token();
    let detail = use_state(|| None::<DeploymentDetail>);
    let history = use_state(Vec::<Job>::new);
    let job = use_state(|| None::<Job>);
    let error = use_state(|| None::<ApiError>);
    let confirm = use_state(|| None::<&'static str>);
    let deploying = use_state(|| false);
    let samples = use_mut_ref(Vec::<(f64, u64)>::new);
    let gone = use_state(|| false);
    let chart = use_state(Vec::<(f64, u64)>::new);

    let refresh = {
        let (detail, history, error, token, samples, chart, gone) = (
            detail.clone(),
            history.clone(),
            error.clone(),
            token.clone(),
            samples.clone(),
            chart.clone(),
            gone.clone(),
        );
        Callback::from(move |_: ()| {
            let (detail, history, error, token, samples, chart, gone) = (
                detail.clone(),
                history.clone(),
                error.clone(),
                token.clone(),
                samples.clone(),
                chart.clone(),
                gone.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match services::deployments::detail(&token, id).await {
                    Ok(d) => {
                        let now = js_sys::Date::now() / 1000.0;
                        let mut s = samples.borrow_mut();
                        s.push((now, d.deployment.memory_bytes));
                        let excess = s.len().saturating_sub(SAMPLES);
                        s.drain(..excess);
                        chart.set(s.clone());
                        detail.set(Some(d));
                    }
                    Err(e) if e.status == 404 => gone.set(true),
                    Err(e) => error.set(Some(e)),
                }
                if let Ok(h) = services::deployments::jobs(&token, id).await {
                    history.set(h);
                }
            });
        })
    };
    {
        let refresh = refresh.clone();
        use_effect_with(id, move |_| {
            refresh.emit(());
            let timer = Interval::new(REFRESH_MS, move || refresh.emit(()));
            move || drop(timer)
        });
    }

    // Runs a job-returning request, then follows the job's event stream to its end.
    let run = {
        let (job, error, token, refresh) = (job.clone(), error.clone(), token.clone(), refresh.clone());
        Callback::from(move |start: StartJob| {
            let (job, error, token, refresh) = (job.clone(), error.clone(), token.clone(), refresh.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match start(token.clone()).await {
                    Ok(started) => {
                        let id = started.id;
                        job.set(Some(started));
                        let progress = {
                            let job = job.clone();
                            move |j: Job| job.set(Some(j))
                        };
                        match services::jobs::follow(&token, id, progress).await {
                            Ok(done) => job.set(Some(done)),
                            Err(e) => error.set(Some(e)),
                        }
                        refresh.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let action = |name: &'static str| {
        let run = run.clone();
        Callback::from(move |_: ()| {
            run.emit(Box::new(move |token: String| {
                Box::pin(async move {
                    match name {
                        "delete" => services::deployments::remove(&token, id).await,
                        other => services::deployments::action(&token, id, other).await,
                    }
                })
            }))
        })
    };

    if *gone {
        return html! {
            <section>
                <p class="empty" id="deployment-gone">{ "This deployment no longer exists." }</p>
                if let Some(j) = &*job { <JobProgress job={j.clone()} on_dismiss={let job = job.clone(); Callback::from(move |_| job.set(None))} /> }
                <Link<Route> to={Route::Deployments}>{ "Back to deployments" }</Link<Route>>
            </section>
        };
    }
    let Some(d) = &*detail else {
        return html! {
            <>
                <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
                <p class="muted">{ "Loading…" }</p>
            </>
        };
    };
    let busy = job.as_ref().is_some_and(|j| !j.state.is_finished());
    let ask = |what: &'static str| {
        let confirm = confirm.clone();
        Callback::from(move |_| confirm.set(Some(what)))
    };
    let dep = &d.deployment;
    html! {
        <>
            <div class="page-head">
                <h1 id="deployment-name">{ &dep.name }</h1>
                <span class={classes!("badge", dep.ready.then_some("good"))} id="deployment-ready">{ if dep.ready { "ready" } else { "not ready" } }</span>
            </div>
            <div class="toolbar">
                <button id="deploy" disabled={busy} onclick={let d = deploying.clone(); Callback::from(move |_| d.set(true))}>{ "Deploy instances" }</button>
                <button id="start" disabled={busy} onclick={ask("start")}>{ "Start" }</button>
                <button id="stop" disabled={busy} onclick={ask("stop")}>{ "Stop" }</button>
                <button id="delete" class="danger" disabled={busy} onclick={ask("delete")}>{ "Delete" }</button>
            </div>
            <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
            if let Some(j) = &*job { <JobProgress job={j.clone()} on_dismiss={let job = job.clone(); Callback::from(move |_| job.set(None))} /> }
            <p class="summary" id="summary">
                { format!("{} containers: {} running, {} stopped, {} other · memory {} · {} ready",
                    dep.instances.total, dep.instances.running, dep.instances.stopped,
                    dep.instances.other + dep.instances.unknown + dep.instances.missing,
                    format::bytes(dep.memory_bytes), dep.readiness.ready) }
                if let Some(age) = dep.data_age_ms { <span class="muted">{ format!(" (data {:.1} s old)", age as f64 / 1000.0) }</span> }
            </p>
            <MemoryChart samples={(*chart).clone()} />
            <h2>{ "Cloud-configs" }</h2>
            <ul class="plain">
                { for dep.cloud_configs.iter().map(|c| html! {
                    <li>{ format!("{}/{} — revision {}", c.namespace, c.name, c.revision) }
                        if c.latest_revision > c.revision { <span class="muted">{ format!(" (revision {} available)", c.latest_revision) }</span> }
                    </li>
                }) }
            </ul>
            <h2>{ "Instances" }</h2>
            if d.hosts.is_empty() { <p class="empty">{ "No instances yet — deploy some." }</p> }
            { for d.hosts.iter().map(|h| html! {
                <section class="host-group">
                    <h3>{ &h.host_name }
                        if !h.online { <span class="badge bad">{ "offline" }</span> }
                    </h3>
                    <div class="table-wrap"><table class="instances">
                        <thead><tr><th>{ "Name" }</th><th>{ "Status" }</th><th>{ "Memory" }</th><th>{ "Addresses" }</th><th>{ "Last started" }</th><th>{ "Phoned home" }</th><th>{ "Readiness" }</th></tr></thead>
                        <tbody>{ for h.instances.iter().map(instance_row) }</tbody>
                    </table></div>
                </section>
            }) }
            if !d.orphaned.is_empty() {
                <h3>{ "Orphaned containers" }</h3>
                <ul class="plain">{ for d.orphaned.iter().map(|o| html! { <li><code>{ &o.name }</code></li> }) }</ul>
            }
            <h2>{ "Jobs" }</h2>
            <ul class="plain history">
                { for history.iter().map(|j| html! {
                    <li>{ format!("{} · {:?} · {}/{} done{} · {}", format::time(Some(j.created_at)), j.kind, j.done, j.total,
                        if j.failed > 0 { format!(", {} failed", j.failed) } else { String::new() },
                        format!("{:?}", j.state).to_lowercase()) }</li>
                }) }
            </ul>
            if let Some(what) = *confirm {
                <Modal title={format!("{} {}?", capitalise(what), dep.name)} on_close={let c = confirm.clone(); Callback::from(move |_| c.set(None))}>
                    <p>{ match what {
                        "delete" => "Every container of this deployment will be stopped and deleted, then the deployment itself.",
                        "stop" => "Every container will be shut down (killed if it does not stop in time).",
                        _ => "Every container will be started.",
                    } }</p>
                    <div class="actions">
                        <button id="confirm" class={classes!((what == "delete").then_some("danger"))}
                            onclick={let (c, a) = (confirm.clone(), action(what)); Callback::from(move |_| { c.set(None); a.emit(()) })}>{ capitalise(what) }</button>
                    </div>
                </Modal>
            }
            if *deploying {
                <DeployDialog detail={d.clone()}
                    on_close={let dd = deploying.clone(); Callback::from(move |_| dd.set(false))}
                    on_submit={let (dd, run) = (deploying.clone(), run.clone()); Callback::from(move |body: DeployRequest| {
                        dd.set(false);
                        run.emit(Box::new(move |token: String| Box::pin(async move { services::deployments::deploy(&token, id, &body).await })));
                    })} />
            }
        </>
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn instance_row(i: &Instance) -> Html {
    let status = format!("{:?}", i.status).to_lowercase();
    let readiness = format!("{:?}", i.readiness).to_lowercase();
    html! {
        <tr data-instance={i.name.clone()}>
            <td><code>{ &i.name }</code></td>
            <td class={classes!("status", status.clone())}>{ &status }</td>
            <td class="memory">{ i.memory_bytes.map(format::bytes).unwrap_or_else(|| "—".into()) }</td>
            <td>{ if i.addresses.is_empty() { "—".to_owned() } else { i.addresses.join(", ") } }</td>
            <td>{ format::time(i.last_started_at) }</td>
            <td>{ format::time(i.phoned_home_at) }</td>
            <td class={classes!("readiness", readiness.clone())}>{ &readiness }
                if let Some(detail) = &i.readiness_detail { <div class="detail">{ detail }</div> }
                if let Some(e) = &i.last_error { <div class="detail bad">{ e }</div> }
            </td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
struct DeployProps {
    detail: DeploymentDetail,
    on_close: Callback<()>,
    on_submit: Callback<DeployRequest>,
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
fn deploy_dialog(props: &DeployProps) -> Html {
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
