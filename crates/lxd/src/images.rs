//! Images on a host: what an instance can be created from.

use std::collections::HashMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::name::InstanceName;
use crate::operation::Operation;
use crate::profiles::urlencode;

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
    /// Whether untrusted clients (other LXD servers pulling over the `lxd` protocol) may read it.
    #[serde(default)]
    pub public: bool,
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

/// The protocol an image server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageProtocol {
    /// Another LXD server's API (its public images, or any with a trusted certificate).
    Lxd,
    /// A static simplestreams tree (`streams/v1/index.json`), as public image servers publish.
    #[serde(rename = "simplestreams")]
    SimpleStreams,
}

impl ImageProtocol {
    /// LXD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageProtocol::Lxd => "lxd",
            ImageProtocol::SimpleStreams => "simplestreams",
        }
    }
}

/// Which image on an image server: by alias or by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageRef {
    /// An alias, e.g. `debian/12`; the server resolves it when the host pulls.
    Alias(String),
    /// A fingerprint (or a unique prefix): the exact image, whatever aliases move to later.
    Fingerprint(String),
}

/// An image on an image server, to create instances from or copy to a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteImage {
    /// The server's `https://` URL.
    pub server: Url,
    /// The protocol it speaks.
    pub protocol: ImageProtocol,
    /// Which image.
    pub image: ImageRef,
    /// The server's certificate (PEM), for a server the host's system CAs do not vouch for (a
    /// self-signed LXD server); the host then trusts exactly that certificate for the download.
    pub certificate: Option<String>,
}

impl RemoteImage {
    /// An image on `server` by alias or fingerprint, with no certificate.
    pub fn new(server: Url, protocol: ImageProtocol, image: ImageRef) -> Self {
        RemoteImage { server, protocol, image, certificate: None }
    }

    /// The same image, trusting the server's certificate `pem`.
    pub fn with_certificate(mut self, pem: impl Into<String>) -> Self {
        self.certificate = Some(pem.into());
        self
    }

    /// Refuses what LXD would be made to fetch insecurely or from nowhere: the server must be an
    /// `https://` URL with a host, the reference non-empty, a certificate PEM text.
    pub fn validate(&self) -> Result<()> {
        if self.server.scheme() != "https" || self.server.host_str().is_none() {
            return Err(Error::invalid("image server", format!("{} is not an https:// URL", self.server)));
        }
        let reference = match &self.image {
            ImageRef::Alias(a) => a,
            ImageRef::Fingerprint(f) => f,
        };
        if reference.trim().is_empty() {
            return Err(Error::invalid("image reference", "it is empty"));
        }
        if let ImageRef::Fingerprint(f) = &self.image
            && !f.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(Error::invalid("image fingerprint", format!("{f:?} is not hex")));
        }
        if let Some(pem) = &self.certificate
            && !pem.contains("-----BEGIN CERTIFICATE-----")
        {
            return Err(Error::invalid("image server certificate", "not a PEM certificate"));
        }
        Ok(())
    }

    /// The `source` object LXD takes for a pull (`type: image`, `mode: pull`, ...).
    pub(crate) fn source(&self) -> Result<serde_json::Value> {
        self.validate()?;
        // LXD joins paths onto the server URL itself; a trailing slash would double up.
        let server = self.server.as_str().trim_end_matches('/');
        let mut source = json!({
            "type": "image",
            "mode": "pull",
            "server": server,
            "protocol": self.protocol.as_str(),
        });
        match &self.image {
            ImageRef::Alias(a) => source["alias"] = json!(a),
            ImageRef::Fingerprint(f) => source["fingerprint"] = json!(f),
        }
        if let Some(pem) = &self.certificate {
            source["certificate"] = json!(pem);
        }
        Ok(source)
    }
}

/// The body of `POST /1.0/images`: where a new image on the host comes from, and how it is kept.
#[derive(Debug, Clone, Serialize)]
pub struct ImagesPost {
    source: serde_json::Value,
    public: bool,
    auto_update: bool,
    aliases: Vec<NewAlias>,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    properties: HashMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
struct NewAlias {
    name: String,
    description: String,
}

impl ImagesPost {
    /// Copies `remote` to the host (the host downloads it; progress shows in the operation).
    pub fn pull(remote: &RemoteImage) -> Result<Self> {
        Ok(Self::with_source(remote.source()?))
    }

    /// Publishes a stopped instance's root filesystem as a new image (`lxc publish`).
    pub fn from_instance(name: &InstanceName) -> Self {
        Self::with_source(json!({ "type": "instance", "name": name.as_str() }))
    }

    fn with_source(source: serde_json::Value) -> Self {
        ImagesPost {
            source,
            public: false,
            auto_update: false,
            aliases: Vec::new(),
            properties: HashMap::new(),
        }
    }

