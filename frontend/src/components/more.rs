//! The "More" button under a list read a page at a time.

use yew::prelude::*;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Whether the server has more than is shown (no button otherwise).
    pub shown: bool,
    /// Shows one more page.
    pub on_more: Callback<()>,
    /// The button's id, for tests.
    #[prop_or_default]
    pub id: Option<AttrValue>,
}

/// "More", when there is more.
#[function_component(More)]
pub fn more(props: &Props) -> Html {
    if !props.shown {
        return html! {};
    }
    let on_more = props.on_more.clone();
    html! {
        <div class="more"><button class="secondary" id={props.id.clone()} onclick={Callback::from(move |_| on_more.emit(()))}>{ "More" }</button></div>
    }
}
