//! A cloud-config's revisions, newest first: a diff of any one against the newest, and restore
//! (which makes the old text a new revision).

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{CloudConfig, RevisionDiff};
use yew::prelude::*;

use super::diff::DiffView;
use crate::access::{Can, use_access};
use crate::components::{ErrorBanner, More};
use crate::format;
use crate::hooks::{use_action, use_paged};
use crate::services;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The cloud-config.
    pub id: CloudConfigId,
    /// Its newest revision (the list is read again when it changes).
    pub revision: i32,
    /// A revision was restored (the cloud-config as it is now).
    pub on_restored: Callback<CloudConfig>,
}

/// The revisions list and the diff shown.
#[function_component(Revisions)]
pub fn revisions(props: &Props) -> Html {
    let id = props.id;
    let editable = use_access().can(Can::EditCloudConfigs);
    let paged = use_paged((id, props.revision), |api, (id, _), pages| async move {
        services::cloud_configs::revisions(&api, id, pages).await
    });
    let list = &paged.load;
    let shown = use_state(|| None::<RevisionDiff>);
    let diff = use_action(
        move |api, (from, to): (i32, i32)| async move { services::cloud_configs::diff(&api, id, from, to).await },
        {
            let shown = shown.clone();
            move |d: RevisionDiff| shown.set(Some(d))
        },
    );
    let restore = use_action(
        move |api, revision: i32| async move { services::cloud_configs::restore(&api, id, revision).await },
        {
            let on_restored = props.on_restored.clone();
            move |c: CloudConfig| on_restored.emit(c)
        },
    );
    let revisions = paged.items().unwrap_or_default();
    let current = revisions.first().map(|r| r.revision);
    html! {
        <>
            <h2>{ "Revisions" }</h2>
            <ErrorBanner error={list.error()} on_dismiss={list.dismiss()} />
            <ErrorBanner error={diff.error()} on_dismiss={diff.dismiss()} />
            <ErrorBanner error={restore.error()} on_dismiss={restore.dismiss()} />
            <ul class="plain revisions">
                { for revisions.iter().map(|r| {
                    let rev = r.revision;
                    html! { <li>{ format!("r{} · {} · {}", r.revision, r.author, format::time(Some(r.created_at))) }
                        if let Some(current) = current.filter(|c| *c != rev) {
                            <button class="link" onclick={diff.run().reform(move |_| (rev, current))}>{ format!("diff with r{current}") }</button>
                            if editable {
                                <button class="link" disabled={restore.pending()} onclick={restore.run().reform(move |_| rev)}>{ "restore" }</button>
                            }
                        }
                    </li> }
                }) }
            </ul>
            <More id="more-revisions" shown={paged.has_more()} on_more={paged.more()} />
            if let Some(d) = &*shown { <DiffView diff={d.clone()} /> }
        </>
    }
}