    /// Makes the image readable by untrusted clients (other hosts pulling over `lxd`).
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// Gives the new image an alias on this host.
    pub fn alias(mut self, name: impl Into<String>) -> Self {
        self.aliases.push(NewAlias { name: name.into(), description: String::new() });
        self
    }

    /// Sets a property (e.g. `description`).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }
}

impl Client {
    /// All images on the host with their aliases.
    pub async fn images(&self) -> Result<Vec<Image>> {
        self.get("/1.0/images", &[("recursion", "1")]).await
    }

    /// One image by fingerprint (or unique prefix).
    pub async fn image(&self, fingerprint: &str) -> Result<Image> {
        self.get(&format!("/1.0/images/{}", urlencode(fingerprint)), &[]).await
    }

    /// One image, or `None` when the host does not have it.
    pub async fn image_opt(&self, fingerprint: &str) -> Result<Option<Image>> {
        match self.image(fingerprint).await {
            Ok(i) => Ok(Some(i)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts creating an image on the host (a pull from an image server, or a publish).
    ///
    /// When it succeeds the operation's metadata names the image
    /// ([`crate::OperationMetadata::image_fingerprint`]); while a pull runs, its download
    /// progress is in the operation ([`crate::Operation::refresh`],
    /// [`crate::OperationMetadata::progress`]) and in operation events.
    pub async fn create_image(&self, post: &ImagesPost) -> Result<Operation> {
        self.operation(Method::POST, "/1.0/images", Some(post)).await
    }

    /// Starts copying `remote` to this host (`POST /1.0/images` with `mode: pull`). Pulling an
    /// image the host already has finishes at once.
    pub async fn copy_image_from(&self, remote: &RemoteImage) -> Result<Operation> {
        self.create_image(&ImagesPost::pull(remote)?).await
    }

    /// Makes an image public or private.
    pub async fn set_image_public(&self, fingerprint: &str, public: bool) -> Result<()> {
        let path = format!("/1.0/images/{}", urlencode(fingerprint));
        self.sync(Method::PATCH, &path, Some(&json!({ "public": public }))).await.map(drop)
    }

    /// Points a new alias at an image.
    pub async fn create_image_alias(&self, alias: &str, fingerprint: &str) -> Result<()> {
        let body = json!({ "name": alias, "target": fingerprint, "description": "" });
        self.sync(Method::POST, "/1.0/images/aliases", Some(&body)).await.map(drop)
    }

    /// Removes an alias (the image stays).
    pub async fn delete_image_alias(&self, alias: &str) -> Result<()> {
        self.sync::<()>(Method::DELETE, &format!("/1.0/images/aliases/{}", urlencode(alias)), None)
            .await
            .map(drop)
    }

    /// Starts deleting an image from the host.
    pub async fn delete_image(&self, fingerprint: &str) -> Result<Operation> {
        self.operation::<()>(Method::DELETE, &format!("/1.0/images/{}", urlencode(fingerprint)), None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Url {
        "https://images.example:8443/".parse().unwrap()
    }

    #[test]
    fn a_simplestreams_pull_names_server_protocol_alias_and_certificate() {
        let remote =
            RemoteImage::new(server(), ImageProtocol::SimpleStreams, ImageRef::Alias("debian/12".into()))
                .with_certificate("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        let body = serde_json::to_value(ImagesPost::pull(&remote).unwrap().alias("mine")).unwrap();
        assert_eq!(
            body,
            json!({
                "source": {
                    "type": "image", "mode": "pull", "server": "https://images.example:8443",
                    "protocol": "simplestreams", "alias": "debian/12",
                    "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                },
                "public": false, "auto_update": false,
                "aliases": [{"name": "mine", "description": ""}],
            })
        );
    }

    #[test]
    fn an_lxd_pull_by_fingerprint_has_no_alias() {
        let remote =
            RemoteImage::new(server(), ImageProtocol::Lxd, ImageRef::Fingerprint("938b7112325e".into()));
        let source = remote.source().unwrap();
        assert_eq!(source["protocol"], "lxd");
        assert_eq!(source["fingerprint"], "938b7112325e");
        assert!(source.get("alias").is_none() && source.get("certificate").is_none());
    }

    #[test]
    fn insecure_or_empty_sources_are_refused() {
        let http = RemoteImage::new(
            "http://images.example".parse().unwrap(),
            ImageProtocol::SimpleStreams,
            ImageRef::Alias("x".into()),
        );
        assert!(http.validate().is_err());
        assert!(
            RemoteImage::new(server(), ImageProtocol::Lxd, ImageRef::Alias(" ".into())).validate().is_err()
        );
        assert!(
            RemoteImage::new(server(), ImageProtocol::Lxd, ImageRef::Fingerprint("xyz".into()))
                .validate()
                .is_err()
        );
        let bad_cert = RemoteImage::new(server(), ImageProtocol::Lxd, ImageRef::Alias("x".into()))
            .with_certificate("nope");
        assert!(bad_cert.validate().is_err());
    }
}
