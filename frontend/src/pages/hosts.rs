//! Hosts: add one (URL → fingerprint → confirm → trust token or password), status, remove.

use mosaic_types::hosts::{CreateHost, Host};
use yew::prelude::*;

use super::input_value;
use crate::components::ErrorBanner;
use crate::services::{self, ApiError};
use crate::session::use_token;

/// The hosts screen.
#[function_component(Hosts)]
pub fn hosts() -> Html {
    let token = use_token();
    let list = use_state(|| None::<Vec<Host>>);
    let error = use_state(|| None::<ApiError>);
    let url = use_state(String::new);
    let name = use_state(String::new);
    let secret = use_state(String::new);
    let fingerprint = use_state(|| None::<String>);

    let reload = {
        let (list, error, token) = (list.clone(), error.clone(), token.clone());
        Callback::from(move |_: ()| {
            let (list, error, token) = (list.clone(), error.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::hosts::list(&token).await {
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
    let read_fingerprint = {
        let (url, fingerprint, error, token) =
            (url.clone(), fingerprint.clone(), error.clone(), token.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (url, fingerprint, error, token) =
                (url.clone(), fingerprint.clone(), error.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::hosts::fingerprint(&token, url.trim()).await {
                    Ok(f) => fingerprint.set(Some(f.fingerprint)),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let register = {
        let (url, name, secret, fingerprint, error, token, reload) = (
            url.clone(),
            name.clone(),
            secret.clone(),
            fingerprint.clone(),
            error.clone(),
            token.clone(),
            reload.clone(),
        );
        Callback::from(move |_| {
            let body = CreateHost {
                name: name.trim().to_owned(),
                url: Some(url.trim().to_owned()),
                fingerprint: (*fingerprint).clone(),
                trust_token: mosaic_looks_like_token(&secret).then(|| secret.trim().to_owned()),
                trust_password: (!secret.trim().is_empty() && !mosaic_looks_like_token(&secret))
                    .then(|| secret.trim().to_owned()),
                socket_path: None,
            };
            let (error, token, reload, fingerprint) =
                (error.clone(), token.clone(), reload.clone(), fingerprint.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match services::hosts::create(&token, &body).await {
                    Ok(_) => {
                        fingerprint.set(None);
                        reload.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <>
            <h1>{ "Hosts" }</h1>
            <ErrorBanner error={(*error).clone()} on_dismiss={let e = error.clone(); Callback::from(move |_| e.set(None))} />
            <div class="table-wrap"><table class="hosts">
                <thead><tr><th>{ "Name" }</th><th>{ "Address" }</th><th>{ "Status" }</th><th>{ "LXD" }</th><th></th></tr></thead>
                <tbody>
                    { for list.iter().flatten().map(|h| {
                        let (id, token, error, reload) = (h.id, token.clone(), error.clone(), reload.clone());
                        let remove = Callback::from(move |_| {
                            let (token, error, reload) = (token.clone(), error.clone(), reload.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                match services::hosts::remove(&token, id).await { Ok(()) => reload.emit(()), Err(e) => error.set(Some(e)) }
                            });
                        });
                        html! { <tr data-host={h.name.clone()}>
                            <td>{ &h.name }</td>
                            <td><code>{ h.url.clone().or(h.socket_path.clone()).unwrap_or_default() }</code></td>
                            <td class={if h.status.online { "good" } else { "bad" }}>{ if h.status.online { "online".to_owned() } else { format!("offline: {}", h.status.error.clone().unwrap_or_default()) } }</td>
                            <td>{ h.status.lxd_version.clone().unwrap_or_else(|| "—".into()) }</td>
                            <td><button class="link danger" onclick={remove}>{ "Remove" }</button></td>
                        </tr> }
                    }) }
                </tbody>
            </table></div>
            if list.as_ref().is_some_and(|l| l.is_empty()) { <p class="empty">{ "No hosts yet — add one." }</p> }
            <h2>{ "Add a host" }</h2>
            <form onsubmit={read_fingerprint} class="add-host">
                <label>{ "HTTPS address" }<input id="host-url" placeholder="https://10.0.0.5:8443" value={(*url).clone()}
                    oninput={let (u, f) = (url.clone(), fingerprint.clone()); Callback::from(move |e| { u.set(input_value(&e)); f.set(None); })} /></label>
                <button type="submit" id="read-fingerprint">{ "Read its certificate" }</button>
            </form>
            if let Some(f) = &*fingerprint {
                <div class="confirm-host">
                    <p>{ "The server presents the certificate with SHA-256 fingerprint:" }</p>
                    <p><code id="host-fingerprint">{ f }</code></p>
                    <p class="muted">{ "Check it on the host (lxc info | grep fingerprint) before you go on." }</p>
                    <label>{ "Name in Mosaic" }<input id="host-name" value={(*name).clone()} oninput={let n = name.clone(); Callback::from(move |e| n.set(input_value(&e)))} /></label>
                    <label>{ "Trust token or trust password" }<input id="host-secret" type="password" value={(*secret).clone()} oninput={let s = secret.clone(); Callback::from(move |e| s.set(input_value(&e)))} /></label>
                    <button id="register-host" onclick={register}>{ "Confirm and add" }</button>
                </div>
            }
        </>
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
    use super::mosaic_looks_like_token;

    #[test]
    fn tokens_and_passwords_are_told_apart() {
        assert!(!mosaic_looks_like_token("mosaic-test-trust"));
        assert!(mosaic_looks_like_token(&format!("eyJjbGllbnRfbmFtZSI6{}", "A".repeat(120))));
    }
}
