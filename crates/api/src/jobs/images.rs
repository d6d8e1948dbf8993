//! The image each instance of a job is made from.
//!
//! An image on the hosts (an alias or fingerprint) is resolved to a fingerprint once per job and
//! host, from one image listing. An image on an image server is pulled by the host that lacks it
//! with one image copy per host and job (`POST /1.0/images`, `mode: pull`), however many instances
//! wait for it: a 20-instance deploy downloads once, not 20 times. While the copy runs, its
//! progress (`rootfs: 40% (12.30MB/s)`) is the waiting items' step (`downloading`); a copy that
//! fails fails those items with LXD's words.
//!
//! Instances are then created from the fingerprint, which is recorded on each instance. A
//! deployment keeps to one image per cloud-config revision: once an instance of a revision has
//! been made, later instances of it (a scale-up, after the server's alias moved) are made from the
//! same fingerprint; within a job, the first host to pull a remote alias pins what it resolved to
//! and the other hosts pull that fingerprint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lxd::{ImageProtocol, ImageRef, RemoteImage};
use mosaic_db::models::cloud_configs::Revision;
use mosaic_db::models::instances::Instance;
use mosaic_types::cloud_configs::{ImageProtocol as Protocol, ImageServer};
use mosaic_types::jobs::JobStep;
use mosaic_types::{CloudConfigId, HostId, InstanceId};
use tokio::sync::OnceCell;

use super::Error;
use super::run::JobContext;
use crate::db;

/// Longest an image download may take before it is cancelled and its items fail.
const PULL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How often a running download's progress is read (and written for the items waiting on it).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A cloud-config revision.
type RevisionKey = (CloudConfigId, i32);

/// An image on a server, pulled onto a host: host, server URL, protocol, alias or fingerprint.
type PullKey = (HostId, String, Protocol, String);

/// One pull of one image onto one host, shared by every item of the job that needs it there.
#[derive(Debug, Default)]
struct Pull {
    /// The items waiting for it (their step shows the download).
    waiting: Mutex<Vec<InstanceId>>,
    /// The fingerprint the host now has, or why it has not (LXD's words).
    done: OnceCell<Result<String, String>>,
}

/// What one job knows about the images its instances are made from.
#[derive(Debug, Default)]
pub struct JobImages {
    /// Fingerprints the deployment's instances were already made from, per revision.
    recorded: HashMap<RevisionKey, String>,
    /// What a remote alias resolved to in this job, per revision (set by the first host's pull).
    pinned: Mutex<HashMap<RevisionKey, Arc<OnceCell<String>>>>,
    /// Pulls by host and image reference on the server.
    pulls: Mutex<HashMap<PullKey, Arc<Pull>>>,
}

impl JobImages {
    /// Starts from the fingerprints a deployment's instances were made from (oldest first: the
    /// first instance of a revision decides).
    pub fn new(recorded: Vec<(CloudConfigId, i32, String)>) -> Self {
        let mut by_revision = HashMap::new();
        for (cc, revision, fingerprint) in recorded {
            by_revision.entry((cc, revision)).or_insert(fingerprint);
        }
        JobImages { recorded: by_revision, ..JobImages::default() }
    }
}

