//! Instances: list (with state), get, create, change state, delete.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::name::InstanceName;
use crate::operation::Operation;
use crate::status::StatusCode;

/// An instance as LXD returns it (`GET /1.0/instances/{name}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Instance {
    /// Its name, unique per host and project.
    pub name: String,
    /// `Running`, `Stopped`, `Frozen`, `Error`, ...
    #[serde(default)]
    pub status: String,
    /// The status as a code.
    #[serde(default)]
    pub status_code: StatusCode,
    /// `container` or `virtual-machine`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Its own configuration keys (without profiles').
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: HashMap<String, String>,
    /// Configuration with the profiles' keys merged in.
    #[serde(default, deserialize_with = "null_as_default")]
    pub expanded_config: HashMap<String, String>,
    /// Its own devices.
    #[serde(default, deserialize_with = "null_as_default")]
    pub devices: HashMap<String, HashMap<String, String>>,
    /// The profiles applied, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub profiles: Vec<String>,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// When it was last started (RFC 3339; the zero time if never).
    #[serde(default)]
    pub last_used_at: String,
    /// Cluster member it lives on (`none` outside clusters).
    #[serde(default)]
    pub location: String,
    /// Its project.
    #[serde(default)]
    pub project: String,
    /// Live state; present when listed with `recursion=2` (or fetched with `recursion=1`).
    #[serde(default)]
    pub state: Option<InstanceState>,
}

/// A field LXD may send as `null` (a cluster lists an instance of a member it cannot reach with
/// `config`, `devices` and `profiles` all `null`): read as empty.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Instance {
    /// Whether LXD reports it running.
    pub fn is_running(&self) -> bool {
        self.status_code == StatusCode::RUNNING
    }
}

/// Live state of an instance (`GET /1.0/instances/{name}/state`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InstanceState {
    /// Status in words.
    #[serde(default)]
    pub status: String,
    /// Status code.
    #[serde(default)]
    pub status_code: StatusCode,
    /// Memory use.
    #[serde(default)]
    pub memory: MemoryState,
    /// Network interfaces by name (absent when stopped).
    #[serde(default)]
    pub network: Option<HashMap<String, NetworkState>>,
    /// PID of its init process on the host (0 when stopped).
    #[serde(default)]
    pub pid: i64,
    /// Number of processes inside.
    #[serde(default)]
    pub processes: i64,
}

/// Memory use of an instance, in bytes.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct MemoryState {
    /// Current use.
    #[serde(default)]
    pub usage: u64,
    /// Highest use seen.
    #[serde(default)]
    pub usage_peak: u64,
}

/// One network interface of a running instance.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkState {
    /// Addresses on the interface.
    #[serde(default)]
    pub addresses: Vec<NetworkAddress>,
    /// `up` or `down`.
    #[serde(default)]
    pub state: String,
    /// `loopback`, `broadcast`, ...
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// One address of an interface.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkAddress {
    /// `inet` or `inet6`.
    #[serde(default)]
    pub family: String,
    /// The address.
    #[serde(default)]
    pub address: String,
    /// Prefix length.
    #[serde(default)]
    pub netmask: String,
    /// `global`, `link` or `local`.
    #[serde(default)]
    pub scope: String,
}

/// The body of `POST /1.0/instances`.
#[derive(Debug, Clone, Serialize)]
pub struct InstancesPost {
    /// The new instance's name.
    pub name: InstanceName,
    /// Always `container` here: Mosaic runs system containers.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Profiles to apply, in order.
    pub profiles: Vec<String>,
    /// Instance configuration keys.
    pub config: BTreeMap<String, String>,
    /// Instance devices.
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
    /// Where the root filesystem comes from.
    pub source: InstanceSource,
}

impl InstancesPost {
    /// A container named `name` from `source`, with the `default` profile.
    pub fn new(name: InstanceName, source: InstanceSource) -> Self {
        InstancesPost {
            name,
            kind: "container",
            profiles: vec!["default".to_owned()],
            config: BTreeMap::new(),
            devices: BTreeMap::new(),
            source,
        }
    }

    /// Replaces the profile list.
    pub fn profiles(mut self, profiles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.profiles = profiles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets one configuration key.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Adds a device.
    pub fn device(mut self, name: impl Into<String>, device: BTreeMap<String, String>) -> Self {
        self.devices.insert(name.into(), device);
        self
    }
}

/// The image an instance is created from: a local image by alias or fingerprint, or an image
/// the host pulls from an image server.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct InstanceSource(serde_json::Value);

impl InstanceSource {
    /// A local image by alias (`busybox`).
    pub fn image_alias(alias: impl Into<String>) -> Self {
        InstanceSource(serde_json::json!({ "type": "image", "alias": alias.into() }))
    }

