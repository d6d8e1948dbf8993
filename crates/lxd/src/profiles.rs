//! Profiles: the names an operator picks as "extra profiles" when deploying.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Result;

/// An LXD profile (`GET /1.0/profiles/{name}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Configuration keys it applies.
    #[serde(default)]
    pub config: HashMap<String, String>,
    /// Devices it adds.
    #[serde(default)]
    pub devices: HashMap<String, HashMap<String, String>>,
    /// URLs of the instances and profiles using it.
    #[serde(default)]
    pub used_by: Vec<String>,
}

/// The body of `POST /1.0/profiles`.
#[derive(Debug, Clone, Serialize)]
pub struct ProfilesPost {
    name: String,
    description: String,
    config: BTreeMap<String, String>,
    devices: BTreeMap<String, BTreeMap<String, String>>,
}

impl ProfilesPost {
    /// An empty profile named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ProfilesPost {
            name: name.into(),
            description: String::new(),
            config: BTreeMap::new(),
            devices: BTreeMap::new(),
        }
    }

    /// Sets a configuration key.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Adds a device (e.g. a root disk: `type=disk`, `path=/`, `pool=default`).
    pub fn device(mut self, name: impl Into<String>, device: BTreeMap<String, String>) -> Self {
        self.devices.insert(name.into(), device);
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

impl Client {
    /// Creates a profile in the client's project (synchronous in LXD).
    pub async fn create_profile(&self, post: &ProfilesPost) -> Result<()> {
        self.sync(Method::POST, "/1.0/profiles", Some(post)).await.map(drop)
    }

    /// Deletes a profile (LXD refuses while instances use it).
    pub async fn delete_profile(&self, name: &str) -> Result<()> {
        self.sync::<()>(Method::DELETE, &format!("/1.0/profiles/{}", urlencode(name)), None).await.map(drop)
    }

    /// All profiles with their content.
    pub async fn profiles(&self) -> Result<Vec<Profile>> {
        self.get("/1.0/profiles", &[("recursion", "1")]).await
    }

    /// One profile.
    pub async fn profile(&self, name: &str) -> Result<Profile> {
        self.get(&format!("/1.0/profiles/{}", urlencode(name)), &[]).await
    }
}

/// Profile names are free-form in LXD; escape them for the path.
pub(crate) fn urlencode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}
