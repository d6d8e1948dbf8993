//! Hosts: add one (URL → fingerprint → confirm → trust token or password, and the LXD project to
//! work in), status, project, a cluster's members and how each is doing, remove.
//! Everyone sees them; only admins add or remove them (a host makes Mosaic connect somewhere).

use mosaic_types::HostId;
use mosaic_types::hosts::{ClusterMember, CreateHost, FingerprintResponse, Host, MemberStatus};
use yew::prelude::*;

use super::input_value;
use crate::access::{Can, use_access};
use crate::components::{ErrorBanner, More};
use crate::hooks::{use_action, use_paged};
use crate::services;

/// The hosts screen.
#[function_component(Hosts)]
pub fn hosts() -> Html {
    let admin = use_access().can(Can::ManageHosts);
    let search = use_state(String::new);
    let paged = use_paged((*search).clone(), |api, q: String, pages| async move {
        services::hosts::list(&api, q.trim(), pages).await
    });
    let list = &paged.load;
    let url = use_state(String::new);
    let name = use_state(String::new);
    let secret = use_state(String::new);
    let project = use_state(String::new);
    let fingerprint = use_state(|| None::<String>);

    let read_fingerprint =
        use_action(|api, url: String| async move { services::hosts::fingerprint(&api, &url).await }, {
            let fingerprint = fingerprint.clone();
            move |f: FingerprintResponse| fingerprint.set(Some(f.fingerprint))
        });
    let register =
        use_action(|api, body: CreateHost| async move { services::hosts::create(&api, &body).await }, {
            let (fingerprint, reload) = (fingerprint.clone(), list.reload());
            move |_: Host| {
                fingerprint.set(None);
                reload.emit(());
            }
        });
    let remove = use_action(|api, id: HostId| async move { services::hosts::remove(&api, id).await }, {
        let reload = list.reload();
        move |()| reload.emit(())
    });
    let on_read = {
        let (url, run) = (url.clone(), read_fingerprint.run());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(url.trim().to_owned());
        })
    };
    let on_register = {
        let (url, name, secret, project, fingerprint, run) =
            (url.clone(), name.clone(), secret.clone(), project.clone(), fingerprint.clone(), register.run());
        Callback::from(move |_| {
            let secret = secret.trim().to_owned();
            let is_token = mosaic_looks_like_token(&secret);
            run.emit(CreateHost {
                name: name.trim().to_owned(),
                url: Some(url.trim().to_owned()),
                fingerprint: (*fingerprint).clone(),
                trust_token: is_token.then(|| secret.clone()),
                trust_password: (!secret.is_empty() && !is_token).then_some(secret),
                socket_path: None,
                project: project_of(&project),
            })
        })
    };
    html! {
        <>
            <h1>{ "Hosts" }</h1>
            <input id="host-search" class="search" type="search" placeholder="Search by name" value={(*search).clone()}
                oninput={let s = search.clone(); Callback::from(move |e| s.set(input_value(&e)))} />
            <ErrorBanner error={list.error()} on_dismiss={list.dismiss()} />
            <ErrorBanner error={remove.error()} on_dismiss={remove.dismiss()} />
            <div class="table-wrap"><table class="hosts">
                <thead><tr><th>{ "Name" }</th><th>{ "Address" }</th><th>{ "Project" }</th><th>{ "Status" }</th><th>{ "LXD" }</th><th>{ "Cluster members" }</th>if admin { <th></th> }</tr></thead>
                <tbody>
                    { for paged.items().into_iter().flatten().map(|h| {
                        let id = h.id;
                        html! { <tr data-host={h.name.clone()}>
                            <td>{ &h.name }</td>
                            <td><code>{ h.url.clone().or(h.socket_path.clone()).unwrap_or_default() }</code></td>
                            <td class="project">{ &h.project }</td>
                            <td class={if h.status.online { "good" } else { "bad" }}>{ if h.status.online { "online".to_owned() } else { format!("offline: {}", h.status.error.clone().unwrap_or_default()) } }</td>
                            <td>{ h.status.lxd_version.clone().unwrap_or_else(|| "—".into()) }</td>
                            <td class="members">
                                if h.members.is_empty() { { "—" } }
                                <ul class="plain">{ for h.members.iter().map(member) }</ul>
                            </td>
                            if admin {
                                <td><button class="link danger remove" disabled={remove.pending()} onclick={remove.run().reform(move |_| id)}>{ "Remove" }</button></td>
                            }
                        </tr> }
                    }) }
                </tbody>
            </table></div>
            <More id="more-hosts" shown={paged.has_more()} on_more={paged.more()} />
            if paged.items().is_some_and(<[Host]>::is_empty) {
                <p class="empty">{ if search.trim().is_empty() { "No hosts yet." } else { "No hosts match." } }</p>
            }
            if admin {
                <h2>{ "Add a host" }</h2>
                <form onsubmit={on_read} class="add-host">
                    <label>{ "HTTPS address" }<input id="host-url" placeholder="https://10.0.0.5:8443" value={(*url).clone()}
                        oninput={let (u, f) = (url.clone(), fingerprint.clone()); Callback::from(move |e| { u.set(input_value(&e)); f.set(None); })} /></label>
                    <button type="submit" id="read-fingerprint" disabled={read_fingerprint.pending()}>{ "Read its certificate" }</button>
                </form>
                <ErrorBanner error={read_fingerprint.error()} on_dismiss={read_fingerprint.dismiss()} />
                if let Some(f) = &*fingerprint {
                    <div class="confirm-host">
                        <p>{ "The server presents the certificate with SHA-256 fingerprint:" }</p>
                        <p><code id="host-fingerprint">{ f }</code></p>
                        <p class="muted">{ "Check it on the host (lxc info | grep fingerprint) before you go on." }</p>
                        <label>{ "Name in Mosaic" }<input id="host-name" value={(*name).clone()} oninput={let n = name.clone(); Callback::from(move |e| n.set(input_value(&e)))} /></label>
                        <label>{ "LXD project (blank: default)" }<input id="host-project" placeholder="default" value={(*project).clone()} oninput={let p = project.clone(); Callback::from(move |e| p.set(input_value(&e)))} /></label>
                        <label>{ "Trust token or trust password" }<input id="host-secret" type="password" value={(*secret).clone()} oninput={let s = secret.clone(); Callback::from(move |e| s.set(input_value(&e)))} /></label>
                        <button id="register-host" disabled={register.pending()} onclick={on_register}>{ "Confirm and add" }</button>
                        <ErrorBanner error={register.error()} on_dismiss={register.dismiss()} />
                    </div>
                }
            } else {
                <p class="muted" id="hosts-admins-only">{ "Only admins add or remove hosts." }</p>
            }
        </>
    }
}

