//! One deployment: its actions, cloud-configs, a table of its instances with their own actions
//! and cloud-init logs ([`instances`], [`log`]), live job progress, memory chart and job history.

use gloo_timers::callback::Interval;
use mosaic_types::deployments::{DeployRequest, DeploymentDetail};
use mosaic_types::instances::Instance;
use mosaic_types::jobs::{Job, RolloutRequest};
use mosaic_types::{DeploymentId, InstanceId};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::access::{Can, use_access};
use crate::app::Route;
use crate::components::{
    DeployDialog, ErrorBanner, ExposeDialog, JobProgress, MemoryChart, Modal, RolloutDialog, RolloutPanel,
    service,
};
use crate::format;
use crate::hooks::{use_action, use_load};
use crate::services::instances::InstanceAction;
use crate::services::{self, Api, ApiError};

mod instances;
mod log;

use instances::{HostName, InstanceTable};

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The deployment.
    pub id: DeploymentId,
}

/// How often the page re-reads the deployment (the server answers from its host cache).
const REFRESH_MS: u32 = 3000;
/// Memory samples kept (at one per refresh: the last five minutes).
const SAMPLES: usize = 100;

/// What the page shows: the deployment, its instances (every page of the instance list) and its
/// job history and latest rollout, read together on each refresh.
struct Loaded {
    detail: DeploymentDetail,
    instances: Vec<Instance>,
    history: Vec<Job>,
    /// Its latest rollout (shown live while it runs, is paused or failed).
    rollout: Option<Job>,
}

/// A whole-deployment command that asks first.
#[derive(Clone, Copy, PartialEq)]
enum Lifecycle {
    Start,
    Stop,
    Delete,
}

impl Lifecycle {
    fn verb(self) -> &'static str {
        match self {
            Lifecycle::Start => "Start",
            Lifecycle::Stop => "Stop",
            Lifecycle::Delete => "Delete",
        }
    }

    fn warning(self) -> &'static str {
        match self {
            Lifecycle::Delete => {
                "Every container of this deployment will be stopped and deleted, then the deployment itself."
            }
            Lifecycle::Stop => "Every container will be shut down (killed if it does not stop in time).",
            Lifecycle::Start => "Every container will be started.",
        }
    }
}

/// A request that starts a job.
enum JobRequest {
    Deploy(DeployRequest),
    Lifecycle(Lifecycle),
    Instance(InstanceId, InstanceAction),
    Rollout(RolloutRequest),
    /// Resume (`true`) or abort the current rollout.
    RolloutAct(bool),
}

impl JobRequest {
    async fn send(self, api: &Api, id: DeploymentId) -> Result<Job, ApiError> {
        match self {
            JobRequest::Deploy(body) => services::deployments::deploy(api, id, &body).await,
            JobRequest::Lifecycle(Lifecycle::Start) => services::deployments::start(api, id).await,
            JobRequest::Lifecycle(Lifecycle::Stop) => services::deployments::stop(api, id).await,
            JobRequest::Lifecycle(Lifecycle::Delete) => services::deployments::remove(api, id).await,
            JobRequest::Instance(instance, action) => services::instances::act(api, instance, action).await,
            JobRequest::Rollout(body) => services::deployments::rollout(api, id, &body).await,
            JobRequest::RolloutAct(resume) => services::deployments::act_on_rollout(api, id, resume).await,
        }
    }
}