    /// A local image by fingerprint (or a unique prefix of it).
    pub fn image_fingerprint(fingerprint: impl Into<String>) -> Self {
        InstanceSource(serde_json::json!({ "type": "image", "fingerprint": fingerprint.into() }))
    }

    /// An image on an image server (`mode: pull`): the host downloads it unless it already has
    /// it (LXD caches pulled images), then creates the instance. Refuses a non-`https` server.
    pub fn remote_image(remote: &crate::images::RemoteImage) -> Result<Self> {
        Ok(InstanceSource(remote.source()?))
    }
}

/// An action for `PUT /1.0/instances/{name}/state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStateAction {
    /// Boot it.
    Start,
    /// Shut it down (cleanly with a timeout, or killed with `force`/no timeout).
    Stop,
    /// Stop then start.
    Restart,
    /// Freeze all its processes.
    Freeze,
    /// Thaw it.
    Unfreeze,
}

/// The body of `PUT /1.0/instances/{name}/state`.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceStatePut {
    /// What to do.
    pub action: InstanceStateAction,
    /// Seconds to wait for a clean shutdown; LXD treats 0 (with stop) as an immediate kill.
    pub timeout: i64,
    /// Kill instead of shutting down.
    pub force: bool,
}

impl InstanceStatePut {
    /// A stop or restart: a clean shutdown bounded by `clean_timeout`, or a kill if `None`.
    fn ending(action: InstanceStateAction, clean_timeout: Option<Duration>) -> Self {
        match clean_timeout {
            // LXD reads 0 as "kill now": a clean shutdown needs at least a second.
            Some(t) => InstanceStatePut {
                action,
                timeout: i64::try_from(t.as_secs().max(1)).unwrap_or(i64::MAX),
                force: false,
            },
            None => InstanceStatePut { action, timeout: -1, force: true },
        }
    }
}

/// A server-side filter for the instance list (`?filter=`), LXD 5.0 syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFilter(String);

impl InstanceFilter {
    /// Instances whose config key `key` equals `value` (e.g. `user.mosaic.deployment`).
    ///
    /// Keys and values are restricted to characters that need no quoting in LXD's filter
    /// language, so a filter can never be mis-parsed into something broader.
    pub fn config_eq(key: &str, value: &str) -> Result<Self> {
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !plain(key) || !plain(value) {
            return Err(Error::invalid("instance filter", format!("{key}={value} needs quoting")));
        }
        Ok(InstanceFilter(format!("config.{key} eq {value}")))
    }

    /// The same filter, or instances whose status is `status`. A cluster lists the instances of
    /// a member it cannot reach with status `Error` and without their config, so a config filter
    /// alone leaves them out; `or_status("Error")` keeps them in sight.
    pub fn or_status(self, status: &str) -> Result<Self> {
        if status.is_empty() || !status.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid("instance filter", format!("status {status:?}")));
        }
        Ok(InstanceFilter(format!("{} or status eq {status}", self.0)))
    }
}

impl Client {
    /// Every instance with its live state, in one call (`recursion=2`), optionally filtered.
    pub async fn instances(&self, filter: Option<&InstanceFilter>) -> Result<Vec<Instance>> {
        match filter {
            Some(f) => self.get("/1.0/instances", &[("recursion", "2"), ("filter", &f.0)]).await,
            None => self.get("/1.0/instances", &[("recursion", "2")]).await,
        }
    }

    /// Every instance without its state, in one call (`recursion=1`), optionally filtered: config,
    /// devices, status and location. Cheap where [`Client::instances`] is not: LXD 5.0 computes
    /// each running container's state (memory, and network by forking into it) before it filters,
    /// ~32 ms of its CPU per container, while this reads its database only.
    pub async fn instances_without_state(&self, filter: Option<&InstanceFilter>) -> Result<Vec<Instance>> {
        match filter {
            Some(f) => self.get("/1.0/instances", &[("recursion", "1"), ("filter", &f.0)]).await,
            None => self.get("/1.0/instances", &[("recursion", "1")]).await,
        }
    }

    /// One instance's live state alone (`GET /1.0/instances/{name}/state`): what a listing with
    /// state costs per container, for one.
    pub async fn instance_state(&self, name: &InstanceName) -> Result<InstanceState> {
        self.get(&format!("/1.0/instances/{name}/state"), &[]).await
    }

    /// One instance with its state.
    pub async fn instance(&self, name: &InstanceName) -> Result<Instance> {
        self.get(&format!("/1.0/instances/{name}"), &[("recursion", "1")]).await
    }

    /// One instance without its state (`recursion=0`): its config, devices and status only,
    /// which spares LXD reading cgroups, network and disk usage for it.
    pub async fn instance_config(&self, name: &InstanceName) -> Result<Instance> {
        self.get(&format!("/1.0/instances/{name}"), &[]).await
    }

