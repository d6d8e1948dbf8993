//! Cloud-configs: a tree by namespace ([`tree`]), an editor with errors shown at their line
//! ([`editor`], [`yaml`]), and revisions with a diff view and restore ([`revisions`], [`diff`]).
//!
//! The page owns the list and which cloud-config is open; the editor owns its draft, the
//! revisions list its diff. Opening a cloud-config (or saving one) gives both a new `key`, so they
//! start over from the server's version.

use mosaic_types::cloud_configs::CloudConfig;
use yew::prelude::*;

use crate::access::{Can, use_access};
use crate::components::{ErrorBanner, More};
use crate::hooks::use_paged;
use crate::services;

mod diff;
mod editor;
mod revisions;
mod tree;
mod yaml;

use editor::Editor;
use revisions::Revisions;
use tree::Tree;

/// What the editor shows.
#[derive(Clone, PartialEq)]
struct Open {
    /// The cloud-config, or `None` for a new one.
    config: Option<CloudConfig>,
    /// Counts openings: the editor's and revisions' `key`, so each opening starts afresh.
    key: u32,
    /// What the last save or restore did, shown until the next opening.
    message: Option<String>,
}

/// The cloud-configs screen.
#[function_component(CloudConfigs)]
pub fn cloud_configs() -> Html {
    let editable = use_access().can(Can::EditCloudConfigs);
    let search = use_state(String::new);
    let paged = use_paged((*search).clone(), |api, q: String, pages| async move {
        services::cloud_configs::list(&api, q.trim(), pages).await
    });
    let list = &paged.load;
    let open = use_state(|| None::<Open>);
    let openings = use_mut_ref(|| 0_u32);
    // Opens a cloud-config (or a new one) with an optional message; reloads the list after a change.
    let show = {
        let (open, openings, reload) = (open.clone(), openings.clone(), list.reload());
        Callback::from(move |(config, message): (Option<CloudConfig>, Option<String>)| {
            if message.is_some() {
                reload.emit(());
            }
            let key = {
                let mut n = openings.borrow_mut();
                *n = n.wrapping_add(1);
                *n
            };
            open.set(Some(Open { config, key, message }));
        })
    };
    let on_new = show.reform(|_| (None, None));
    let on_open = show.reform(|c| (Some(c), None));
    let on_saved = show.reform(|c: CloudConfig| {
        let message = format!("Saved {}/{} (revision {})", c.namespace, c.name, c.revision);
        (Some(c), Some(message))
    });
    let on_restored = show.reform(|c: CloudConfig| {
        let message = format!("Restored as revision {} of {}/{}", c.revision, c.namespace, c.name);
        (Some(c), Some(message))
    });
    let on_deleted = {
        let (open, reload) = (open.clone(), list.reload());
        Callback::from(move |()| {
            open.set(None);
            reload.emit(());
        })
    };
    let selected = open.as_ref().and_then(|o| o.config.as_ref()).map(|c| c.id);
    html! {
        <>
            <div class="page-head">
                <h1>{ "Cloud-configs" }</h1>
                if editable { <button id="new-cloud-config" onclick={on_new}>{ "New cloud-config" }</button> }
            </div>
            <ErrorBanner error={list.error()} on_dismiss={list.dismiss()} />
            <div class="split">
                <Tree configs={list.shared()} {selected} {on_open} searching={!search.trim().is_empty()}
                    header={html! { <input id="cloud-config-search" class="search" type="search" placeholder="Search namespace/name"
                        value={(*search).clone()} oninput={let s = search.clone(); Callback::from(move |e| s.set(super::input_value(&e)))} /> }}>
                    <More id="more-cloud-configs" shown={paged.has_more()} on_more={paged.more()} />
                </Tree>
                <section class="editor">
                    if let Some(o) = &*open {
                        if let Some(message) = &o.message { <div class="banner good" id="saved">{ message }</div> }
                        <Editor key={format!("editor-{}", o.key)} config={o.config.clone()} {on_saved} {on_deleted} />
                        if let Some(c) = &o.config {
                            <Revisions key={format!("revisions-{}", o.key)} id={c.id} revision={c.revision} {on_restored} />
                        }
                    } else {
                        <p class="muted">{ if editable { "Pick a cloud-config, or create one." } else { "Pick a cloud-config to read it." } }</p>
                    }
                </section>
            </div>
        </>
    }
}
