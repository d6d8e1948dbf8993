//! What a cloud-config may contain.

use std::collections::BTreeMap;

use mosaic_types::cloud_configs::{ImageProtocol, ImageServer};

use crate::error::ApiError;

/// Largest user-data accepted, in bytes. LXD stores it as a config value; cloud-init templates
/// are a few KiB.
const MAX_USER_DATA: usize = 256 * 1024;

/// Config keys Mosaic sets itself on every instance; a cloud-config may not override them.
const RESERVED_KEYS: &[&str] =
    &["user.user-data", "user.vendor-data", "user.meta-data", "user.network-config"];

/// Checks user-data: `#cloud-config` on the first line, then YAML that parses as a mapping
/// (or nothing at all).
/// Errors name the line (and column) the YAML parser stopped at.
pub fn user_data(text: &str) -> Result<(), ApiError> {
    if text.len() > MAX_USER_DATA {
        return Err(ApiError::validation(format!("user_data is larger than {} KiB", MAX_USER_DATA / 1024)));
    }
    if text.contains('\0') {
        return Err(ApiError::validation("user_data contains a NUL character"));
    }
    let first = text.lines().next().unwrap_or("");
    if first.trim_end() != "#cloud-config" {
        return Err(ApiError::validation("user_data line 1: must be exactly `#cloud-config`"));
    }
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let place = match e.location() {
            Some(l) => format!("line {}, column {}", l.line(), l.column()),
            None => "somewhere".to_owned(),
        };
        ApiError::validation(format!("user_data {place}: {}", strip_location(&e.to_string())))
    })?;
    // Nothing after the header is an empty cloud-config (cloud-init accepts it).
    if !value.is_mapping() && !value.is_null() {
        let found = match value {
            serde_norway::Value::Sequence(_) => "a list",
            _ => "a single value",
        };
        return Err(ApiError::validation(format!(
            "user_data must be a YAML mapping (keys such as write_files, runcmd, packages), but it holds {found}"
        )));
    }
    Ok(())
}

/// serde_norway appends " at line X column Y"; the message already leads with it.
fn strip_location(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// Checks an image reference: an alias or a fingerprint (prefix), 1–255 printable characters.
pub fn image(text: &str) -> Result<(), ApiError> {
    if text.is_empty() || text.len() > 255 {
        return Err(ApiError::validation("image must be 1 to 255 characters (an alias or a fingerprint)"));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::validation(format!("image {text:?} must not contain spaces")));
    }
    Ok(())
}

/// Largest image server certificate accepted (a PEM certificate is 1–3 KiB; a chain a few).
const MAX_CERTIFICATE: usize = 16 * 1024;

/// Checks an image server: an `https://` URL with a host (a path is fine: simplestreams trees
/// live under one; no credentials, query or fragment, which LXD would send on), a protocol, and
/// an optional PEM certificate. The image reference must be usable on the server too.
///
/// Mosaic never connects to the server: the LXD hosts do, when they lack the image.
pub fn image_server(image: &str, server: Option<&ImageServer>) -> Result<(), ApiError> {
    let Some(server) = server else { return Ok(()) };
    let text = server.url.trim();
    if text.len() > 2048 || text != server.url {
        return Err(ApiError::validation("image_server.url must be at most 2048 characters, without spaces"));
    }
    let url = url::Url::parse(text)
        .map_err(|e| ApiError::validation(format!("image_server.url {text:?} is not a URL: {e}")))?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(ApiError::validation(format!("image_server.url {text:?} must be an https:// URL")));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(ApiError::validation(format!(
            "image_server.url {text:?} must not carry credentials, a query or a fragment"
        )));
    }
    if let Some(pem) = &server.certificate {
        // ASCII, a BEGIN line before an END line: what the schema's pattern says.
        let begin = pem.find("-----BEGIN CERTIFICATE-----");
        let end = pem.rfind("-----END CERTIFICATE-----");
        let ordered =
            matches!((begin, end), (Some(b), Some(e)) if b + "-----BEGIN CERTIFICATE-----".len() <= e);
        if pem.len() > MAX_CERTIFICATE || !ordered || !pem.is_ascii() || pem.contains('\0') {
            return Err(ApiError::validation(format!(
                "image_server.certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----), at most {} KiB",
                MAX_CERTIFICATE / 1024
            )));
        }
    }
    let protocol = match server.protocol {
        ImageProtocol::Lxd => lxd::ImageProtocol::Lxd,
        ImageProtocol::Simplestreams => lxd::ImageProtocol::SimpleStreams,
    };
    let reference = if image.len() == 64 && image.chars().all(|c| c.is_ascii_hexdigit()) {
        lxd::ImageRef::Fingerprint(image.to_owned())
    } else {
        lxd::ImageRef::Alias(image.to_owned())
    };
    lxd::RemoteImage::new(url, protocol, reference)
        .validate()
        .map_err(|e| ApiError::validation(format!("image_server: {e}")))
}