    /// One instance, or `None` if the host has no instance of that name.
    pub async fn instance_opt(&self, name: &InstanceName) -> Result<Option<Instance>> {
        match self.instance(name).await {
            Ok(i) => Ok(Some(i)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts creating an instance. A taken name or missing image fails inside the operation.
    pub async fn create_instance(&self, post: &InstancesPost) -> Result<Operation> {
        self.operation(Method::POST, "/1.0/instances", Some(post)).await
    }

    /// Changes an instance's state.
    pub async fn set_instance_state(&self, name: &InstanceName, put: &InstanceStatePut) -> Result<Operation> {
        self.operation(Method::PUT, &format!("/1.0/instances/{name}/state"), Some(put)).await
    }

    /// Starts an instance.
    pub async fn start_instance(&self, name: &InstanceName) -> Result<Operation> {
        let put = InstanceStatePut { action: InstanceStateAction::Start, timeout: -1, force: false };
        self.set_instance_state(name, &put).await
    }

    /// Stops an instance: a clean shutdown bounded by `clean_timeout`, or a kill if `None`.
    pub async fn stop_instance(
        &self,
        name: &InstanceName,
        clean_timeout: Option<Duration>,
    ) -> Result<Operation> {
        self.set_instance_state(name, &InstanceStatePut::ending(InstanceStateAction::Stop, clean_timeout))
            .await
    }

    /// Kills an instance and waits up to `timeout` for it. A stop that LXD fails but that left
    /// the instance stopped (or gone) is a stop: on a loaded host LXD's own 30 s operation lock
    /// can run out while the kill still completes, and a stop of a stopped instance is refused.
    pub async fn kill_instance(&self, name: &InstanceName, timeout: Duration) -> Result<()> {
        let killed = match self.stop_instance(name, None).await {
            Ok(op) => op.wait(timeout).await.map(drop),
            Err(e) => Err(e),
        };
        match killed {
            Err(e) if !self.is_stopped(name).await? => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether LXD reports the instance stopped, or it no longer exists.
    pub async fn is_stopped(&self, name: &InstanceName) -> Result<bool> {
        Ok(self.instance_opt(name).await?.is_none_or(|i| i.status_code == StatusCode::STOPPED))
    }

    /// Restarts an instance: a clean shutdown bounded by `clean_timeout` (or a kill if `None`),
    /// then a start.
    pub async fn restart_instance(
        &self,
        name: &InstanceName,
        clean_timeout: Option<Duration>,
    ) -> Result<Operation> {
        self.set_instance_state(name, &InstanceStatePut::ending(InstanceStateAction::Restart, clean_timeout))
            .await
    }

    /// Deletes a stopped instance (LXD refuses to delete a running one).
    pub async fn delete_instance(&self, name: &InstanceName) -> Result<Operation> {
        self.operation::<()>(Method::DELETE, &format!("/1.0/instances/{name}"), None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{ImageProtocol, ImageRef, RemoteImage};

    #[test]
    fn an_instance_from_a_remote_image_pulls_it() {
        let remote = RemoteImage::new(
            "https://images.example".parse().unwrap(),
            ImageProtocol::SimpleStreams,
            ImageRef::Alias("debian/12".into()),
        );
        let post = InstancesPost::new(
            InstanceName::parse("web-1").unwrap(),
            InstanceSource::remote_image(&remote).unwrap(),
        );
        let body = serde_json::to_value(&post).unwrap();
        assert_eq!(
            body["source"],
            serde_json::json!({"type": "image", "mode": "pull", "server": "https://images.example",
                               "protocol": "simplestreams", "alias": "debian/12"})
        );
        let local = serde_json::to_value(InstanceSource::image_alias("busybox")).unwrap();
        assert_eq!(local, serde_json::json!({"type": "image", "alias": "busybox"}));
    }

    #[test]
    fn an_instance_of_an_unreachable_member_is_read() {
        // How LXD 5.0.2 lists an instance whose cluster member does not answer.
        let listed: Vec<Instance> = serde_json::from_str(
            r#"[{"name": "web-1", "status": "Error", "status_code": 112, "location": "m2", "config": null,
                 "devices": null, "expanded_config": null, "expanded_devices": null, "profiles": null,
                 "state": null, "created_at": "0001-01-01T00:00:00Z"}]"#,
        )
        .unwrap();
        assert_eq!(listed[0].status_code, StatusCode::ERROR);
        assert_eq!(listed[0].location, "m2");
        assert!(listed[0].config.is_empty() && listed[0].profiles.is_empty() && listed[0].state.is_none());
    }

    #[test]
    fn a_filter_can_keep_instances_of_unreachable_members() {
        let filter =
            InstanceFilter::config_eq("user.mosaic.managed", "true").unwrap().or_status("Error").unwrap();
        assert_eq!(filter.0, "config.user.mosaic.managed eq true or status eq Error");
        let base = InstanceFilter::config_eq("user.a", "b").unwrap();
        assert!(base.or_status("Error or config.x eq y").is_err());
    }
}
