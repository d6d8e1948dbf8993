//! LXD projects: separate sets of instances, profiles and images on one daemon.
//!
//! Projects themselves are server-wide, so these calls never carry `?project=`; everything else
//! a client scoped with [`Client::in_project`] does.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::profiles::urlencode;

/// A project as LXD returns it (`GET /1.0/projects/{name}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Its configuration (`features.profiles`, `features.images`, limits, ...).
    #[serde(default)]
    pub config: HashMap<String, String>,
    /// URLs of what it holds.
    #[serde(default)]
    pub used_by: Vec<String>,
}

/// The body of `POST /1.0/projects`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectsPost {
    name: String,
    description: String,
    config: BTreeMap<String, String>,
}

impl ProjectsPost {
    /// A project named `name` with LXD's defaults (its own profiles, images, storage volumes).
    pub fn new(name: impl Into<String>) -> Self {
        ProjectsPost { name: name.into(), description: String::new(), config: BTreeMap::new() }
    }

    /// Whether the project has its own profiles (`features.profiles`; else it uses `default`'s).
    /// A project with its own profiles starts with an empty `default` profile: give it a root
    /// disk before creating instances.
    pub fn own_profiles(self, own: bool) -> Self {
        self.config("features.profiles", if own { "true" } else { "false" })
    }

    /// Whether the project has its own images (`features.images`; else it uses `default`'s).
    pub fn own_images(self, own: bool) -> Self {
        self.config("features.images", if own { "true" } else { "false" })
    }

    /// Sets a configuration key.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

impl Client {
    /// All projects on the daemon.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        let call = Call::new(Method::GET, "/1.0/projects").query(&[("recursion", "1")]).unscoped();
        crate::response::decode(self.call(call).await?.0.into_sync()?)
    }

    /// Creates a project (synchronous in LXD).
    pub async fn create_project(&self, post: &ProjectsPost) -> Result<()> {
        if post.name.is_empty() || post.name.contains(['/', '?', '#', ' ']) {
            return Err(Error::invalid("project name", format!("{:?}", post.name)));
        }
        let call = Call::new(Method::POST, "/1.0/projects").json(Some(post))?.unscoped();
        self.call(call).await?.0.into_sync().map(drop)
    }

    /// Deletes an empty project (LXD refuses while it holds instances, profiles or images).
    pub async fn delete_project(&self, name: &str) -> Result<()> {
        let path = format!("/1.0/projects/{}", urlencode(name));
        self.call(Call::new(Method::DELETE, &path).unscoped()).await?.0.into_sync().map(drop)
    }
}
