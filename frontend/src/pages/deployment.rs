//! One deployment: its actions, cloud-configs, instances by host, live job progress, memory chart
//! and job history.

use gloo_timers::callback::Interval;
use mosaic_types::DeploymentId;
use mosaic_types::deployments::{DeployRequest, DeploymentDetail};
use mosaic_types::instances::Instance;
use mosaic_types::jobs::Job;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::{DeployDialog, ErrorBanner, JobProgress, MemoryChart, Modal};
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
