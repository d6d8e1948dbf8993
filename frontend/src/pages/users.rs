//! Users (admins): who may do what, a new user with its first token (the secret shown once),
//! changing a role, disabling and enabling, and anyone's tokens to revoke.

use std::rc::Rc;

use mosaic_types::UserId;
use mosaic_types::users::{CreateUser, CreatedUser, Role, UpdateUser, User};
use yew::prelude::*;

use super::tokens::names;
use super::{input_value, select_value};
use crate::access::{Can, use_access};
use crate::components::{ErrorBanner, More, SecretOnce, TokenTable};
use crate::format;
use crate::hooks::{use_action, use_load, use_paged};
use crate::services;
use crate::session::{SessionAction, use_session};

/// The users screen: for admins only (the server refuses the rest anyway).
#[function_component(Users)]
pub fn users() -> Html {
    if use_access().can(Can::SeeUsers) {
        html! { <UserAdmin /> }
    } else {
        html! {
            <>
                <h1>{ "Users" }</h1>
                <p class="empty" id="users-admins-only">{ "Only admins see and manage users." }</p>
            </>
        }
    }
}

/// The list, the new-user form, and the tokens of the user picked.
#[function_component(UserAdmin)]
fn user_admin() -> Html {
    let session = use_session();
    let my_id = session.me.as_ref().map(|m| m.user.id);
    let manage = use_access().can(Can::ManageUsers);
    let paged = use_paged((), |api, (), pages| async move { services::users::list(&api, pages).await });
    let list = &paged.load;
    let deployments = use_load((), |api, ()| async move { services::deployments::all(&api).await });
    // Whose tokens are shown.
    let picked = use_state(|| None::<UserId>);
    let tokens = use_load(*picked, |api, picked| async move {
        match picked {
            Some(id) => services::users::tokens(&api, id).await.map(|t| Some((id, Rc::new(t)))),
            None => Ok(None),
        }
    });
    let name = use_state(String::new);
    let role = use_state(|| Role::Viewer);
    let created = use_state(|| None::<CreatedUser>);
    let create =
        use_action(|api, body: CreateUser| async move { services::users::create(&api, &body).await }, {
            let (created, name, reload) = (created.clone(), name.clone(), list.reload());
            move |c: CreatedUser| {
                created.set(Some(c));
                name.set(String::new());
                reload.emit(());
            }
        });
    // Counts changes asked for: the role selects are made afresh from the server's answer after
    // each, so a refused change (the last admin) does not leave the select showing it.
    let changes = use_state(|| 0_u32);
    let update = use_action(
        |api, (id, body): (UserId, UpdateUser)| async move { services::users::update(&api, id, &body).await },
        {
            let (reload, dispatch) = (list.reload(), session.dispatch.clone());
            move |user: User| {
                reload.emit(());
                // Your own role changed: what the app offers you changes with it.
                if my_id == Some(user.id) {
                    dispatch.emit(SessionAction::Reidentify);
                }
            }
        },
    );
    let change = {
        let (changes, run) = (changes.clone(), update.run());
        Callback::from(move |request: (UserId, UpdateUser)| {
            changes.set(changes.wrapping_add(1));
            run.emit(request);
        })
    };
    let revoke = use_action(|api, id| async move { services::tokens::revoke(&api, id).await }, {
        let reload = tokens.reload();
        move |()| reload.emit(())
    });
    let submit = {
        let (name, role, run) = (name.clone(), role.clone(), create.run());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(CreateUser { name: name.trim().to_owned(), role: *role });
        })
    };
    let users = paged.items().unwrap_or_default();
    let picked_user = picked.and_then(|id| users.iter().find(|u| u.id == id));
    let busy = update.pending();
    html! {
        <>
            <h1>{ "Users" }</h1>
            <ErrorBanner error={list.error()} on_dismiss={list.dismiss()} />
            <ErrorBanner error={update.error()} on_dismiss={update.dismiss()} />
            if let Some(c) = &*created {
                <SecretOnce title={format!("First token of {}", c.user.name)} secret={c.token.secret.clone()}
                    on_done={let created = created.clone(); Callback::from(move |()| created.set(None))} />
            }
            <div class="table-wrap"><table class="users">
                <thead><tr><th>{ "Name" }</th><th>{ "Role" }</th><th>{ "State" }</th><th>{ "Created" }</th><th></th></tr></thead>
                <tbody>
                    { for users.iter().map(|u| {
                        let id = u.id;
                        let disabled = u.disabled_at.is_some();
                        let set_role = change.reform(move |e: Event| {
                            let role = select_value(&e).parse::<Role>().ok();
                            (id, UpdateUser { role, disabled: None })
                        });
                        let toggle = change.reform(move |_: MouseEvent| (id, UpdateUser { role: None, disabled: Some(!disabled) }));
                        let show = { let picked = picked.clone(); Callback::from(move |_: MouseEvent| picked.set(Some(id))) };
                        html! { <tr data-user={u.name.clone()} class={classes!(disabled.then_some("disabled"))}>
                            <td>{ &u.name } if my_id == Some(id) { <span class="badge">{ "you" }</span> }</td>
                            <td>
                                <select class="role" key={format!("{id}-{}", *changes)} disabled={!manage || busy} onchange={set_role}>
                                    { for Role::ALL.iter().map(|r| html! { <option value={r.as_str()} selected={*r == u.role}>{ r.as_str() }</option> }) }
                                </select>
                            </td>
                            <td class={classes!("state", if disabled { "bad" } else { "good" })}>
                                { u.disabled_at.map_or_else(|| "enabled".to_owned(), |t| format!("disabled since {}", format::time(Some(t)))) }</td>
                            <td>{ format::time(Some(u.created_at)) }</td>
                            <td class="row-actions">
                                if manage {
                                    <button class={classes!("link", "toggle", (!disabled).then_some("danger"))} disabled={busy} onclick={toggle}>
                                        { if disabled { "Enable" } else { "Disable" } }</button>
                                }
                                <button class="link show-tokens" onclick={show}>{ "Tokens" }</button>
                            </td>
                        </tr> }
                    }) }
                </tbody>
            </table></div>
            <More id="more-users" shown={paged.has_more()} on_more={paged.more()} />
            if let Some(u) = picked_user {
                <section class="user-tokens" id="user-tokens" data-user={u.name.clone()}>
                    <div class="page-head">
                        <h2>{ format!("Tokens of {}", u.name) }</h2>
                        <button class="link" onclick={let p = picked.clone(); Callback::from(move |_| p.set(None))}>{ "Close" }</button>
                    </div>
                    <ErrorBanner error={tokens.error()} on_dismiss={tokens.dismiss()} />
                    <ErrorBanner error={revoke.error()} on_dismiss={revoke.dismiss()} />
                    // The list read for an earlier pick is not shown as this user's.
                    if let Some((_, list)) = tokens.data().and_then(Option::as_ref).filter(|(whose, _)| *whose == u.id) {
                        <TokenTable tokens={list.clone()} names={names(deployments.data())}
                            current={session.me.as_ref().map(|m| m.token.id)} on_revoke={revoke.run()} busy={revoke.pending()} />
                    } else if tokens.error().is_none() {
                        <p class="muted">{ "Loading…" }</p>
                    }
                </section>
            }
            if manage {
                <h2>{ "New user" }</h2>
                <form class="new-user" onsubmit={submit}>
                    <div class="row">
                        <label>{ "Name" }<input id="user-name" required=true placeholder="alice" value={(*name).clone()}
                            oninput={let n = name.clone(); Callback::from(move |e| n.set(input_value(&e)))} /></label>
                        <label>{ "Role" }
                            <select id="user-role" onchange={let r = role.clone(); Callback::from(move |e: Event| if let Ok(v) = select_value(&e).parse() { r.set(v) })}>
                                { for Role::ALL.iter().map(|r| html! { <option value={r.as_str()} selected={*r == *role}>{ r.as_str() }</option> }) }
                            </select>
                        </label>
                    </div>
                    <p class="muted">{ "Viewers read; operators also change cloud-configs and deployments; admins also manage hosts and users. The new user gets a first token, shown once." }</p>
                    <ErrorBanner error={create.error()} on_dismiss={create.dismiss()} />
                    <div class="actions"><button type="submit" id="create-user" disabled={create.pending()}>{ "Create user" }</button></div>
                </form>
            } else {
                <p class="muted">{ "This token is limited to some deployments: it can revoke tokens here, not change users." }</p>
            }
        </>
    }
}
