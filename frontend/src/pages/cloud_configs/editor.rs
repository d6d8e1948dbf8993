//! The editor of one cloud-config (or a new one): its fields, where its image comes from (the
//! hosts, or an image server they pull it from), the YAML, the LXD config keys; saving makes a new
//! revision when anything changed.

use std::collections::BTreeMap;

use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{
    CloudConfig, CreateCloudConfig, ImageProtocol, ImageServer, UpdateCloudConfig,
};
use yew::prelude::*;

use super::yaml::YamlEditor;
use crate::access::{Can, use_access};
use crate::components::ErrorBanner;
use crate::hooks::use_action;
use crate::pages::{input_value, select_value, textarea_value};
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
    /// The image comes from an image server (else: it is on the hosts).
    from_server: bool,
    /// The image server's address.
    server_url: String,
    /// Its protocol, as the select says it (`lxd`, `simplestreams`).
    protocol: String,
    /// Its certificate (PEM), blank for none.
    certificate: String,
    /// The image server of the revision this draft started from: an update sends the image
    /// server only when the form's differs from it (omitted, the revision keeps its own).
    saved_server: Option<ImageServer>,
    /// `KEY=VALUE` per line.
    config: String,
    user_data: String,
}

impl Draft {
    /// A new cloud-config's fields.
    fn template() -> Self {
        Draft {
            user_data: TEMPLATE.into(),
            protocol: ImageProtocol::Simplestreams.as_str().into(),
            ..Draft::default()
        }
    }

