//! Your API tokens: what each may do and when it was last used, a new one limited by role,
//! deployments and expiry (its secret shown once), and revoking one.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use chrono::{DateTime, Local, NaiveDate, TimeDelta, TimeZone, Utc};
use mosaic_types::DeploymentId;
use mosaic_types::deployments::Deployment;
use mosaic_types::users::{CreateToken, CreatedToken, Me, Role};
use yew::prelude::*;

use super::{checked, input_value, select_value};
use crate::access::{Can, use_access};
use crate::components::{ErrorBanner, More, SecretOnce, TokenTable};
use crate::hooks::{use_action, use_load, use_paged};
use crate::services::{self, ApiError};
use crate::session::use_session;

/// The expiry choices: the select's value and its label. A number is days from now.
const EXPIRIES: &[(&str, &str)] = &[
    ("never", "never"),
    ("1", "in 1 day"),
    ("7", "in 7 days"),
    ("30", "in 30 days"),
    ("90", "in 90 days"),
    ("date", "at the end of a date…"),
];

/// The new-token form, as typed.
#[derive(Clone, PartialEq, Default)]
struct Form {
    name: String,
    /// A role's name, or empty for "as its user".
    role: String,
    /// The ticked deployments (none: all).
    deployments: BTreeSet<DeploymentId>,
    /// One of [`EXPIRIES`]' values.
    expiry: String,
    /// `YYYY-MM-DD`, when `expiry` is `date`.
    date: String,
}

impl Form {
    /// An empty form whose role is the first one offered.
    fn new(offer: &RoleChoices) -> Self {
        let role = if offer.as_user {
            String::new()
        } else {
            offer.roles.last().map(|r| r.as_str().to_owned()).unwrap_or_default()
        };
        Form { role, expiry: "never".into(), ..Form::default() }
    }

    /// The request, or what is wrong with the form (`tz`: the user's, for a date).
    fn request(&self, now: DateTime<Utc>, tz: &impl TimeZone) -> Result<CreateToken, ApiError> {
        let role = match self.role.as_str() {
            "" => None,
            r => Some(r.parse::<Role>().map_err(|e| ApiError::validation(format!("role: {e}")))?),
        };
        Ok(CreateToken {
            name: self.name.trim().to_owned(),
            role,
            deployments: (!self.deployments.is_empty()).then(|| self.deployments.iter().copied().collect()),
            expires_at: expiry(&self.expiry, &self.date, now, tz)?,
        })
    }
}

/// When a token chosen to expire `choice` (`date`: at the end of `date` in `tz`) stops working.
fn expiry(
    choice: &str,
    date: &str,
    now: DateTime<Utc>,
    tz: &impl TimeZone,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match choice {
        "" | "never" => Ok(None),
        "date" => {
            let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::validation("expiry: pick the last day the token works"))?;
            let end = day
                .succ_opt()
                .and_then(|next| next.and_hms_opt(0, 0, 0))
                .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
                .ok_or_else(|| ApiError::validation(format!("expiry: {day} has no end here")))?
                .with_timezone(&Utc);
            if end <= now {
                return Err(ApiError::validation("expiry: that day is over; pick today or later"));
            }
            Ok(Some(end))
        }
        days => {
            let days: i64 = days.parse().map_err(|_| ApiError::validation(format!("expiry: {days:?}")))?;
            Ok(Some(now + TimeDelta::days(days)))
        }
    }
}

/// The roles a new token may be limited to.
#[derive(Clone, PartialEq, Debug)]
struct RoleChoices {
    /// "As its user" is offered: a token with no role limit does what its user may, which is
    /// no more than this token only when this token has its user's full role.
    as_user: bool,
    /// Roles up to this token's, lowest first.
    roles: Vec<Role>,
}

impl RoleChoices {
    fn of(me: &Me) -> Self {
        RoleChoices {
            as_user: me.role >= me.user.role,
            roles: Role::ALL.iter().copied().filter(|r| *r <= me.role).collect(),
        }
    }
}

/// Deployment names by ID.
pub(crate) fn names(list: Option<&Vec<Deployment>>) -> Rc<HashMap<DeploymentId, String>> {
    Rc::new(list.into_iter().flatten().map(|d| (d.id, d.name.clone())).collect())
}