/// The fingerprint to create `row` from, making sure its host has the image; `None` when the
/// image is on the hosts and the host could not be asked which fingerprint its alias names (LXD
/// then resolves the alias itself, and says so if it cannot).
pub async fn resolve(ctx: &JobContext, row: &Instance, revision: &Revision) -> Result<Option<String>, Error> {
    let key = (row.cloud_config_id, row.revision);
    let Some(server) = revision.image_server() else {
        // On the hosts: the image this deployment already uses, if this host has it; else what
        // the alias names here.
        if let Some(fingerprint) = ctx.job_images.recorded.get(&key)
            && let Some(found) = ctx.fingerprint(row.host_id, fingerprint).await
        {
            return Ok(Some(found));
        }
        return Ok(ctx.fingerprint(row.host_id, &revision.image).await);
    };
    let wanted = ctx.job_images.recorded.get(&key).cloned().or_else(|| fingerprint_ref(&revision.image));
    let fingerprint = match wanted {
        Some(fingerprint) => fingerprint,
        None => {
            // An alias: the first host to pull it pins what it names for the whole job.
            let cell = ctx
                .job_images
                .pinned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_default()
                .clone();
            let alias = ImageRef::Alias(revision.image.clone());
            cell.get_or_try_init(|| pull(ctx, row, &server, alias)).await?.clone()
        }
    };
    pull(ctx, row, &server, ImageRef::Fingerprint(fingerprint)).await.map(Some)
}

/// A reference that is a whole fingerprint (64 hex digits) names one image for good; anything
/// shorter may be an alias, and is resolved by the first pull.
fn fingerprint_ref(reference: &str) -> Option<String> {
    (reference.len() == 64 && reference.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| reference.to_lowercase())
}

/// Makes sure `row`'s host has the image `reference` of `server`, pulling it at most once per
/// host and job; returns its fingerprint.
async fn pull(
    ctx: &JobContext,
    row: &Instance,
    server: &ImageServer,
    reference: ImageRef,
) -> Result<String, Error> {
    let text = match &reference {
        ImageRef::Alias(a) => a.clone(),
        ImageRef::Fingerprint(f) => f.clone(),
    };
    let entry = ctx
        .job_images
        .pulls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((row.host_id, server.url.clone(), server.protocol, text))
        .or_default()
        .clone();
    entry.waiting.lock().unwrap_or_else(|e| e.into_inner()).push(row.id);
    let done = entry.done.get_or_init(|| copy(ctx, row.host_id, server, reference, &entry)).await;
    done.clone().map_err(Error::Refused)
}

