//! The editor of one cloud-config (or a new one): its fields, the YAML, the LXD config keys;
//! saving makes a new revision when anything changed.

use std::collections::BTreeMap;

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{CloudConfig, CreateCloudConfig, UpdateCloudConfig};
use yew::prelude::*;

use super::yaml::YamlEditor;
use crate::access::{Can, use_access};
use crate::components::ErrorBanner;
use crate::hooks::use_action;
use crate::pages::{input_value, textarea_value};
use crate::services::{self, ApiError};

/// What a new cloud-config starts with: a small example of the format. No image: which images
/// the hosts have is the operator's to say.
const TEMPLATE: &str = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: \"Deployed by Mosaic\\n\"\nruncmd:\n  - [sh, -c, \"echo hello > /var/tmp/hello\"]\n";

/// The form's fields, as typed.
#[derive(Clone, PartialEq, Default)]
struct Draft {
    id: Option<CloudConfigId>,
    namespace: String,
    name: String,
    description: String,
    image: String,
    /// `KEY=VALUE` per line.
    config: String,
    user_data: String,
}

impl Draft {
    /// A new cloud-config's fields.
    fn template() -> Self {
        Draft { user_data: TEMPLATE.into(), ..Draft::default() }
    }

    /// An existing one's.
    fn of(c: &CloudConfig) -> Self {
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

    /// What to send: a create or an update, or what the server would refuse anyway.
    fn request(self) -> Result<Save, ApiError> {
        let config = self.config_map().map_err(|m| ApiError::validation(format!("config: {m}")))?;
        let image = self.image.trim().to_owned();
        if image.is_empty() {
            return Err(ApiError::validation("image: name the image the containers start from"));
        }
        Ok(match self.id {
            None => Save::Create(CreateCloudConfig {
                namespace: self.namespace,
                name: self.name,
                description: self.description,
                user_data: self.user_data,
                image,
                image_server: None,
                config,
            }),
            Some(id) => Save::Update(
                id,
                UpdateCloudConfig {
                    namespace: Some(self.namespace),
                    name: Some(self.name),
                    description: Some(self.description),
                    user_data: Some(self.user_data),
                    image: Some(image),
                    // Omitted: the revision keeps the image server it has.
                    image_server: None,
                    config: Some(config),
                },
            ),
        })
    }
}

/// A save, as sent.
enum Save {
    Create(CreateCloudConfig),
    Update(CloudConfigId, UpdateCloudConfig),
}

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The cloud-config to edit, or `None` for a new one. The editor keeps its own draft from
    /// then on: give it a new `key` to start over.
    pub config: Option<CloudConfig>,
    /// It was saved (the server's version, with its new revision).
    pub on_saved: Callback<CloudConfig>,
    /// It was deleted.
    pub on_deleted: Callback<()>,
}

/// The editor.
#[function_component(Editor)]
pub fn editor(props: &Props) -> Html {
    // A token that may not change cloud-configs reads them here: the same fields, read-only.
    let readonly = !use_access().can(Can::EditCloudConfigs);
    let draft = use_state(|| props.config.as_ref().map(Draft::of).unwrap_or_else(Draft::template));
    let save = use_action(
        |api, draft: Draft| async move {
            match draft.request()? {
                Save::Create(body) => services::cloud_configs::create(&api, &body).await,
                Save::Update(id, body) => services::cloud_configs::update(&api, id, &body).await,
            }
        },
        {
            let on_saved = props.on_saved.clone();
            move |c: CloudConfig| on_saved.emit(c)
        },
    );
    let delete = use_action(
        |api, id: CloudConfigId| async move { services::cloud_configs::remove(&api, id).await },
        {
            let on_deleted = props.on_deleted.clone();
            move |()| on_deleted.emit(())
        },
    );
    let submit = {
        let (draft, run) = (draft.clone(), save.run());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit((*draft).clone());
        })
    };
    // Each field writes its own part of the draft.
    let edit = |set: fn(&mut Draft, String)| {
        let draft = draft.clone();
        Callback::from(move |value: String| {
            let mut d = (*draft).clone();
            set(&mut d, value);
            draft.set(d);
        })
    };
    let d = &*draft;
    html! {
        <form onsubmit={submit}>
            <ErrorBanner error={save.error()} on_dismiss={save.dismiss()} />
            <ErrorBanner error={delete.error()} on_dismiss={delete.dismiss()} />
            <div class="row">
                <label>{ "Namespace" }<input id="cc-namespace" readonly={readonly} required=true value={d.namespace.clone()}
                    oninput={edit(|d, v| d.namespace = v).reform(|e: InputEvent| input_value(&e))} /></label>
                <label>{ "Name" }<input id="cc-name" readonly={readonly} required=true value={d.name.clone()}
                    oninput={edit(|d, v| d.name = v).reform(|e: InputEvent| input_value(&e))} /></label>
                <label>{ "Image" }<input id="cc-image" readonly={readonly} required=true placeholder="an image alias on the hosts" value={d.image.clone()}
                    oninput={edit(|d, v| d.image = v).reform(|e: InputEvent| input_value(&e))} /></label>
            </div>
            <label>{ "Description" }<input id="cc-description" readonly={readonly} value={d.description.clone()}
                oninput={edit(|d, v| d.description = v).reform(|e: InputEvent| input_value(&e))} /></label>
            <label>{ "cloud-config (YAML)" }</label>
            <YamlEditor value={d.user_data.clone()} error={save.error()} on_input={edit(|d, v| d.user_data = v)} {readonly} />
            <label>{ "LXD config keys (KEY=VALUE per line: limits.*, environment.*, user.*)" }
                <textarea id="cc-config" rows="3" readonly={readonly} value={d.config.clone()}
                    oninput={edit(|d, v| d.config = v).reform(|e: InputEvent| textarea_value(&e))} />
            </label>
            if readonly {
                <p class="muted" id="cc-read-only">{ "This token may read cloud-configs, not change them." }</p>
            } else {
                <div class="actions">
                    if let Some(id) = d.id {
                        <button type="button" class="link danger" id="delete-cloud-config" disabled={delete.pending()}
                            onclick={delete.run().reform(move |_| id)}>{ "Delete" }</button>
                    }
                    <button type="submit" id="save-cloud-config" disabled={save.pending()}>
                        { match (save.pending(), d.id.is_some()) {
                            (true, _) => "Saving…",
                            (false, true) => "Save (new revision if changed)",
                            (false, false) => "Create",
                        } }
                    </button>
                </div>
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_become_keys() {
        let draft =
            Draft { config: "limits.memory=256MiB\n\n user.site = a=b \n".into(), ..Draft::default() };
        let keys = draft.config_map().unwrap();
        assert_eq!(keys["limits.memory"], "256MiB");
        assert_eq!(keys["user.site"], "a=b");
        assert!(Draft { config: "oops".into(), ..Draft::default() }.config_map().is_err());
    }

    #[test]
    fn a_new_cloud_config_has_no_image_and_cannot_be_saved_without_one() {
        let draft = Draft::template();
        assert_eq!(draft.image, "");
        let Err(e) =
            Draft { namespace: "Web".into(), name: "Site".into(), image: "  ".into(), ..draft.clone() }
                .request()
        else {
            panic!("a blank image is refused")
        };
        assert_eq!(e.code, "validation_failed");
        assert!(e.message.starts_with("image:"), "{}", e.message);
        let Ok(Save::Create(body)) = Draft { image: " debian/12 ".into(), ..draft }.request() else {
            panic!("a named image is sent")
        };
        assert_eq!(body.image, "debian/12");
    }
}
