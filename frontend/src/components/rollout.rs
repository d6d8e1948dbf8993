//! Rolling a member out to another revision: the dialog that asks for it, and the panel that shows
//! the deployment's current rollout (phase, old/new/ready) with `resume` and `abort`.

use mosaic_types::deployments::DeploymentCloudConfig;
use mosaic_types::jobs::{Job, JobKind, RolloutPhase, RolloutRequest};
use yew::prelude::*;

use crate::components::{ErrorBanner, Modal};
use crate::pages::{checked, input_value};
use crate::services::ApiError;

/// Props of [`RolloutDialog`].
#[derive(Properties, PartialEq)]
pub struct DialogProps {
    /// The member to roll out.
    pub member: DeploymentCloudConfig,
    /// Closes the dialog.
    pub on_close: Callback<()>,
    /// Submits the request.
    pub on_submit: Callback<RolloutRequest>,
}

/// The fields as typed.
#[derive(Clone, PartialEq)]
struct Form {
    revision: String,
    surge: String,
    unavailable: String,
    min_ready: String,
    canary: bool,
}

/// Asks for a revision (the latest by default; an older one rolls back), the surge and
/// unavailability limits, and whether to pause after the first new instance.
#[function_component(RolloutDialog)]
pub fn rollout_dialog(props: &DialogProps) -> Html {
    let m = &props.member;
    let form = use_state(|| Form {
        revision: m.latest_revision.to_string(),
        surge: "1".into(),
        unavailable: "0".into(),
        min_ready: "0".into(),
        canary: false,
    });
    let invalid = use_state(|| None::<ApiError>);
    let submit = {
        let (form, invalid, on_submit, cc) =
            (form.clone(), invalid.clone(), props.on_submit.clone(), m.cloud_config_id);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let number = |what: &str, v: &str| {
                v.trim()
                    .parse::<i32>()
                    .map_err(|_| ApiError::validation(format!("{what} must be a whole number")))
            };
            let body = (|| {
                Ok::<_, ApiError>(RolloutRequest {
                    cloud_config_id: cc,
                    revision: Some(number("the revision", &form.revision)?),
                    max_surge: number("max surge", &form.surge)?,
                    max_unavailable: number("max unavailable", &form.unavailable)?,
                    min_ready_seconds: number("min ready seconds", &form.min_ready)?,
                    progress_deadline_seconds: 600,
                    pause_after_canary: form.canary,
                })
            })();
            match body {
                Ok(body) => on_submit.emit(body),
                Err(e) => invalid.set(Some(e)),
            }
        })
    };
    let field = |label: &'static str, class: &'static str, value: String, set: fn(&mut Form, String)| {
        let form = form.clone();
        html! {
            <label>{ label }{ " " }
                <input class={class} type="number" min="0" value={value}
                    oninput={Callback::from(move |e: InputEvent| { let mut f = (*form).clone(); set(&mut f, input_value(&e)); form.set(f); })} />
            </label>
        }
    };
    html! {
        <Modal title={format!("Roll out {}/{}", m.namespace, m.name)} on_close={props.on_close.clone()}>
            <form onsubmit={submit} class="rollout">
                <p class="muted">{ format!("Pinned to revision {}; the latest is {}. New instances replace the old ones a few at a time; an older revision rolls back.", m.revision, m.latest_revision) }</p>
                { field("Revision", "revision", form.revision.clone(), |f, v| f.revision = v) }
                { field("Max surge", "surge", form.surge.clone(), |f, v| f.surge = v) }
                { field("Max unavailable", "unavailable", form.unavailable.clone(), |f, v| f.unavailable = v) }
                { field("Min ready seconds", "min-ready", form.min_ready.clone(), |f, v| f.min_ready = v) }
                <label>
                    <input class="canary" type="checkbox" checked={form.canary}
                        onchange={let form = form.clone(); Callback::from(move |e: Event| { let mut f = (*form).clone(); f.canary = checked(&e); form.set(f); })} />
                    { " Pause after the first new instance (canary)" }
                </label>
                <ErrorBanner error={(*invalid).clone()} on_dismiss={let i = invalid.clone(); Callback::from(move |()| i.set(None))} />
                <div class="actions"><button id="rollout-submit" type="submit">{ "Roll out" }</button></div>
            </form>
        </Modal>
    }
}

/// Props of [`RolloutPanel`].
#[derive(Properties, PartialEq)]
pub struct PanelProps {
    /// The deployment's latest rollout job (its history's newest of kind `rollout`).
    pub job: Job,
    /// Whether the user may resume or abort it.
    pub may_change: bool,
    /// Resumes (`true`) or aborts (`false`) it.
    pub on_act: Callback<bool>,
}

/// The latest rollout of the deployment, live (the page re-reads it): phase and counts, with
/// resume and abort while it is paused or failed.
#[function_component(RolloutPanel)]
pub fn rollout_panel(props: &PanelProps) -> Html {
    let Some(r) = props.job.rollout.as_ref().filter(|_| props.job.kind == JobKind::Rollout) else {
        return html! {};
    };
    let phase = r.phase.as_str();
    html! {
        <section class={classes!("rollout", phase)} id="rollout" data-phase={phase}>
            <strong>{ format!("Rollout to revision {} (from {})", r.to_revision, r.from_revision) }</strong>
            { " · " }<span class="phase">{ phase }</span>
            <span class="counts" id="rollout-counts">{ format!(" · old {} · new {} · ready {} of {}", r.old, r.new, r.ready, r.count) }</span>
            if r.phase == RolloutPhase::Failed || r.phase == RolloutPhase::Aborted {
                if let Some(e) = &props.job.error { <p class="bad">{ e }</p> }
            }
            if props.may_change && r.phase.can_resume() {
                <div class="toolbar">
                    <button id="rollout-resume" onclick={props.on_act.reform(|_| true)}>{ "Resume" }</button>
                    <button id="rollout-abort" class="danger" onclick={props.on_act.reform(|_| false)}>{ "Abort" }</button>
                </div>
            }
        </section>
    }
}
