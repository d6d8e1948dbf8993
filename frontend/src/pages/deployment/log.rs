//! One instance's cloud-init log (the end of `/var/log/cloud-init-output.log`, read by the server
//! through LXD's file API): what its cloud-config's commands printed, so an operator sees why it
//! failed without a shell.

use mosaic_types::InstanceId;
use mosaic_types::instances::CloudInitLog;
use yew::prelude::*;

use crate::components::{ErrorBanner, Modal};
use crate::format;
use crate::hooks::use_load;
use crate::services;

/// Props.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The instance.
    pub id: InstanceId,
    /// Its name, for the title.
    pub name: AttrValue,
    /// Closes the viewer.
    pub on_close: Callback<()>,
}

/// What the viewer says about how much of the log it shows.
pub fn extent(log: &CloudInitLog) -> String {
    let shown = format::bytes(log.content.len() as u64);
    match (log.truncated, log.size) {
        (true, Some(size)) => format!("the last {shown} of {}", format::bytes(size)),
        (true, None) => format!("the last {shown}"),
        (false, _) => format!("all of it ({shown})"),
    }
}

/// The viewer: read when opened, again on request (cloud-init may still be writing).
#[function_component(LogViewer)]
pub fn log_viewer(props: &Props) -> Html {
    let log =
        use_load(props.id, |api, id| async move { services::instances::cloud_init_log(&api, id).await });
    html! {
        <Modal title={format!("cloud-init log of {}", props.name)} on_close={props.on_close.clone()}>
            <ErrorBanner error={log.error()} on_dismiss={log.dismiss()} />
            <div class="log-head">
                <span class="muted" id="cloud-init-log-extent">
                    { match log.data() { Some(l) => extent(l), None if log.error().is_none() => "Reading…".into(), None => String::new() } }
                </span>
                <button class="link" id="reload-log" onclick={log.reload().reform(|_| ())}>{ "Read again" }</button>
            </div>
            if let Some(l) = log.data() {
                <pre class="log" id="cloud-init-log">{ &l.content }</pre>
            }
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_says_whether_it_shows_the_whole_log() {
        let log = |truncated, size| CloudInitLog { content: "x".repeat(2048), truncated, size };
        assert_eq!(extent(&log(false, Some(2048))), "all of it (2.0 KiB)");
        assert_eq!(extent(&log(true, Some(3 * 1024 * 1024))), "the last 2.0 KiB of 3.0 MiB");
        assert_eq!(extent(&log(true, None)), "the last 2.0 KiB");
    }
}
