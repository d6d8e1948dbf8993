//! What a deployment serves through Mosaic's load balancer: each exposed port's frontend address
//! and every instance behind it (its state, sessions, requests, last check), and a dialog that
//! exposes a port of one member's instances.

use mosaic_types::DeploymentId;
use mosaic_types::deployments::DeploymentCloudConfig;
use mosaic_types::routing::{
    Backend, BackendState, ExposePort, ExposedPort, FrontendState, HealthCheck, PortProtocol, ServiceState,
    ServiceSummary,
};
use yew::prelude::*;

use crate::components::{ErrorBanner, Modal};
use crate::hooks::use_action;
use crate::pages::{input_value, select_value};
use crate::services;

/// The badge's words and class for a deployment's service state: what serves, what is pending,
/// what fails, and what nothing can judge (an image without cloud-init and no health check) —
/// never a bare "not ready" next to instances that serve.
pub fn service_badge(summary: &ServiceSummary) -> Html {
    let (word, class) = match summary.state {
        ServiceState::Serving => ("serving", Some("good")),
        ServiceState::Partial => ("partly serving", None),
        ServiceState::Pending => ("pending", None),
        ServiceState::Failing => ("failing", Some("bad")),
        ServiceState::CannotJudge => ("cannot judge", None),
        ServiceState::Stopped => ("stopped", None),
    };
    let state = format!("{:?}", summary.state).to_lowercase();
    html! { <span class={classes!("badge", "service", class)} data-state={state}>{ word }</span> }
}

/// The counts behind the badge, in words.
pub fn service_counts(summary: &ServiceSummary) -> String {
    let c = &summary.counts;
    format!(
        "{} serving · {} pending · {} failing · {} cannot be judged",
        c.serving, c.pending, c.failing, c.cannot_judge
    )
}

fn backend_word(state: BackendState) -> &'static str {
    match state {
        BackendState::Up => "UP",
        BackendState::Down => "DOWN",
        BackendState::Drain => "DRAIN",
        BackendState::Maint => "MAINT",
        BackendState::NotReady => "not ready",
        BackendState::Stopped => "stopped",
    }
}

fn frontend_word(state: FrontendState) -> &'static str {
    match state {
        FrontendState::Listening => "listening",
        FrontendState::Pending => "pending",
        FrontendState::Down => "down",
        FrontendState::Unavailable => "unavailable",
    }
}

fn backend_row(b: &Backend) -> Html {
    let state = format!("{:?}", b.state).to_lowercase();
    html! {
        <tr data-backend={b.instance_name.clone()}>
            <td><code>{ &b.instance_name }</code></td>
            <td>{ &b.host_name }</td>
            <td class={classes!("backend-state", state)}>{ backend_word(b.state) }</td>
            <td class="sessions">{ b.sessions }</td>
            <td class="requests">{ b.requests }</td>
            <td class="muted">{ b.address.clone().unwrap_or_else(|| "—".into()) }</td>
            <td class="muted">{ b.last_check.clone().unwrap_or_default() }</td>
        </tr>
    }
}

/// One exposed port: its frontend address and state, and its backends.
pub fn port_view(p: &ExposedPort) -> Html {
    let check = match &p.health_check {
        HealthCheck::Http { path, expect_status } => format!("GET {path} → {expect_status}"),
        HealthCheck::Tcp { send, expect } => format!("send {send:?}, expect {expect:?}"),
    };
    let frontend = format!("{:?}", p.frontend).to_lowercase();
    html! {
        <section class="port" data-port={format!("{}:{}", p.cloud_config, p.target_port)}>
            <h3>{ format!("{} port {} ({})", p.cloud_config, p.target_port, p.protocol.as_str()) }</h3>
            <p>
                { "Address " }<code class="frontend-address">{ &p.frontend_address }</code>
                { " · frontend " }<span class={classes!("frontend-state", frontend)}>{ frontend_word(p.frontend) }</span>
                { format!(" · health check {check}") }
                if let Some(e) = &p.frontend_error { <span class="detail bad">{ format!(" — {e}") }</span> }
            </p>
            if p.backends.is_empty() { <p class="empty">{ "No instances behind it yet." }</p> }
            else {
                <div class="table-wrap"><table class="backends">
                    <thead><tr><th>{ "Instance" }</th><th>{ "Host" }</th><th>{ "State" }</th><th>{ "Sessions" }</th><th>{ "Requests" }</th><th>{ "Reached at" }</th><th>{ "Last check" }</th></tr></thead>
                    <tbody>{ for p.backends.iter().map(backend_row) }</tbody>
                </table></div>
            }
        </section>
    }
}

