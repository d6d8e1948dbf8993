//! The deployment's instances as one table (from `GET /api/v1/instances?deployment_id=…`): where
//! each lives (host and cluster member), what LXD and cloud-init say, and the actions on one
//! instance: start, stop, restart, recreate (asked first), and its cloud-init log.

use mosaic_types::instances::{Instance, InstanceStatus, Lifecycle};
use mosaic_types::{HostId, InstanceId};
use yew::prelude::*;

use super::log::LogViewer;
use crate::components::Modal;
use crate::format;
use crate::services::instances::InstanceAction;

/// A host as the table names it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostName {
    /// Its ID.
    pub id: HostId,
    /// Its name in Mosaic.
    pub name: String,
    /// Whether it answered the last poll.
    pub online: bool,
}

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The instances, by name.
    pub instances: Vec<Instance>,
    /// The hosts they live on.
    pub hosts: Vec<HostName>,
    /// Whether the token may act on this deployment's instances (else: no action buttons).
    pub may_change: bool,
    /// A job of this page is running: actions wait for it (the server runs one job per
    /// deployment at a time).
    pub busy: bool,
    /// Run an action on an instance (the page starts and follows the job).
    pub on_action: Callback<(InstanceId, InstanceAction)>,
}

/// The actions worth offering for an instance in this state: those that can work, and that
/// would change something. An instance on a host that does not answer, or one Mosaic is creating
/// or deleting, offers none; one that failed to be made or went missing can only be recreated.
pub fn offered(lifecycle: Lifecycle, status: InstanceStatus) -> &'static [InstanceAction] {
    use InstanceAction::{Recreate, Restart, Start, Stop};
    match (lifecycle, status) {
        (Lifecycle::Pending | Lifecycle::Deleting, _) | (_, InstanceStatus::Unknown) => &[],
        (Lifecycle::Failed, _) | (_, InstanceStatus::Missing | InstanceStatus::NotCreated) => &[Recreate],
        (Lifecycle::Created, InstanceStatus::Running) => &[Stop, Restart, Recreate],
        (Lifecycle::Created, InstanceStatus::Stopped) => &[Start, Recreate],
        (Lifecycle::Created, InstanceStatus::Other) => &[Start, Stop, Recreate],
    }
}

/// A button's label.
fn label(action: InstanceAction) -> &'static str {
    match action {
        InstanceAction::Start => "Start",
        InstanceAction::Stop => "Stop",
        InstanceAction::Restart => "Restart",
        InstanceAction::Recreate => "Recreate",
    }
}