/// The tokens screen.
#[function_component(Tokens)]
pub fn tokens() -> Html {
    let me = use_session().me;
    let access = use_access();
    let offer = me
        .as_deref()
        .map(RoleChoices::of)
        .unwrap_or(RoleChoices { as_user: false, roles: vec![Role::Viewer] });
    let paged = use_paged((), |api, (), pages| async move { services::tokens::list(&api, pages).await });
    let list = &paged.load;
    let deployments = use_load((), |api, ()| async move { services::deployments::all(&api).await });
    let form = use_state({
        let offer = offer.clone();
        move || Form::new(&offer)
    });
    let created = use_state(|| None::<CreatedToken>);
    let create = use_action(
        |api, form: Form| async move {
            let body = form.request(Utc::now(), &Local)?;
            services::tokens::create(&api, &body).await
        },
        {
            let (created, form, reload, offer) =
                (created.clone(), form.clone(), list.reload(), offer.clone());
            move |c: CreatedToken| {
                created.set(Some(c));
                form.set(Form::new(&offer));
                reload.emit(());
            }
        },
    );
    let revoke = use_action(|api, id| async move { services::tokens::revoke(&api, id).await }, {
        let reload = list.reload();
        move |()| reload.emit(())
    });
    let submit = {
        let (form, run) = (form.clone(), create.run());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit((*form).clone());
        })
    };
    // Each field writes its own part of the form.
    let edit = |set: fn(&mut Form, String)| {
        let form = form.clone();
        Callback::from(move |value: String| {
            let mut f = (*form).clone();
            set(&mut f, value);
            form.set(f);
        })
    };
    let names = names(deployments.data());
    let f = &*form;
    let today = Local::now().date_naive().format("%Y-%m-%d").to_string();
    html! {
        <>
            <h1>{ "Tokens" }</h1>
            <p class="muted">{ "Your API tokens: each signs in as you, doing at most what it is limited to. Scripts use them as " }
                <code>{ "Authorization: Bearer <secret>" }</code>{ "." }</p>
            <ErrorBanner error={list.error()} on_dismiss={list.dismiss()} />
            <ErrorBanner error={revoke.error()} on_dismiss={revoke.dismiss()} />
            if let Some(c) = &*created {
                <SecretOnce title={format!("Token “{}”", c.token.name)} secret={c.secret.clone()}
                    on_done={let created = created.clone(); Callback::from(move |()| created.set(None))} />
            }
            if let Some(tokens) = paged.items() {
                <TokenTable tokens={Rc::new(tokens.to_vec())} names={names.clone()} current={me.as_ref().map(|m| m.token.id)}
                    on_revoke={revoke.run()} busy={revoke.pending()} />
                <More id="more-tokens" shown={paged.has_more()} on_more={paged.more()} />
            } else if list.error().is_none() {
                <p class="muted">{ "Loading…" }</p>
            }
            <h2>{ "New token" }</h2>
            if !access.can(Can::CreateTokens) {
                <p class="muted" id="no-new-tokens">{ "This token is limited to some deployments, so it cannot make tokens." }</p>
            } else {
                <form class="new-token" onsubmit={submit}>
                    <div class="row">
                        <label>{ "Name" }<input id="token-name" required=true placeholder="ci-deploy" value={f.name.clone()}
                            oninput={edit(|f, v| f.name = v).reform(|e: InputEvent| input_value(&e))} /></label>
                        <label>{ "Role" }
                            <select id="token-role" onchange={edit(|f, v| f.role = v).reform(|e: Event| select_value(&e))}>
                                if offer.as_user {
                                    <option value="" selected={f.role.is_empty()}>
                                        { format!("as your user (now {})", me.as_ref().map_or("?", |m| m.user.role.as_str())) }</option>
                                }
                                { for offer.roles.iter().rev().map(|r| html! {
                                    <option value={r.as_str()} selected={f.role == r.as_str()}>{ format!("{r} at most") }</option>
                                }) }
                            </select>
                        </label>
                        <label>{ "Expires" }
                            <select id="token-expiry" onchange={edit(|f, v| f.expiry = v).reform(|e: Event| select_value(&e))}>
                                { for EXPIRIES.iter().map(|(value, label)| html! {
                                    <option value={*value} selected={f.expiry == *value}>{ *label }</option>
                                }) }
                            </select>
                            if f.expiry == "date" {
                                <input id="token-expiry-date" type="date" min={today} value={f.date.clone()}
                                    oninput={edit(|f, v| f.date = v).reform(|e: InputEvent| input_value(&e))} />
                            }
                        </label>
                    </div>
                    if let Some(own) = me.as_ref().and_then(|m| m.token.expires_at) {
                        <p class="muted">{ format!("The token you signed in with expires {}; a new one stops working then at the latest.", crate::format::time(Some(own))) }</p>
                    }
                    <label>{ "Deployments (none ticked: all of them)" }</label>
                    <ul class="picker">
                        if deployments.data().is_none() { <li class="muted">{ "Loading…" }</li> }
                        else if deployments.data().is_some_and(|d| d.is_empty()) { <li class="muted">{ "No deployments yet." }</li> }
                        { for deployments.data().into_iter().flatten().map(|d| {
                            let id = d.id;
                            let toggle = {
                                let form = form.clone();
                                Callback::from(move |e: Event| {
                                    let mut now = (*form).clone();
                                    if checked(&e) { now.deployments.insert(id); } else { now.deployments.remove(&id); }
                                    form.set(now);
                                })
                            };
                            html! { <li><label><input type="checkbox" data-deployment={d.name.clone()}
                                checked={f.deployments.contains(&id)} onchange={toggle} />{ &d.name }</label></li> }
                        }) }
                    </ul>
                    <ErrorBanner error={deployments.error()} on_dismiss={deployments.dismiss()} />
                    <ErrorBanner error={create.error()} on_dismiss={create.dismiss()} />
                    <div class="actions"><button type="submit" id="create-token" disabled={create.pending()}>{ "Create token" }</button></div>
                </form>
            }
        </>
    }
}

