//! Cloud-configs: a tree by namespace, an editor with errors shown at their line, revisions with
//! a diff view and restore.

use std::collections::{BTreeMap, BTreeSet};

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{
    CloudConfig, CreateCloudConfig, RevisionDiff, RevisionSummary, UpdateCloudConfig,
};
use yew::prelude::*;

use super::{input_value, textarea_value};
use crate::components::ErrorBanner;
use crate::format;
use crate::services::{self, ApiError};
use crate::session::use_token;

const TEMPLATE: &str = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: \"Deployed by Mosaic\\n\"\nruncmd:\n  - [sh, -c, \"echo hello > /var/tmp/hello\"]\n";

#[derive(Clone, PartialEq, Default)]
struct Draft {
    id: Option<CloudConfigId>,
    namespace: String,
    name: String,
    description: String,
    image: String,
    config: String,
    user_data: String,
}

impl Draft {
    fn from(c: &CloudConfig) -> Self {
        Draft {
            id: Some(c.id),
            namespace: c.namespace.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            image: c.image.clone(),
            config: c.config.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"),
            user_data: c.user_data.clone(),
        }
    }

    fn config_map(&self) -> Result<BTreeMap<String, String>, String> {
        self.config
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .ok_or_else(|| format!("“{l}” is not KEY=VALUE"))
            })
            .collect()
    }
}

