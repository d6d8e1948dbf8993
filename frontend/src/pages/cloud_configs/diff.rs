//! The difference between two revisions: the YAML as a unified diff, then image, image server
//! and config keys.

use std::collections::BTreeSet;

use mosaic_types::cloud_configs::{ImageServer, RevisionDiff};
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
            if let Some([a, b]) = &d.image { <p id="diff-image">{ format!("image: {a} → {b}") }</p> }
            if let Some([a, b]) = &d.image_server {
                <p id="diff-image-server">{ format!("image server: {} → {}", server_text(a.as_ref()), server_text(b.as_ref())) }</p>
            }
            { for keys.iter().map(|k| {
                let [a, b] = &d.config[*k];
                html! { <p>{ format!("{k}: {} → {}", a.as_deref().unwrap_or("(none)"), b.as_deref().unwrap_or("(none)")) }</p> }
            }) }
        </section>
    }
}

/// An image server in a few words: its address and protocol (and whether a certificate is pinned),
/// or where the image is without one.
pub fn server_text(server: Option<&ImageServer>) -> String {
    match server {
        None => "(on the hosts)".into(),
        Some(s) => format!(
            "{} ({}{})",
            s.url,
            s.protocol.as_str(),
            if s.certificate.is_some() { ", own certificate" } else { "" }
        ),
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
    use mosaic_types::cloud_configs::{ImageProtocol, ImageServer};

    use super::{line_class, server_text};

    #[test]
    fn an_image_server_reads_as_address_and_protocol() {
        assert_eq!(server_text(None), "(on the hosts)");
        let mut s = ImageServer {
            url: "https://images.example".into(),
            protocol: ImageProtocol::Lxd,
            certificate: None,
        };
        assert_eq!(server_text(Some(&s)), "https://images.example (lxd)");
        s.certificate = Some("-----BEGIN CERTIFICATE-----".into());
        assert_eq!(server_text(Some(&s)), "https://images.example (lxd, own certificate)");
    }

    #[test]
    fn changed_lines_are_told_from_headers_and_context() {
        assert_eq!(line_class("+runcmd:"), "add");
        assert_eq!(line_class("-runcmd:"), "del");
        assert_eq!(line_class("+++ r2"), "");
        assert_eq!(line_class("--- r1"), "");
        assert_eq!(line_class(" unchanged"), "");
    }
}