#[cfg(test)]
mod tests {
    use chrono::FixedOffset;
    use mosaic_types::users::{ApiToken, User};

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-05T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_expiry_is_days_from_now_or_the_end_of_a_day_where_the_user_is() {
        let utc = Utc;
        assert_eq!(expiry("never", "", now(), &utc).unwrap(), None);
        assert_eq!(expiry("7", "", now(), &utc).unwrap(), Some("2026-12-12T10:00:00Z".parse().unwrap()));
        // The end of 5 December in Berlin (UTC+1) is 23:00 UTC.
        let berlin = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            expiry("date", "2026-12-05", now(), &berlin).unwrap(),
            Some("2026-12-05T23:00:00Z".parse().unwrap())
        );
        let past = expiry("date", "2026-12-04", now(), &utc).unwrap_err();
        assert!(past.message.starts_with("expiry:"), "{}", past.message);
        assert_eq!(expiry("date", "", now(), &utc).unwrap_err().code, "validation_failed");
    }

    #[test]
    fn the_form_becomes_a_request() {
        let ids: Vec<DeploymentId> =
            ["0b6f8c1e-0000-4000-8000-000000000001", "0b6f8c1e-0000-4000-8000-000000000002"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        let form = Form {
            name: " ci ".into(),
            role: "viewer".into(),
            deployments: ids.iter().copied().collect(),
            expiry: "1".into(),
            date: String::new(),
        };
        let body = form.request(now(), &Utc).unwrap();
        assert_eq!(body.name, "ci");
        assert_eq!(body.role, Some(Role::Viewer));
        assert_eq!(body.deployments, Some(ids));
        assert_eq!(body.expires_at, Some("2026-12-06T10:00:00Z".parse().unwrap()));
        let open = Form { role: String::new(), deployments: BTreeSet::new(), expiry: "never".into(), ..form };
        let body = open.request(now(), &Utc).unwrap();
        assert_eq!((body.role, body.deployments, body.expires_at), (None, None, None));
    }

    fn me(user: Role, token: Option<Role>) -> Me {
        let user = User {
            id: "0b6f8c1e-0000-4000-8000-000000000011".parse().unwrap(),
            name: "ops".into(),
            role: user,
            disabled_at: None,
            created_at: now(),
        };
        let role = token.map_or(user.role, |t| t.min(user.role));
        let token = ApiToken {
            id: "0b6f8c1e-0000-4000-8000-000000000012".parse().unwrap(),
            user_id: user.id,
            user_name: user.name.clone(),
            name: "t".into(),
            role: token,
            deployments: None,
            expires_at: None,
            created_at: now(),
            last_used_at: None,
        };
        Me { user, token, role }
    }

    #[test]
    fn a_new_token_is_offered_no_more_than_this_one_may_do() {
        let full = RoleChoices::of(&me(Role::Operator, None));
        assert_eq!(full, RoleChoices { as_user: true, roles: vec![Role::Viewer, Role::Operator] });
        assert_eq!(Form::new(&full).role, "");
        // A token limited below its user's role must not make one that follows the user's role.
        let limited = RoleChoices::of(&me(Role::Admin, Some(Role::Operator)));
        assert_eq!(limited, RoleChoices { as_user: false, roles: vec![Role::Viewer, Role::Operator] });
        assert_eq!(Form::new(&limited).role, "operator");
        assert_eq!(RoleChoices::of(&me(Role::Viewer, None)).roles, [Role::Viewer]);
    }
}
