//! A dialog over the page.

use yew::prelude::*;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Its title.
    pub title: AttrValue,
    /// Closes it.
    pub on_close: Callback<()>,
    /// Its content.
    pub children: Html,
}

/// The dialog.
#[function_component(Modal)]
pub fn modal(props: &Props) -> Html {
    let close = props.on_close.reform(|_| ());
    html! {
        <div class="backdrop">
            <div class="modal" role="dialog" aria-label={props.title.clone()}>
                <div class="modal-head">
                    <h2>{ &props.title }</h2>
                    <button class="link" onclick={close}>{ "✕" }</button>
                </div>
                { props.children.clone() }
            </div>
        </div>
    }
}