/// The deployment page.
#[function_component(DeploymentPage)]
pub fn deployment_page(props: &Props) -> Html {
    let id = props.id;
    let may_change = use_access().can(Can::ChangeDeployment(id));
    // Memory as each refresh found it: kept across refreshes, not a reason to render by itself.
    let samples = use_mut_ref(Vec::<(f64, u64)>::new);
    let page = {
        let samples = samples.clone();
        use_load(id, move |api, id| {
            let samples = samples.clone();
            async move {
                let detail = services::deployments::detail(&api, id).await?;
                let instances = services::instances::of_deployment(&api, id).await?;
                let history = services::deployments::jobs(&api, id).await?;
                let rollout = services::deployments::latest_rollout(&api, id).await?;
                let mut s = samples.borrow_mut();
                s.push((js_sys::Date::now() / 1000.0, detail.deployment.memory_bytes));
                let excess = s.len().saturating_sub(SAMPLES);
                s.drain(..excess);
                Ok::<_, ApiError>(Loaded { detail, instances, history, rollout })
            }
        })
    };
    let gone = page.error().is_some_and(|e| e.status == 404);
    // Refused (a token limited to other deployments): asking again every few seconds would only
    // be refused again.
    let refused = page.error().is_some_and(|e| e.is_forbidden());
    {
        let refresh = page.reload();
        use_effect_with((id, gone || refused), move |(_, stop)| {
            let timer = (!stop).then(|| Interval::new(REFRESH_MS, move || refresh.emit(())));
            move || drop(timer)
        });
    }
    let job = use_state(|| None::<Job>);
    let confirm = use_state(|| None::<Lifecycle>);
    let deploying = use_state(|| false);
    let exposing = use_state(|| false);
    let rolling = use_state(|| None::<mosaic_types::deployments::DeploymentCloudConfig>);
    // Sends the request, then follows the job's event stream to its end.
    let runner = use_action(
        {
            let job = job.clone();
            move |api: Api, request: JobRequest| {
                let job = job.clone();
                async move {
                    let started = request.send(&api, id).await?;
                    let job_id = started.id;
                    job.set(Some(started));
                    let progress = {
                        let job = job.clone();
                        move |j: Job| job.set(Some(j))
                    };
                    services::jobs::follow(&api, job_id, progress).await
                }
            }
        },
        {
            let (job, refresh) = (job.clone(), page.reload());
            move |done: Job| {
                job.set(Some(done));
                refresh.emit(());
            }
        },
    );
    // The job panel can be dismissed unless the page is still following the job.
    let dismiss_job = (!runner.pending()).then(|| {
        let job = job.clone();
        Callback::from(move |()| job.set(None))
    });
    let job_panel = match &*job {
        Some(j) => html! { <JobProgress job={j.clone()} on_dismiss={dismiss_job} /> },
        None => html! {},
    };

    if gone {
        return html! {
            <section>
                <p class="empty" id="deployment-gone">{ "This deployment no longer exists." }</p>
                <ErrorBanner error={runner.error()} on_dismiss={runner.dismiss()} />
                { job_panel }
                <Link<Route> to={Route::Deployments}>{ "Back to deployments" }</Link<Route>>
            </section>
        };
    }
    let Some(Loaded { detail: d, instances, history, rollout }) = page.data() else {
        return html! {
            <>
                <ErrorBanner error={page.error()} on_dismiss={page.dismiss()} />
                if page.error().is_none() { <p class="muted">{ "Loading…" }</p> }
            </>
        };
    };
    let busy = runner.pending();
    let ask = |what: Lifecycle| {
        let confirm = confirm.clone();
        Callback::from(move |_| confirm.set(Some(what)))
    };
    let dep = &d.deployment;
    let hosts: Vec<HostName> = d
        .hosts
        .iter()
        .map(|h| HostName { id: h.host_id, name: h.host_name.clone(), online: h.online })
        .collect();
    html! {
        <>
            <div class="page-head">
                <h1 id="deployment-name">{ &dep.name }</h1>
                { service::service_badge(&dep.service) }
            </div>
            if may_change {
                <div class="toolbar">
                    <button id="deploy" disabled={busy} onclick={let d = deploying.clone(); Callback::from(move |_| d.set(true))}>{ "Deploy instances" }</button>
                    <button id="start" disabled={busy} onclick={ask(Lifecycle::Start)}>{ "Start" }</button>
                    <button id="stop" disabled={busy} onclick={ask(Lifecycle::Stop)}>{ "Stop" }</button>
                    <button id="delete" class="danger" disabled={busy} onclick={ask(Lifecycle::Delete)}>{ "Delete" }</button>
                    <button id="expose" disabled={busy} onclick={let e = exposing.clone(); Callback::from(move |_| e.set(true))}>{ "Expose a port" }</button>
                </div>
            } else {
                <p class="muted" id="read-only">{ "This token may read this deployment, not change it." }</p>
            }
            <ErrorBanner error={page.error()} on_dismiss={page.dismiss()} />
            <ErrorBanner error={runner.error()} on_dismiss={runner.dismiss()} />
            { job_panel }
            <p class="summary" id="summary">
                { format!("{} containers: {} running, {} stopped, {} other · memory {} · {} ready",
                    dep.instances.total, dep.instances.running, dep.instances.stopped,
                    dep.instances.other + dep.instances.unknown + dep.instances.missing,
                    format::bytes(dep.memory_bytes), dep.readiness.ready) }
                if let Some(age) = dep.data_age_ms { <span class="muted">{ format!(" (data {:.1} s old)", age as f64 / 1000.0) }</span> }
            </p>
            <p class="summary" id="service-counts">{ service::service_counts(&dep.service) }
                if !dep.service.routing_available {
                    <span class="detail bad">{ format!(" · routing unavailable: {}", dep.service.routing_detail.clone().unwrap_or_default()) }</span>
                }
            </p>
            <MemoryChart samples={samples.borrow().clone()} />
            <h2>{ "Service" }</h2>
            if d.ports.is_empty() { <p class="empty" id="no-ports">{ "No port is exposed: nothing is routed to these instances." }</p> }
            { for d.ports.iter().map(service::port_view) }
            <h2>{ "Cloud-configs" }</h2>
            <ul class="plain">
                { for dep.cloud_configs.iter().map(|c| html! {
                    <li data-cloud-config={format!("{}/{}", c.namespace, c.name)}>{ format!("{}/{} — revision {}", c.namespace, c.name, c.revision) }
                        if c.latest_revision > c.revision { <span class="muted">{ format!(" (revision {} available)", c.latest_revision) }</span> }
                        if may_change {
                            { " " }<button class="roll-out" disabled={busy}
                                onclick={let (r, c) = (rolling.clone(), c.clone()); Callback::from(move |_| r.set(Some(c.clone())))}>{ "Roll out" }</button>
                        }
                    </li>
                }) }
            </ul>
            if let Some(latest) = rollout {
                <RolloutPanel job={latest.clone()} may_change={may_change}
                    on_act={runner.run().reform(JobRequest::RolloutAct)} />
            }
            <h2>{ "Instances" }</h2>
            <InstanceTable instances={instances.clone()} {hosts} may_change={may_change} busy={busy}
                on_action={runner.run().reform(|(id, action)| JobRequest::Instance(id, action))} />
            if !d.orphaned.is_empty() {
                <h3>{ "Orphaned containers" }</h3>
                <ul class="plain">{ for d.orphaned.iter().map(|o| html! { <li><code>{ &o.name }</code></li> }) }</ul>
            }
            <h2>{ "Jobs" }</h2>
            <ul class="plain history">
                { for history.iter().map(|j| html! {
                    <li>{ format!("{} · {} · {}/{} done{} · {}", format::time(Some(j.created_at)), j.kind.as_str(), j.done, j.total,
                        if j.failed > 0 { format!(", {} failed", j.failed) } else { String::new() },
                        format!("{:?}", j.state).to_lowercase()) }</li>
                }) }
            </ul>
            if let Some(what) = *confirm {
                <Modal title={format!("{} {}?", what.verb(), dep.name)} on_close={let c = confirm.clone(); Callback::from(move |_| c.set(None))}>
                    <p>{ what.warning() }</p>
                    <div class="actions">
                        <button id="confirm" class={classes!((what == Lifecycle::Delete).then_some("danger"))}
                            onclick={let (c, run) = (confirm.clone(), runner.run()); Callback::from(move |_| { c.set(None); run.emit(JobRequest::Lifecycle(what)) })}>{ what.verb() }</button>
                    </div>
                </Modal>
            }
            if *exposing {
                <ExposeDialog id={id} members={dep.cloud_configs.clone()}
                    on_close={let e = exposing.clone(); Callback::from(move |_| e.set(false))}
                    on_exposed={let (e, refresh) = (exposing.clone(), page.reload()); Callback::from(move |_| { e.set(false); refresh.emit(()) })} />
            }
            if let Some(member) = (*rolling).clone() {
                <RolloutDialog {member}
                    on_close={let r = rolling.clone(); Callback::from(move |_| r.set(None))}
                    on_submit={let (r, run) = (rolling.clone(), runner.run()); Callback::from(move |body: RolloutRequest| {
                        r.set(None);
                        run.emit(JobRequest::Rollout(body));
                    })} />
            }
            if *deploying {
                <DeployDialog detail={d.clone()}
                    on_close={let dd = deploying.clone(); Callback::from(move |_| dd.set(false))}
                    on_submit={let (dd, run) = (deploying.clone(), runner.run()); Callback::from(move |body: DeployRequest| {
                        dd.set(false);
                        run.emit(JobRequest::Deploy(body));
                    })} />
            }
        </>
    }
}
