//! Memory in use over the last minutes, as sampled by the page.

use yew::prelude::*;

use crate::format;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// `(seconds since the first sample, bytes)`, oldest first.
    pub samples: Vec<(f64, u64)>,
}

/// The chart (SVG).
#[function_component(MemoryChart)]
pub fn memory_chart(props: &Props) -> Html {
    let (w, h) = (600.0, 120.0);
    let samples = &props.samples;
    if samples.len() < 2 {
        return html! { <p class="muted">{ "Memory chart: collecting samples…" }</p> };
    }
    let t0 = samples[0].0;
    let span = (samples[samples.len() - 1].0 - t0).max(1.0);
    let max = samples.iter().map(|s| s.1).max().unwrap_or(1).max(1) as f64;
    let points: Vec<String> = samples
        .iter()
        .map(|(t, b)| format!("{:.1},{:.1}", (t - t0) / span * w, h - (*b as f64) / max * (h - 10.0)))
        .collect();
    html! {
        <figure class="chart">
            <svg viewBox={format!("0 0 {w} {h}")} preserveAspectRatio="none" role="img" aria-label="memory over time">
                <polyline fill="none" stroke="currentColor" stroke-width="2" points={points.join(" ")} />
            </svg>
            <figcaption>{ format!("Memory, last {:.0} s — peak {}", span, format::bytes(max as u64)) }</figcaption>
        </figure>
    }
}