/// Checks extra LXD config keys against the allow-list: `environment.*`, `limits.*` and `user.*`
/// (except Mosaic's own `user.mosaic.*` and the cloud-init keys it sets). Everything else —
/// `security.*`, `raw.*`, `linux.*`, `boot.*`, devices — could let a container escape or change
/// how Mosaic manages it, and is refused.
pub fn config(keys: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (key, value) in keys {
        let allowed_prefix = ["environment.", "limits.", "user."].iter().find(|p| key.starts_with(*p));
        let Some(prefix) = allowed_prefix else {
            return Err(ApiError::validation(format!(
                "config key {key:?} is not allowed: only environment.*, limits.* and user.* keys may be set"
            )));
        };
        let rest = &key[prefix.len()..];
        if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            return Err(ApiError::validation(format!("config key {key:?} is malformed")));
        }
        if key.starts_with("user.mosaic.") || key == "user.mosaic" || RESERVED_KEYS.contains(&key.as_str()) {
            return Err(ApiError::validation(format!("config key {key:?} is reserved for Mosaic")));
        }
        if value.chars().count() > mosaic_types::schemas::CONFIG_VALUE_MAX || value.contains('\0') {
            return Err(ApiError::validation(format!(
                "config value of {key:?} is too large or contains NUL"
            )));
        }
    }
    Ok(())
}