/// Copies the image to the host (nothing to copy when it has the fingerprint already), writing
/// the download's progress for the items waiting on it while it runs.
async fn copy(
    ctx: &JobContext,
    host: HostId,
    server: &ImageServer,
    reference: ImageRef,
    pull: &Pull,
) -> Result<String, String> {
    let client = ctx.client(host).map_err(|e| e.to_string())?;
    if let ImageRef::Fingerprint(fingerprint) = &reference {
        match client.image_opt(fingerprint).await {
            Ok(Some(image)) => return Ok(image.fingerprint),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    let remote = remote_image(server, reference.clone())?;
    let what = format!("image {} from {}", reference_text(&reference), server.url);
    let op = client.copy_image_from(&remote).await.map_err(|e| format!("pulling {what}: {e}"))?;
    tracing::info!(job = %ctx.job.id, %host, image = %what, "pulling an image");
    let started = tokio::time::Instant::now();
    let mut shown: Option<String> = None;
    show_progress(ctx, pull, None).await;
    loop {
        match op.wait(PROGRESS_EVERY).await {
            Ok(finished) => {
                let named = finished.image_fingerprint().map(str::to_owned);
                return named
                    .or(match reference {
                        ImageRef::Fingerprint(f) => Some(f),
                        ImageRef::Alias(_) => None,
                    })
                    .ok_or_else(|| format!("pulling {what}: LXD did not say which image it pulled"));
            }
            Err(lxd::Error::OperationTimeout { .. }) => {}
            Err(e) => return Err(format!("pulling {what}: {e}")),
        }
        if started.elapsed() > PULL_TIMEOUT {
            // Best effort: the items fail either way, and LXD drops a cancelled download.
            let _ = op.cancel().await;
            return Err(format!("pulling {what}: not done after {} minutes", PULL_TIMEOUT.as_secs() / 60));
        }
        let now = op.refresh().await.ok().and_then(|m| m.progress()).map(|p| p.text);
        if now.is_some() && now != shown {
            show_progress(ctx, pull, now.as_deref()).await;
            shown = now;
        }
    }
}

/// Marks the items waiting on a pull as `downloading`, with LXD's progress text. Progress is for
/// people watching: a write that fails is logged, and the next one (a second later) catches up.
async fn show_progress(ctx: &JobContext, pull: &Pull, progress: Option<&str>) {
    let waiting = pull.waiting.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let claim = ctx.held.claim.clone();
    let progress = progress.map(str::to_owned);
    let written: Result<(), db::Error> = db::progress(&ctx.state.pool, move |conn| {
        Ok(claim.update_progress(conn, &waiting, JobStep::Downloading, progress.as_deref())?)
    })
    .await;
    match written {
        Ok(()) => ctx.state.jobs.changed(ctx.job.id),
        Err(e) => tracing::warn!(error = %e, job = %ctx.job.id, "cannot record download progress"),
    }
}

/// The LXD client's form of an image on a server.
fn remote_image(server: &ImageServer, reference: ImageRef) -> Result<RemoteImage, String> {
    let url = server.url.parse().map_err(|e| format!("image server {:?}: {e}", server.url))?;
    let protocol = match server.protocol {
        Protocol::Lxd => ImageProtocol::Lxd,
        Protocol::Simplestreams => ImageProtocol::SimpleStreams,
    };
    let mut remote = RemoteImage::new(url, protocol, reference);
    if let Some(pem) = &server.certificate {
        remote = remote.with_certificate(pem.clone());
    }
    remote.validate().map_err(|e| e.to_string())?;
    Ok(remote)
}

fn reference_text(reference: &ImageRef) -> &str {
    match reference {
        ImageRef::Alias(a) => a,
        ImageRef::Fingerprint(f) => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_fingerprint_is_taken_for_one() {
        let full = "938b7112325e26fae8bb6a6f7cce66a28b55f7dcc5315b8979955574c76ccbeb";
        assert_eq!(fingerprint_ref(full).as_deref(), Some(full));
        assert_eq!(fingerprint_ref(&full.to_uppercase()).as_deref(), Some(full));
        assert_eq!(fingerprint_ref("938b7112325e"), None, "a prefix is resolved by the pull");
        assert_eq!(fingerprint_ref("debian/12"), None);
    }

    #[test]
    fn the_first_recorded_image_of_a_revision_decides() {
        let cc = CloudConfigId::new();
        let images =
            JobImages::new(vec![(cc, 1, "aaa".into()), (cc, 1, "bbb".into()), (cc, 2, "ccc".into())]);
        assert_eq!(images.recorded.get(&(cc, 1)).map(String::as_str), Some("aaa"));
        assert_eq!(images.recorded.get(&(cc, 2)).map(String::as_str), Some("ccc"));
    }

    #[test]
    fn the_pull_request_names_the_server_protocol_reference_and_certificate() {
        let server = ImageServer {
            url: "https://127.0.0.1:18443".into(),
            protocol: Protocol::Simplestreams,
            certificate: Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into()),
        };
        let remote =
            remote_image(&server, ImageRef::Alias("mosaic/busybox".into())).unwrap_or_else(|e| panic!("{e}"));
        let body = serde_json::to_value(lxd::ImagesPost::pull(&remote).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_default();
        assert_eq!(body["source"]["mode"], "pull");
        assert_eq!(body["source"]["server"], "https://127.0.0.1:18443");
        assert_eq!(body["source"]["protocol"], "simplestreams");
        assert_eq!(body["source"]["alias"], "mosaic/busybox");
        assert!(body["source"]["certificate"].as_str().is_some_and(|c| c.contains("BEGIN CERTIFICATE")));
        let http =
            ImageServer { url: "http://127.0.0.1:1".into(), protocol: Protocol::Lxd, certificate: None };
        assert!(remote_image(&http, ImageRef::Alias("x".into())).is_err());
    }
}
