//! Mosaic's own LXD client certificate, generated on first start.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;

/// Loads `client.crt` + `client.key` from `data_dir`, or generates and stores them (the key with
/// mode 0600) so every host that trusts Mosaic keeps trusting it across restarts.
///
/// The directory itself is 0711: others may pass through it (the embedded PostgreSQL cluster
/// inside belongs to the `postgres` user) but not list it.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<lxd::Identity> {
    let cert_path = data_dir.join("client.crt");
    let key_path = data_dir.join("client.key");
    if cert_path.exists() && key_path.exists() {
        let cert = fs::read_to_string(&cert_path)
            .with_context(|| format!("Failed to read {}", cert_path.display()))?;
        let key = fs::read_to_string(&key_path)
            .with_context(|| format!("Failed to read {}", key_path.display()))?;
        return lxd::Identity::from_pem(&cert, &key)
            .context("Invalid client certificate in the data directory");
    }
    fs::create_dir_all(data_dir).with_context(|| format!("Failed to create {}", data_dir.display()))?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o711))
        .context("Failed to restrict the data directory")?;
    let (identity, key_pem) =
        lxd::Identity::generate("mosaic").context("Failed to generate a client certificate")?;
    let mut key_file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .with_context(|| format!("Failed to create {}", key_path.display()))?;
    key_file.write_all(key_pem.as_bytes()).context("Failed to write the client key")?;
    fs::write(&cert_path, identity.certificate_pem()).context("Failed to write the client certificate")?;
    tracing::info!(fingerprint = %identity.fingerprint(), "generated Mosaic's LXD client certificate");
    Ok(identity)
}