/// Props of [`ExposeDialog`].
#[derive(Properties, PartialEq)]
pub struct ExposeProps {
    /// The deployment.
    pub id: DeploymentId,
    /// Its members (one is picked).
    pub members: Vec<DeploymentCloudConfig>,
    /// Closes the dialog.
    pub on_close: Callback<()>,
    /// Called with the exposed port.
    pub on_exposed: Callback<ExposedPort>,
}

/// Exposes an HTTP port of one member's instances: the target port, a health check path and the
/// status it expects, and optionally a fixed frontend port. The server checks everything and
/// answers a clear error (a port out of range, a taken frontend port, a path without `/`).
#[function_component(ExposeDialog)]
pub fn expose_dialog(props: &ExposeProps) -> Html {
    let member = use_state(|| props.members.first().map(|m| m.cloud_config_id));
    let target = use_state(|| "80".to_owned());
    let path = use_state(|| "/".to_owned());
    let status = use_state(|| "200".to_owned());
    let frontend = use_state(String::new);
    let id = props.id;
    let expose = use_action(
        move |api, body: ExposePort| async move { services::deployments::expose(&api, id, &body).await },
        {
            let done = props.on_exposed.clone();
            move |port: ExposedPort| done.emit(port)
        },
    );
    let local = use_state(|| None::<String>);
    let submit = {
        let (member, target, path, status, frontend, local, run) = (
            member.clone(),
            target.clone(),
            path.clone(),
            status.clone(),
            frontend.clone(),
            local.clone(),
            expose.run(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // Numbers the browser cannot read are sent as they are typed: the server says what is
            // wrong with them, in the same words as for any client.
            let number = |s: &str| s.trim().parse::<i32>().ok();
            let Some(cloud_config_id) = *member else {
                local.set(Some("pick a cloud-config".into()));
                return;
            };
            let (Some(target_port), Some(expect_status)) = (number(&target), number(&status)) else {
                local.set(Some("the target port and the expected status are numbers".into()));
                return;
            };
            let frontend_port = if frontend.trim().is_empty() {
                None
            } else if let Some(p) = number(&frontend) {
                Some(p)
            } else {
                local.set(Some("the frontend port is a number, or empty to have one allocated".into()));
                return;
            };
            local.set(None);
            run.emit(ExposePort {
                cloud_config_id,
                target_port,
                protocol: PortProtocol::Http,
                health_check: Some(HealthCheck::Http { path: (*path).clone(), expect_status }),
                frontend_port,
            });
        })
    };
    html! {
        <Modal title="Expose a port" on_close={props.on_close.clone()}>
            <form onsubmit={submit}>
                <label for="expose-member">{ "Cloud-config" }</label>
                <select id="expose-member" onchange={let (m, all) = (member.clone(), props.members.clone()); Callback::from(move |e: Event| {
                    let picked = select_value(&e);
                    m.set(all.iter().find(|c| c.cloud_config_id.to_string() == picked).map(|c| c.cloud_config_id));
                })}>
                    { for props.members.iter().map(|c| html! {
                        <option value={c.cloud_config_id.to_string()} selected={Some(c.cloud_config_id) == *member}>{ format!("{}/{}", c.namespace, c.name) }</option>
                    }) }
                </select>
                <label for="expose-target">{ "Port inside the instances (HTTP)" }</label>
                <input id="expose-target" inputmode="numeric" value={(*target).clone()}
                    oninput={let t = target.clone(); Callback::from(move |e| t.set(input_value(&e)))} />
                <label for="expose-path">{ "Health check path" }</label>
                <input id="expose-path" value={(*path).clone()}
                    oninput={let p = path.clone(); Callback::from(move |e| p.set(input_value(&e)))} />
                <label for="expose-status">{ "Expected status" }</label>
                <input id="expose-status" inputmode="numeric" value={(*status).clone()}
                    oninput={let s = status.clone(); Callback::from(move |e| s.set(input_value(&e)))} />
                <label for="expose-frontend">{ "Frontend port (empty: allocated)" }</label>
                <input id="expose-frontend" inputmode="numeric" value={(*frontend).clone()}
                    oninput={let f = frontend.clone(); Callback::from(move |e| f.set(input_value(&e)))} />
                if let Some(problem) = &*local { <p class="banner error" id="expose-problem">{ problem }</p> }
                <ErrorBanner error={expose.error()} on_dismiss={expose.dismiss()} />
                <div class="actions"><button type="submit" id="expose-submit" disabled={expose.pending()}>{ "Expose" }</button></div>
            </form>
        </Modal>
    }
}