/// The table.
#[function_component(InstanceTable)]
pub fn instance_table(props: &Props) -> Html {
    // The instance whose recreation waits for a yes, and the one whose log is open.
    let confirm = use_state(|| None::<(InstanceId, String)>);
    let log = use_state(|| None::<(InstanceId, String)>);
    if props.instances.is_empty() {
        return html! { <p class="empty" id="no-instances">{ "No instances yet." }</p> };
    }
    let host = |id: HostId| props.hosts.iter().find(|h| h.id == id);
    let row = |i: &Instance| {
        let status = format!("{:?}", i.status).to_lowercase();
        let readiness = format!("{:?}", i.readiness).to_lowercase();
        let (id, name) = (i.id, i.name.clone());
        let act = |action: InstanceAction| {
            let (confirm, run, name) = (confirm.clone(), props.on_action.clone(), name.clone());
            Callback::from(move |_| match action {
                InstanceAction::Recreate => confirm.set(Some((id, name.clone()))),
                _ => run.emit((id, action)),
            })
        };
        let open_log = {
            let (log, name) = (log.clone(), name.clone());
            Callback::from(move |_| log.set(Some((id, name.clone()))))
        };
        html! {
            <tr data-instance={i.name.clone()} data-instance-id={i.id.to_string()}>
                <td><code>{ &i.name }</code></td>
                <td class="host">{ host(i.host_id).map(|h| h.name.clone()).unwrap_or_else(|| "—".into()) }
                    if host(i.host_id).is_some_and(|h| !h.online) { <span class="badge bad">{ "offline" }</span> }
                </td>
                <td class="location">{ i.location.clone().unwrap_or_else(|| "—".into()) }</td>
                <td class="revision">{ format!("{} r{}", i.cloud_config, i.revision) }</td>
                <td class={classes!("status", status.clone())}>{ &status }</td>
                <td class="memory">{ i.memory_bytes.map(format::bytes).unwrap_or_else(|| "—".into()) }</td>
                <td>{ if i.addresses.is_empty() { "—".to_owned() } else { i.addresses.join(", ") } }</td>
                <td>{ format::time(i.last_started_at) }</td>
                <td class={classes!("readiness", readiness.clone())}>{ &readiness }
                    if let Some(detail) = &i.readiness_detail { <div class="detail">{ detail }</div> }
                    if i.phoned_home_at.is_some() { <div class="detail">{ format!("phoned home {}", format::time(i.phoned_home_at)) }</div> }
                    if let Some(e) = &i.last_error { <div class="detail bad">{ e }</div> }
                </td>
                <td class="row-actions">
                    if props.may_change {
                        { for offered(i.lifecycle, i.status).iter().map(|a| html! {
                            <button class={classes!("link", "instance-action", (*a == InstanceAction::Recreate).then_some("danger"))}
                                data-action={a.as_str()} disabled={props.busy} onclick={act(*a)}>{ label(*a) }</button>
                        }) }
                    }
                    <button class="link show-log" onclick={open_log}>{ "Log" }</button>
                </td>
            </tr>
        }
    };
    html! {
        <>
            <div class="table-wrap"><table class="instances" id="instances">
                <thead><tr>
                    <th>{ "Name" }</th><th>{ "Host" }</th><th>{ "Location" }</th><th>{ "Cloud-config" }</th>
                    <th>{ "Status" }</th><th>{ "Memory" }</th><th>{ "Addresses" }</th><th>{ "Last started" }</th>
                    <th>{ "Readiness" }</th><th></th>
                </tr></thead>
                <tbody>{ for props.instances.iter().map(row) }</tbody>
            </table></div>
            if let Some((id, name)) = (*confirm).clone() {
                <Modal title={format!("Recreate {name}?")} on_close={let c = confirm.clone(); Callback::from(move |_| c.set(None))}>
                    <p>{ "The container will be deleted with everything written inside it, made again from the revision the deployment pins, and started." }</p>
                    <div class="actions">
                        <button id="confirm-instance" class="danger"
                            onclick={let (c, run) = (confirm.clone(), props.on_action.clone()); Callback::from(move |_| { c.set(None); run.emit((id, InstanceAction::Recreate)) })}>
                            { "Recreate" }</button>
                    </div>
                </Modal>
            }
            if let Some((id, name)) = (*log).clone() {
                <LogViewer {id} {name} on_close={let l = log.clone(); Callback::from(move |_| l.set(None))} />
            }
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstanceAction::{Recreate, Restart, Start, Stop};

    #[test]
    fn only_actions_that_can_work_are_offered() {
        assert_eq!(offered(Lifecycle::Created, InstanceStatus::Running), [Stop, Restart, Recreate]);
        assert_eq!(offered(Lifecycle::Created, InstanceStatus::Stopped), [Start, Recreate]);
        assert_eq!(offered(Lifecycle::Created, InstanceStatus::Other), [Start, Stop, Recreate]);
        // Gone behind Mosaic's back, or never made: only making it again helps.
        assert_eq!(offered(Lifecycle::Created, InstanceStatus::Missing), [Recreate]);
        assert_eq!(offered(Lifecycle::Failed, InstanceStatus::NotCreated), [Recreate]);
        // Its host does not answer, or Mosaic is busy with it: nothing to offer.
        assert!(offered(Lifecycle::Created, InstanceStatus::Unknown).is_empty());
        assert!(offered(Lifecycle::Failed, InstanceStatus::Unknown).is_empty());
        assert!(offered(Lifecycle::Pending, InstanceStatus::NotCreated).is_empty());
        assert!(offered(Lifecycle::Deleting, InstanceStatus::Running).is_empty());
    }
}
