//! The YAML editor: the cloud-config's text with line numbers, and the line a validation error
//! names marked and quoted.

use yew::prelude::*;

use crate::pages::textarea_value;
use crate::services::ApiError;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The text.
    pub value: AttrValue,
    /// The last save's error: when it names a line, that line is marked.
    pub error: Option<ApiError>,
    /// The text as typed.
    pub on_input: Callback<String>,
    /// Shown, not edited (the token may not change cloud-configs).
    #[prop_or_default]
    pub readonly: bool,
}

/// The editor.
#[function_component(YamlEditor)]
pub fn yaml_editor(props: &Props) -> Html {
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
            <textarea id="cc-user-data" spellcheck="false" readonly={props.readonly} rows={(lines + 1).max(8).to_string()} value={props.value.clone()}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_of_a_yaml_error_is_found() {
        assert_eq!(line_of("user_data line 4, column 1: did not find expected ','"), Some(4));
        assert_eq!(line_of("user_data line 1: must be exactly `#cloud-config`"), Some(1));
        assert_eq!(line_of("config key \"raw.lxc\" is not allowed"), None);
    }
}
