//! Images on a host: what an instance can be created from.

use std::collections::HashMap;

use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;

/// An image stored on a host (`GET /1.0/images/{fingerprint}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    /// SHA-256 of the image, its identity.
    pub fingerprint: String,
    /// Names it can be referred to by.
    #[serde(default)]
    pub aliases: Vec<ImageAlias>,
    /// e.g. `x86_64`.
    #[serde(default)]
    pub architecture: String,
    /// `container` or `virtual-machine`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Free-form properties (`description`, `os`, `release`, ...).
    #[serde(default)]
    pub properties: HashMap<String, String>,
}

/// One alias of an image.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageAlias {
    /// The alias.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
}

impl Image {
    /// Whether `reference` names this image: one of its aliases, or a prefix of its fingerprint
    /// (LXD accepts unique prefixes).
    pub fn matches(&self, reference: &str) -> bool {
        self.aliases.iter().any(|a| a.name == reference)
            || (!reference.is_empty() && self.fingerprint.starts_with(reference))
    }
}

impl Client {
    /// All images on the host with their aliases.
    pub async fn images(&self) -> Result<Vec<Image>> {
        self.get("/1.0/images", &[("recursion", "1")]).await
    }
}
