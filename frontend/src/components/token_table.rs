//! A list of API tokens with their limits: yours on the tokens page, a user's on the users page.

use std::collections::HashMap;
use std::rc::Rc;

use mosaic_types::users::ApiToken;
use mosaic_types::{DeploymentId, TokenId};
use yew::prelude::*;

use crate::format;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The tokens.
    pub tokens: Rc<Vec<ApiToken>>,
    /// Deployment names by ID (empty while they load).
    pub names: Rc<HashMap<DeploymentId, String>>,
    /// The token this session signed in with (marked, and its revoke button says it signs out).
    pub current: Option<TokenId>,
    /// Revokes one; `None`: no revoke buttons.
    pub on_revoke: Option<Callback<TokenId>>,
    /// A revoke is under way.
    pub busy: bool,
}

/// The table; each row is `tr[data-token=<name>]`.
#[function_component(TokenTable)]
pub fn token_table(props: &Props) -> Html {
    if props.tokens.is_empty() {
        return html! { <p class="empty">{ "No live tokens." }</p> };
    }
    html! {
        <div class="table-wrap"><table class="tokens">
            <thead><tr><th>{ "Name" }</th><th>{ "Role" }</th><th>{ "Deployments" }</th><th>{ "Expires" }</th>
                <th>{ "Last used" }</th><th>{ "Created" }</th>if props.on_revoke.is_some() { <th></th> }</tr></thead>
            <tbody>
                { for props.tokens.iter().map(|t| {
                    let this_one = props.current == Some(t.id);
                    let id = t.id;
                    html! { <tr data-token={t.name.clone()}>
                        <td>{ &t.name } if this_one { <span class="badge">{ "this session" }</span> }</td>
                        <td class="role">{ t.role.map_or_else(|| "as its user".to_owned(), |r| format!("{r} at most")) }</td>
                        <td class="deployments">{ deployment_names(t.deployments.as_deref(), &props.names) }</td>
                        <td class="expires">{ t.expires_at.map_or_else(|| "never".to_owned(), |e| format::time(Some(e))) }</td>
                        <td>{ t.last_used_at.map_or_else(|| "never".to_owned(), |e| format::time(Some(e))) }</td>
                        <td>{ format::time(Some(t.created_at)) }</td>
                        if let Some(revoke) = &props.on_revoke {
                            <td><button class="link danger revoke" disabled={props.busy} onclick={revoke.reform(move |_| id)}>
                                { if this_one { "Revoke (signs you out)" } else { "Revoke" } }</button></td>
                        }
                    </tr> }
                }) }
            </tbody>
        </table></div>
    }
}

/// A token's deployments by name, sorted (`all` when it is not limited); one that no longer
/// exists (or is not yet known) by the start of its ID.
fn deployment_names(ids: Option<&[DeploymentId]>, names: &HashMap<DeploymentId, String>) -> String {
    let Some(ids) = ids else { return "all".into() };
    let mut shown: Vec<String> = ids
        .iter()
        .map(|id| match names.get(id) {
            Some(name) => name.clone(),
            None => format!("{}…", &id.to_string()[..8]),
        })
        .collect();
    shown.sort();
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_are_shown_by_name() {
        let a: DeploymentId = "0b6f8c1e-0000-4000-8000-000000000001".parse().unwrap();
        let gone: DeploymentId = "7a1d2c3b-0000-4000-8000-000000000002".parse().unwrap();
        let names = HashMap::from([(a, "My_Site".to_owned())]);
        assert_eq!(deployment_names(None, &names), "all");
        assert_eq!(deployment_names(Some(&[gone, a]), &names), "7a1d2c3b…, My_Site");
    }
}