    /// An existing one's.
    fn of(c: &CloudConfig) -> Self {
        Draft {
            id: Some(c.id),
            namespace: c.namespace.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            image: c.image.clone(),
            from_server: c.image_server.is_some(),
            server_url: c.image_server.as_ref().map(|s| s.url.clone()).unwrap_or_default(),
            protocol: c
                .image_server
                .as_ref()
                .map_or(ImageProtocol::Simplestreams, |s| s.protocol)
                .as_str()
                .into(),
            certificate: c.image_server.as_ref().and_then(|s| s.certificate.clone()).unwrap_or_default(),
            saved_server: c.image_server.clone(),
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

    /// The image server the form names (`None`: the image is on the hosts), or what is wrong
    /// with its fields.
    fn image_server(&self) -> Result<Option<ImageServer>, String> {
        if !self.from_server {
            return Ok(None);
        }
        let url = self.server_url.trim();
        if url.is_empty() {
            return Err("image server: give its address (https://…)".into());
        }
        if !url.starts_with("https://") || url.len() <= "https://".len() || url.contains(char::is_whitespace)
        {
            return Err(format!("image server: “{url}” is not an https:// address"));
        }
        let protocol = self
            .protocol
            .parse::<ImageProtocol>()
            .map_err(|_| "image server: pick its protocol (lxd or simplestreams)".to_owned())?;
        let certificate = self.certificate.trim();
        if !certificate.is_empty() && !certificate.starts_with("-----BEGIN CERTIFICATE-----") {
            return Err("image server: the certificate must be PEM (-----BEGIN CERTIFICATE-----…)".into());
        }
        Ok(Some(ImageServer {
            url: url.to_owned(),
            protocol,
            // As typed: an untouched form then equals the saved revision's server exactly.
            certificate: (!certificate.is_empty()).then(|| self.certificate.clone()),
        }))
    }

    /// What to send: a create or an update, or what the server would refuse anyway.
    fn request(self) -> Result<Save, ApiError> {
        let config = self.config_map().map_err(|m| ApiError::validation(format!("config: {m}")))?;
        let image_server = self.image_server().map_err(ApiError::validation)?;
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
                image_server,
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
                    // Omitted when unchanged (the revision keeps the one it has); `null` clears it.
                    image_server: (image_server != self.saved_server).then_some(image_server),
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
                <label>{ "Image" }<input id="cc-image" readonly={readonly} required=true
                    placeholder={if d.from_server { "an alias or fingerprint on the server" } else { "an image alias on the hosts" }} value={d.image.clone()}
                    oninput={edit(|d, v| d.image = v).reform(|e: InputEvent| input_value(&e))} /></label>
            </div>
            <div class="row image-source">
                <label>{ "Image source" }
                    <select id="cc-image-source" disabled={readonly}
                        onchange={edit(|d, v| d.from_server = v == "server").reform(|e: Event| select_value(&e))}>
                        <option value="hosts" selected={!d.from_server}>{ "On the hosts" }</option>
                        <option value="server" selected={d.from_server}>{ "Pulled from an image server" }</option>
                    </select>
                </label>
                if d.from_server {
                    <label>{ "Image server" }<input id="cc-image-server-url" readonly={readonly} placeholder="https://images.example.org"
                        value={d.server_url.clone()} oninput={edit(|d, v| d.server_url = v).reform(|e: InputEvent| input_value(&e))} /></label>
                    <label>{ "Protocol" }
                        <select id="cc-image-protocol" disabled={readonly}
                            onchange={edit(|d, v| d.protocol = v).reform(|e: Event| select_value(&e))}>
                            { for ImageProtocol::ALL.iter().map(|p| html! {
                                <option value={p.as_str()} selected={p.as_str() == d.protocol}>{ p.as_str() }</option>
                            }) }
                        </select>
                    </label>
                }
            </div>
            if d.from_server {
                <label>{ "Server certificate (PEM; only for a server the hosts' CAs do not vouch for, such as a self-signed LXD)" }
                    <textarea id="cc-image-certificate" rows="3" readonly={readonly} value={d.certificate.clone()}
                        placeholder="-----BEGIN CERTIFICATE-----"
                        oninput={edit(|d, v| d.certificate = v).reform(|e: InputEvent| textarea_value(&e))} />
                </label>
            }
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
        assert_eq!(body.image_server, None);
    }

    fn remote(url: &str, protocol: &str, certificate: &str) -> Draft {
        Draft {
            namespace: "Web".into(),
            name: "Site".into(),
            image: "debian/12".into(),
            from_server: true,
            server_url: url.into(),
            protocol: protocol.into(),
            certificate: certificate.into(),
            ..Draft::template()
        }
    }

    #[test]
    fn an_image_server_is_built_from_its_fields_or_refused_in_words() {
        let server = remote(" https://images.example/streams ", "simplestreams", "  ").image_server();
        assert_eq!(
            server,
            Ok(Some(ImageServer {
                url: "https://images.example/streams".into(),
                protocol: ImageProtocol::Simplestreams,
                certificate: None,
            }))
        );
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        let server = remote("https://127.0.0.1:8443", "lxd", &format!("\n{pem}\n")).image_server();
        assert_eq!(
            server.map(|s| s.map(|s| (s.protocol, s.certificate))),
            Ok(Some((ImageProtocol::Lxd, Some(format!("\n{pem}\n")))))
        );
        for (url, protocol, certificate, says) in [
            ("", "lxd", "", "give its address"),
            ("http://images.example", "lxd", "", "not an https:// address"),
            ("https://", "lxd", "", "not an https:// address"),
            ("https://a b", "lxd", "", "not an https:// address"),
            ("https://images.example", "", "", "protocol"),
            ("https://images.example", "lxd", "MIIB", "PEM"),
        ] {
            let Err(e) = remote(url, protocol, certificate).request() else {
                panic!("{url} {protocol} {certificate} is refused")
            };
            assert_eq!(e.code, "validation_failed");
            assert!(e.message.starts_with("image server:") && e.message.contains(says), "{}", e.message);
        }
        // Picking "on the hosts" forgets the server fields.
        let local = Draft { from_server: false, ..remote("junk", "junk", "junk") };
        assert_eq!(local.image_server(), Ok(None));
    }

    #[test]
    fn a_new_cloud_config_sends_its_image_server() {
        let Ok(Save::Create(body)) = remote("https://images.example", "simplestreams", "").request() else {
            panic!("a complete form is sent")
        };
        assert_eq!(body.image_server.map(|s| s.url), Some("https://images.example".into()));
    }

    #[test]
    fn an_update_sends_the_image_server_only_when_it_changed() {
        let saved = ImageServer {
            url: "https://images.example".into(),
            protocol: ImageProtocol::Lxd,
            certificate: None,
        };
        let id: CloudConfigId = "0b6f8c1e-0000-4000-8000-000000000001".parse().unwrap();
        let open = Draft {
            id: Some(id),
            saved_server: Some(saved.clone()),
            ..remote("https://images.example", "lxd", "")
        };
        let update = |d: Draft| match d.request() {
            Ok(Save::Update(_, body)) => body.image_server,
            _ => panic!("an update is sent"),
        };
        // Unchanged: omitted, so the server keeps it.
        assert_eq!(update(open.clone()), None);
        // Changed: the new one.
        let moved = update(Draft { server_url: "https://mirror.example".into(), ..open.clone() });
        assert_eq!(moved.flatten().map(|s| s.url), Some("https://mirror.example".into()));
        // Back to the hosts: `null`, which clears it.
        assert_eq!(update(Draft { from_server: false, ..open.clone() }), Some(None));
        // A cloud-config without one stays without: omitted.
        assert_eq!(update(Draft { from_server: false, saved_server: None, ..open }), None);
    }
}
