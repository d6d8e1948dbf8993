//! An API error, in words, until dismissed.

use yew::prelude::*;

use crate::services::ApiError;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The error to show, if any.
    pub error: Option<ApiError>,
    /// Dismisses it.
    pub on_dismiss: Callback<()>,
}

/// The banner.
#[function_component(ErrorBanner)]
pub fn error_banner(props: &Props) -> Html {
    let Some(error) = &props.error else { return html! {} };
    let dismiss = props.on_dismiss.reform(|_| ());
    html! {
        <div class="banner error" role="alert">
            <span>{ &error.message }</span>
            if !error.code.is_empty() { <code>{ &error.code }</code> }
            <button class="link" onclick={dismiss}>{ "Dismiss" }</button>
        </div>
    }
}
