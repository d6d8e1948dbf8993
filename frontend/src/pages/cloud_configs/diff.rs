//! The difference between two revisions: the YAML as a unified diff, then image and config keys.

use std::collections::BTreeSet;

use mosaic_types::cloud_configs::RevisionDiff;
use yew::prelude::*;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The diff, as the server computed it.
    pub diff: RevisionDiff,
}

/// The diff view.
#[function_component(DiffView)]
pub fn diff_view(props: &Props) -> Html {
    let d = &props.diff;
    let keys: BTreeSet<&String> = d.config.keys().collect();
    html! {
        <section class="diff" id="diff">
            <h3>{ format!("r{} → r{}", d.from, d.to) }</h3>
            <pre>{ for d.user_data.lines().map(|l| html! { <span class={line_class(l)}>{ l }{ "\n" }</span> }) }</pre>
            if let Some([a, b]) = &d.image { <p>{ format!("image: {a} → {b}") }</p> }
            { for keys.iter().map(|k| {
                let [a, b] = &d.config[*k];
                html! { <p>{ format!("{k}: {} → {}", a.as_deref().unwrap_or("(none)"), b.as_deref().unwrap_or("(none)")) }</p> }
            }) }
        </section>
    }
}

/// `add` or `del` for a changed line of a unified diff; nothing for context and headers.
fn line_class(line: &str) -> &'static str {
    if line.starts_with('+') && !line.starts_with("+++") {
        "add"
    } else if line.starts_with('-') && !line.starts_with("---") {
        "del"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::line_class;

    #[test]
    fn changed_lines_are_told_from_headers_and_context() {
        assert_eq!(line_class("+runcmd:"), "add");
        assert_eq!(line_class("-runcmd:"), "del");
        assert_eq!(line_class("+++ r2"), "");
        assert_eq!(line_class("--- r1"), "");
        assert_eq!(line_class(" unchanged"), "");
    }
}
