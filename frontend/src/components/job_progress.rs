//! A job's live progress bar and per-instance results.

use mosaic_types::jobs::{Job, JobState};
use yew::prelude::*;

use crate::format;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The job as last heard of.
    pub job: Job,
    /// Dismisses it: `None` while the page still follows the job (there is nothing to dismiss
    /// before it ends), `Some` once it ended or the page stopped hearing about it.
    pub on_dismiss: Option<Callback<()>>,
}

/// The job state's word, for its label and CSS class.
fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
    }
}

/// The panel.
#[function_component(JobProgress)]
pub fn job_progress(props: &Props) -> Html {
    let job = &props.job;
    let percent = if job.total > 0 { job.done * 100 / job.total } else { 100 };
    let state = state_name(job.state);
    html! {
        <section class={classes!("job", state)} data-job-state={state}>
            <div class="job-head">
                <strong>{ job.kind.as_str() }</strong>
                <span class="job-state">{ state }</span>
                <span>{ format!("{} / {} done", job.done, job.total) }</span>
                if job.failed > 0 { <span class="bad">{ format!("{} failed", job.failed) }</span> }
                if let Some(dismiss) = &props.on_dismiss {
                    <button class="link" onclick={dismiss.reform(|_| ())}>{ "Dismiss" }</button>
                }
            </div>
            <div class="bar" role="progressbar" aria-valuenow={percent.to_string()} aria-valuemin="0" aria-valuemax="100">
                <div class="fill" style={format!("width: {percent}%")}></div>
            </div>
            if let Some(e) = &job.error { <p class="bad">{ e }</p> }
            <ul class="items">
                { for job.items.iter().map(|i| {
                    let step = format::job_step(&i.step);
                    html! {
                        <li class={classes!(i.error.is_some().then_some("bad"))}>
                            <code>{ &i.instance_name }</code>{ " on " }{ &i.host_name }{ ": " }
                            <span class={classes!("step", step.clone())}>{ step }</span>
                            if let Some(e) = &i.error { <div class="detail">{ e }</div> }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
