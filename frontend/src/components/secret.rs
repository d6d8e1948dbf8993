//! A new token's secret, shown the one time the server sends it.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// What the secret is for ("Token ci-deploy", "First token of ops").
    pub title: AttrValue,
    /// The secret.
    pub secret: AttrValue,
    /// The user has copied it: the panel goes, and the secret with it.
    pub on_done: Callback<()>,
}

/// The panel: the secret in a read-only field that selects itself when clicked, so it copies in
/// one keystroke, and the warning that it cannot be shown again (the server keeps only a hash).
#[function_component(SecretOnce)]
pub fn secret_once(props: &Props) -> Html {
    let select = Callback::from(|e: FocusEvent| e.target_unchecked_into::<HtmlInputElement>().select());
    let select_on_click =
        Callback::from(|e: MouseEvent| e.target_unchecked_into::<HtmlInputElement>().select());
    html! {
        <section class="secret-once" id="secret-once" role="status">
            <h3>{ &props.title }</h3>
            <p><strong>{ "Copy the secret now:" }</strong>{ " Mosaic keeps only a hash of it and cannot show it again." }</p>
            <input id="new-secret" readonly=true value={props.secret.clone()} onfocus={select} onclick={select_on_click} />
            <p class="muted">{ "Click it to select it, then press Ctrl+C (⌘C on a Mac). Sign in with it, or send it as " }
                <code>{ "Authorization: Bearer <secret>" }</code>{ "." }</p>
            <div class="actions"><button id="secret-done" onclick={props.on_done.reform(|_| ())}>{ "I have copied it" }</button></div>
        </section>
    }
}