/// The cloud-configs screen.
#[function_component(CloudConfigs)]
pub fn cloud_configs() -> Html {
    let token = use_token();
    let list = use_state(|| None::<Vec<CloudConfig>>);
    let draft = use_state(|| None::<Draft>);
    let error = use_state(|| None::<ApiError>);
    let revisions = use_state(Vec::<RevisionSummary>::new);
    let diff = use_state(|| None::<RevisionDiff>);
    let saved = use_state(|| None::<String>);

    let reload = {
        let (list, error, token) = (list.clone(), error.clone(), token.clone());
        Callback::from(move |_: ()| {
            let (list, error, token) = (list.clone(), error.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::cloud_configs::list(&token).await {
                    Ok(l) => list.set(Some(l)),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }
    let open = {
        let (draft, revisions, diff, token, error, saved) =
            (draft.clone(), revisions.clone(), diff.clone(), token.clone(), error.clone(), saved.clone());
        Callback::from(move |c: CloudConfig| {
            draft.set(Some(Draft::from(&c)));
            diff.set(None);
            saved.set(None);
            let (revisions, token, error) = (revisions.clone(), token.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::cloud_configs::revisions(&token, c.id).await {
                    Ok(r) => revisions.set(r),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let new = {
        let (draft, revisions, diff, saved) = (draft.clone(), revisions.clone(), diff.clone(), saved.clone());
        Callback::from(move |_| {
            draft.set(Some(Draft {
                user_data: TEMPLATE.into(),
                image: "debian-cloudinit".into(),
                ..Draft::default()
            }));
            revisions.set(Vec::new());
            diff.set(None);
            saved.set(None);
        })
    };
    let save = {
        let (draft, error, token, reload, open, saved) =
            (draft.clone(), error.clone(), token.clone(), reload.clone(), open.clone(), saved.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(d) = (*draft).clone() else { return };
            let config = match d.config_map() {
                Ok(c) => c,
                Err(m) => {
                    return error.set(Some(ApiError {
                        status: 0,
                        code: "validation_failed".into(),
                        message: format!("config: {m}"),
                    }));
                }
            };
            let (error, token, reload, open, saved) =
                (error.clone(), token.clone(), reload.clone(), open.clone(), saved.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = match d.id {
                    None => {
                        let body = CreateCloudConfig {
                            namespace: d.namespace,
                            name: d.name,
                            description: d.description,
                            user_data: d.user_data,
                            image: d.image,
                            config,
                        };
                        services::cloud_configs::create(&token, &body).await
                    }
                    Some(id) => {
                        let body = UpdateCloudConfig {
                            namespace: Some(d.namespace),
                            name: Some(d.name),
                            description: Some(d.description),
                            user_data: Some(d.user_data),
                            image: Some(d.image),
                            config: Some(config),
                        };
                        services::cloud_configs::update(&token, id, &body).await
                    }
                };
                match result {
                    Ok(c) => {
                        error.set(None);
                        let message = format!("Saved {}/{} (revision {})", c.namespace, c.name, c.revision);
                        open.emit(c);
                        saved.set(Some(message));
                        reload.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    let tree: BTreeMap<String, Vec<CloudConfig>> = list.iter().flatten().fold(BTreeMap::new(), |mut m, c| {
        m.entry(c.namespace.clone()).or_insert_with(Vec::new).push(c.clone());
        m
    });
    let field = |get: fn(&mut Draft) -> &mut String| {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(mut d) = (*draft).clone() {
                *get(&mut d) = input_value(&e);
                draft.set(Some(d));
            }
        })
    };
    html! {
        <>
            <div class="page-head">
                <h1>{ "Cloud-configs" }</h1>
                <button id="new-cloud-config" onclick={new}>{ "New cloud-config" }</button>
            </div>
            <div class="split">
                <aside class="tree">
                    if list.as_ref().is_some_and(|l| l.is_empty()) { <p class="empty">{ "No cloud-configs yet — create one." }</p> }
                    { for tree.iter().map(|(ns, items)| html! {
                        <details open=true>
                            <summary>{ ns }</summary>
                            <ul>{ for items.iter().map(|c| {
                                let (open, c2) = (open.clone(), c.clone());
                                html! { <li><button class="link" data-cloud-config={format!("{}/{}", c.namespace, c.name)}
                                    onclick={Callback::from(move |_| open.emit(c2.clone()))}>{ &c.name }</button>
                                    <span class="muted">{ format!(" r{}", c.revision) }</span></li> }
                            }) }</ul>
                        </details>
                    }) }
                </aside>
                <section class="editor">
                    <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
                    if let Some(message) = &*saved { <div class="banner good" id="saved">{ message }</div> }
                    if let Some(d) = &*draft {
                        <form onsubmit={save}>
                            <div class="row">
                                <label>{ "Namespace" }<input id="cc-namespace" value={d.namespace.clone()} oninput={field(|d| &mut d.namespace)} /></label>
                                <label>{ "Name" }<input id="cc-name" value={d.name.clone()} oninput={field(|d| &mut d.name)} /></label>
                                <label>{ "Image" }<input id="cc-image" value={d.image.clone()} oninput={field(|d| &mut d.image)} /></label>
                            </div>
                            <label>{ "Description" }<input id="cc-description" value={d.description.clone()} oninput={field(|d| &mut d.description)} /></label>
                            <label>{ "cloud-config (YAML)" }</label>
                            <YamlEditor value={d.user_data.clone()} error={(*error).clone()}
                                on_input={let draft = draft.clone(); Callback::from(move |v: String| if let Some(mut d) = (*draft).clone() { d.user_data = v; draft.set(Some(d)); })} />
                            <label>{ "LXD config keys (KEY=VALUE per line: limits.*, environment.*, user.*)" }
                                <textarea id="cc-config" rows="3" value={d.config.clone()}
                                    oninput={let draft = draft.clone(); Callback::from(move |e: InputEvent| if let Some(mut d) = (*draft).clone() { d.config = textarea_value(&e); draft.set(Some(d)); })} />
                            </label>
                            <div class="actions">
                                if let Some(id) = d.id {
                                    <button type="button" class="link danger" id="delete-cloud-config" onclick={
                                        let (token, error, reload, draft) = (token.clone(), error.clone(), reload.clone(), draft.clone());
                                        Callback::from(move |_| {
                                            let (token, error, reload, draft) = (token.clone(), error.clone(), reload.clone(), draft.clone());
                                            wasm_bindgen_futures::spawn_local(async move {
                                                match services::cloud_configs::remove(&token, id).await {
                                                    Ok(()) => { draft.set(None); reload.emit(()) }
                                                    Err(e) => error.set(Some(e)),
                                                }
                                            });
                                        })
                                    }>{ "Delete" }</button>
                                }
                                <button type="submit" id="save-cloud-config">{ if d.id.is_some() { "Save (new revision if changed)" } else { "Create" } }</button>
                            </div>
                        </form>
                        if let Some(id) = d.id {
                            <h2>{ "Revisions" }</h2>
                            <ul class="plain revisions">
                                { for revisions.iter().map(|r| {
                                    let current = revisions.first().map(|f| f.revision).unwrap_or(r.revision);
                                    let rev = r.revision;
                                    let show = { let (diff, token, error) = (diff.clone(), token.clone(), error.clone()); Callback::from(move |_| {
                                        let (diff, token, error) = (diff.clone(), token.clone(), error.clone());
                                        wasm_bindgen_futures::spawn_local(async move {
                                            match services::cloud_configs::diff(&token, id, rev, current).await { Ok(d) => diff.set(Some(d)), Err(e) => error.set(Some(e)) }
                                        });
                                    }) };
                                    let restore = { let (open, token, error, reload) = (open.clone(), token.clone(), error.clone(), reload.clone()); Callback::from(move |_| {
                                        let (open, token, error, reload) = (open.clone(), token.clone(), error.clone(), reload.clone());
                                        wasm_bindgen_futures::spawn_local(async move {
                                            match services::cloud_configs::restore(&token, id, rev).await { Ok(c) => { open.emit(c); reload.emit(()) } Err(e) => error.set(Some(e)) }
                                        });
                                    }) };
                                    html! { <li>{ format!("r{} · {} · {}", r.revision, r.author, format::time(Some(r.created_at))) }
                                        if rev != current {
                                            <button class="link" onclick={show}>{ format!("diff with r{current}") }</button>
                                            <button class="link" onclick={restore}>{ "restore" }</button>
                                        }
                                    </li> }
                                }) }
                            </ul>
                            if let Some(d) = &*diff { <DiffView diff={d.clone()} /> }
                        }
                    } else {
                        <p class="muted">{ "Pick a cloud-config, or create one." }</p>
                    }
                </section>
            </div>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct YamlProps {
    value: String,
    error: Option<ApiError>,
    on_input: Callback<String>,
}

/// The YAML, with line numbers, and the line a validation error names marked.
#[function_component(YamlEditor)]
fn yaml_editor(props: &YamlProps) -> Html {
    let bad_line = props.error.as_ref().and_then(|e| line_of(&e.message));
    // A parse error at the end of the text names the line after the last.
    let lines = props.value.lines().count().max(bad_line.unwrap_or(1)).max(1);
    let numbers: Html = (1..=lines)
        .map(|n| html! { <div class={classes!((Some(n) == bad_line).then_some("bad-line"))}>{ n }</div> })
        .collect();
    let on_input = props.on_input.clone();
    html! {
        <div class="yaml">
            <div class="gutter" aria-hidden="true">{ numbers }</div>
            <textarea id="cc-user-data" spellcheck="false" rows={(lines + 1).max(8).to_string()} value={props.value.clone()}
                oninput={Callback::from(move |e: InputEvent| on_input.emit(textarea_value(&e)))} />
            if let (Some(n), Some(e)) = (bad_line, &props.error) {
                <p class="bad" id="yaml-error">{ format!("Line {n}: {}", e.message) }
                    <code>{ props.value.lines().nth(n.saturating_sub(1)).unwrap_or("") }</code></p>
            }
        </div>
    }
}

/// The line number in a message such as "user_data line 3, column 5: ...".
fn line_of(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

#[derive(Properties, PartialEq)]
struct DiffProps {
    diff: RevisionDiff,
}

#[function_component(DiffView)]
fn diff_view(props: &DiffProps) -> Html {
    let d = &props.diff;
    let keys: BTreeSet<&String> = d.config.keys().collect();
    html! {
        <section class="diff" id="diff">
            <h3>{ format!("r{} → r{}", d.from, d.to) }</h3>
            <pre>{ for d.user_data.lines().map(|l| {
                let class = if l.starts_with('+') && !l.starts_with("+++") { "add" } else if l.starts_with('-') && !l.starts_with("---") { "del" } else { "" };
                html! { <span class={class}>{ l }{ "\n" }</span> }
            }) }</pre>
            if let Some([a, b]) = &d.image { <p>{ format!("image: {a} → {b}") }</p> }
            { for keys.iter().map(|k| {
                let [a, b] = &d.config[*k];
                html! { <p>{ format!("{k}: {} → {}", a.as_deref().unwrap_or("(none)"), b.as_deref().unwrap_or("(none)")) }</p> }
            }) }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_of_a_yaml_error_is_found() {
        assert_eq!(line_of("user_data line 4, column 1: did not find expected ','"), Some(4));
        assert_eq!(line_of("user_data line 1: must be exactly `#cloud-config`"), Some(1));
        assert_eq!(line_of("config key \"raw.lxc\" is not allowed"), None);
    }

    #[test]
    fn config_lines_become_keys() {
        let draft =
            Draft { config: "limits.memory=256MiB\n\n user.site = a=b \n".into(), ..Draft::default() };
        let keys = draft.config_map().unwrap();
        assert_eq!(keys["limits.memory"], "256MiB");
        assert_eq!(keys["user.site"], "a=b");
        assert!(Draft { config: "oops".into(), ..Draft::default() }.config_map().is_err());
    }
}
