//! Profiles: the names an operator picks as "extra profiles" when deploying.

use std::collections::HashMap;

use serde::Deserialize;

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

impl Client {
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