/// Checks an LXD profile a non-admin wants applied: its config keys must pass the same
/// allow-list as a cloud-config's ([`config`]), and its devices must not hand the container
/// anything of the host's — a host path, a host device, a physical NIC, a proxy to the host's
/// ports. (Admins may apply any profile: registering the host already gave them the host.)
pub fn profile(profile: &lxd::Profile) -> Result<(), String> {
    let keys: BTreeMap<String, String> = profile.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    config(&keys).map_err(|e| format!("profile {:?}: {e}", profile.name))?;
    for (name, device) in &profile.devices {
        let kind = device.get("type").map(String::as_str).unwrap_or("");
        let safe = match kind {
            // A storage pool volume (the root disk), never a path on the host.
            "disk" => device.get("source").is_none() || device.contains_key("pool"),
            "nic" => !matches!(device.get("nictype").map(String::as_str), Some("physical" | "sriov")),
            "none" => true,
            _ => false,
        };
        if !safe {
            return Err(format!(
                "profile {:?} passes device {name:?} ({kind}) from the host; only admins may apply it",
                profile.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ApiError) -> String {
        e.to_string()
    }

    #[test]
    fn user_data_needs_the_header_and_a_mapping() {
        assert!(user_data("#cloud-config\nruncmd:\n  - [echo, hi]\n").is_ok());
        assert!(message(user_data("runcmd: []\n").unwrap_err()).contains("line 1"));
        assert!(user_data("#cloud-config\n").is_ok(), "an empty cloud-config");
        assert!(user_data("#cloud-config").is_ok());
        assert!(message(user_data("#cloud-config\n42\n").unwrap_err()).contains("a single value"));
        assert!(message(user_data("#cloud-config\n- a\n- b\n").unwrap_err()).contains("a list"));
    }

    #[test]
    fn yaml_errors_name_the_line() {
        let err = message(user_data("#cloud-config\nruncmd:\n  - [echo, hi\nwrite_files: x\n").unwrap_err());
        assert!(err.contains("line "), "{err}");
        let err = message(user_data("#cloud-config\na: b\n c: d\n").unwrap_err());
        assert!(err.contains("line 3"), "{err}");
    }

    fn profile_with(config: &[(&str, &str)], devices: &[(&str, &[(&str, &str)])]) -> lxd::Profile {
        let json = serde_json::json!({
            "name": "p",
            "config": config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::HashMap<_, _>>(),
            "devices": devices.iter().map(|(n, d)| {
                (n.to_string(), d.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::HashMap<_, _>>())
            }).collect::<std::collections::HashMap<_, _>>(),
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn profiles_that_hand_out_the_host_are_for_admins() {
        let root: &[(&str, &str)] = &[("type", "disk"), ("path", "/"), ("pool", "default")];
        assert!(profile(&profile_with(&[("limits.cpu", "1")], &[("root", root)])).is_ok());
        let bridged: &[(&str, &str)] = &[("type", "nic"), ("nictype", "bridged"), ("parent", "lxdbr0")];
        assert!(profile(&profile_with(&[], &[("eth0", bridged)])).is_ok());
        for (config, device) in [
            (vec![("security.privileged", "true")], None),
            (vec![("raw.lxc", "lxc.apparmor.profile=unconfined")], None),
            (vec![], Some(vec![("type", "disk"), ("source", "/"), ("path", "/host")])),
            (vec![], Some(vec![("type", "unix-char"), ("path", "/dev/kvm")])),
            (
                vec![],
                Some(vec![
                    ("type", "proxy"),
                    ("listen", "tcp:127.0.0.1:1"),
                    ("connect", "tcp:127.0.0.1:8080"),
                ]),
            ),
            (vec![], Some(vec![("type", "nic"), ("nictype", "physical"), ("parent", "eth0")])),
            (vec![], Some(vec![("type", "gpu")])),
        ] {
            let devices: Vec<(&str, &[(&str, &str)])> =
                device.as_deref().map(|d| vec![("d", d)]).unwrap_or_default();
            assert!(profile(&profile_with(&config, &devices)).is_err(), "{config:?} {device:?}");
        }
    }

    #[test]
    fn image_servers_must_be_https_with_a_pem_certificate() {
        let server = |url: &str, certificate: Option<&str>| ImageServer {
            url: url.into(),
            protocol: ImageProtocol::Simplestreams,
            certificate: certificate.map(str::to_owned),
        };
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(image_server("debian/12", None).is_ok());
        assert!(image_server("debian/12", Some(&server("https://images.example", None))).is_ok());
        assert!(
            image_server("debian/12", Some(&server("https://127.0.0.1:8443/releases/", Some(pem)))).is_ok()
        );
        for bad in [
            server("http://images.example", None),
            server("https://", None),
            server("images.example", None),
            server("https://user:pw@images.example", None),
            server("https://images.example/?x=1", None),
            server(" https://images.example", None),
            server("https://images.example", Some("not a certificate")),
            server("https://images.example", Some(&"A".repeat(20_000))),
            server("https://images.example", Some("-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----")),
            server(
                "https://images.example",
                Some("-----BEGIN CERTIFICATE-----\né\n-----END CERTIFICATE-----"),
            ),
        ] {
            assert!(image_server("debian/12", Some(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_keys_are_allow_listed() {
        let ok: BTreeMap<_, _> = [("limits.memory", "256MiB"), ("environment.FOO", "1"), ("user.site", "x")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        assert!(config(&ok).is_ok());
        for bad in [
            "security.privileged",
            "raw.lxc",
            "linux.kernel_modules",
            "user.mosaic.deployment",
            "user.user-data",
            "limits.",
            "boot.autostart",
        ] {
            let keys: BTreeMap<String, String> = [(bad.to_owned(), "true".to_owned())].into();
            assert!(config(&keys).is_err(), "{bad} should be refused");
        }
    }
}
