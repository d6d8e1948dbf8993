//! The cloud-configs by namespace, each namespace a folder.

use std::collections::BTreeMap;
use std::rc::Rc;

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::CloudConfig;
use mosaic_types::page::Page;
use yew::prelude::*;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The cloud-configs shown: the pages read so far (`None` while loading).
    pub configs: Option<Rc<Page<CloudConfig>>>,
    /// Whether a search is on (nothing found is then "no match").
    pub searching: bool,
    /// Above the tree (the search box).
    #[prop_or_default]
    pub header: Html,
    /// Below the tree ("More").
    #[prop_or_default]
    pub children: Html,
    /// The one open in the editor.
    pub selected: Option<CloudConfigId>,
    /// Opens one.
    pub on_open: Callback<CloudConfig>,
}

/// The tree.
#[function_component(Tree)]
pub fn tree(props: &Props) -> Html {
    let Some(configs) = &props.configs else {
        return html! { <aside class="tree">{ props.header.clone() }<p class="muted">{ "Loading…" }</p></aside> };
    };
    let configs = &configs.items;
    let mut by_namespace: BTreeMap<&str, Vec<&CloudConfig>> = BTreeMap::new();
    for c in configs.iter() {
        by_namespace.entry(&c.namespace).or_default().push(c);
    }
    html! {
        <aside class="tree">
            { props.header.clone() }
            if configs.is_empty() {
                <p class="empty">{ if props.searching { "No cloud-configs match." } else { "No cloud-configs yet." } }</p>
            }
            { for by_namespace.iter().map(|(ns, items)| html! {
                <details open=true>
                    <summary>{ ns }</summary>
                    <ul>{ for items.iter().map(|c| {
                        let open = props.on_open.reform({ let c = (*c).clone(); move |_| c.clone() });
                        let current = props.selected == Some(c.id);
                        html! { <li><button class={classes!("link", current.then_some("current"))}
                            data-cloud-config={format!("{}/{}", c.namespace, c.name)} onclick={open}>{ &c.name }</button>
                            <span class="muted">{ format!(" r{}", c.revision) }</span></li> }
                    }) }</ul>
                </details>
            }) }
            { props.children.clone() }
        </aside>
    }
}