/// The project a registration names: blank leaves it to the server (`default`).
fn project_of(typed: &str) -> Option<String> {
    let p = typed.trim();
    (!p.is_empty()).then(|| p.to_owned())
}

/// A member status's word, for its label and CSS class.
fn member_status(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Online => "online",
        MemberStatus::Offline => "offline",
        MemberStatus::Evacuated => "evacuated",
        MemberStatus::Unknown => "unknown",
    }
}

/// One cluster member: name, status (LXD's message on hover and when it is not online), address.
fn member(m: &ClusterMember) -> Html {
    let status = member_status(m.status);
    let good = m.status == MemberStatus::Online;
    html! {
        <li data-member={m.name.clone()} title={m.message.clone()}>
            <strong>{ &m.name }</strong>
            <span class={classes!("badge", "member-status", if good { "good" } else { "bad" })}>{ status }</span>
            <div class="detail"><code>{ &m.url }</code>
                if !good && !m.message.is_empty() { { format!(" · {}", m.message) } }
            </div>
        </li>
    }
}

/// Trust tokens are long base64 JSON; passwords are short. The server treats both alike on LXD 5.0,
/// but says which it was given in its audit log.
fn mosaic_looks_like_token(secret: &str) -> bool {
    let s = secret.trim();
    s.len() > 100 && s.starts_with("ey")
}

#[cfg(test)]
mod tests {
    use super::{mosaic_looks_like_token, project_of};

    #[test]
    fn a_blank_project_is_left_to_the_server() {
        assert_eq!(project_of("  "), None);
        assert_eq!(project_of(" team-a "), Some("team-a".into()));
    }

    #[test]
    fn tokens_and_passwords_are_told_apart() {
        assert!(!mosaic_looks_like_token("mosaic-test-trust"));
        assert!(mosaic_looks_like_token(&format!("eyJjbGllbnRfbmFtZSI6{}", "A".repeat(120))));
    }
}
