//! What a job does to one instance. Each step first looks at what LXD has, so running it again —
//! after a crash, or on a retry — finishes the work instead of repeating it.

use std::collections::BTreeMap;
use std::time::Duration;

use lxd::{InstanceName, InstanceSource, InstancesPost, StatusCode};
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::{Hold, JobItem};
use mosaic_types::instances::{Lifecycle, Readiness};
use mosaic_types::jobs::{JobKind, JobStep};

use super::Error;
use super::readiness::{self, Verdict};
use super::rotation;
use super::run::JobContext;
use super::userdata;
use crate::labels::{
    BASE_IMAGE_KEY, CLOUD_CONFIG_KEY, DEPLOYMENT_KEY, INSTANCE_KEY, JOB_KEY, MANAGED_KEY, REVISION_KEY,
};

/// The port the phone-home proxy listens on inside a container (its own loopback).
pub const PHONE_HOME_PORT: u16 = 8737;

/// How long to wait for LXD to create, start or delete one container.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(300);

/// What remains to do for an item once its LXD changes are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Nothing: the item is done.
    Done,
    /// Wait for cloud-init and record readiness (outside the per-host bound: waiting for a guest
    /// costs LXD nothing, and must not hold back other instances' changes).
    CheckReadiness {
        /// The fingerprint of the image the container was made from, when this job made it.
        image: Option<String>,
    },
}

/// What [`create`] did.
enum Created {
    /// The container was there already (made by an earlier run of the job).
    Before,
    /// Made now, from this image (its fingerprint, when the host could name it).
    Now { image: Option<String> },
}

/// Makes the job's LXD changes to one instance (under the per-host bound); the error is the
/// item's, in LXD's words where LXD spoke. Its span names the job, deployment, instance and
/// host, and a failure is logged inside it, so the log line of an LXD error says whose it was.
#[tracing::instrument(skip_all, err(Display, level = "warn"),
    fields(job = %ctx.job.id, deployment = %ctx.job.deployment_name, instance = %item.instance_id,
        name = %item.instance_name, host = %item.host_name))]
pub async fn run_item(ctx: &JobContext, item: &JobItem) -> Result<Then, Error> {
    let Some(row) = ctx.instances.get(&item.instance_id) else {
        // Already removed (a retried delete); nothing left to do.
        return if matches!(ctx.kind, JobKind::Delete | JobKind::Remove) {
            Ok(Then::Done)
        } else {
            Err(Error::Gone("the instance no longer exists".into()))
        };
    };
    let name = instance_name(row)?;
    let client = ctx.client(row.host_id)?;
    // The host's state readings wait while its LXD changes are made (not the readiness checks).
    let _changing = ctx.state.cache.changing(row.host_id);
    match ctx.kind {
        JobKind::Deploy => {
            let created = create(ctx, &client, row, &name).await?;
            if ctx.job.then_start { start(ctx, &client, row, &name, created).await } else { Ok(Then::Done) }
        }
        JobKind::Start => start(ctx, &client, row, &name, Created::Before).await,
        JobKind::Stop => stop(ctx, &client, row, &name).await.map(|()| Then::Done),
        JobKind::Delete | JobKind::Remove => delete(ctx, &client, row, &name).await.map(|()| Then::Done),
        JobKind::Restart => restart(ctx, &client, row, &name).await.map(|()| Then::Done),
        JobKind::Recreate | JobKind::Heal => recreate(ctx, &client, row, &name).await,
        // A rollout decides what to do with each instance itself (see `super::rollout`).
        JobKind::Rollout => Err(Error::Refused("a rollout works its instances itself".into())),
    }
}

/// A rollout's new instance: makes its container and starts it (readiness is checked after).
/// Idempotent like a deploy's: a container made by an earlier run is found and started.
#[tracing::instrument(skip_all, err(Display, level = "warn"),
    fields(job = %ctx.job.id, instance = %item.instance_id, name = %item.instance_name, host = %item.host_name))]
pub async fn bring_up(ctx: &JobContext, item: &JobItem) -> Result<Then, Error> {
    let row = ctx
        .instances
        .get(&item.instance_id)
        .ok_or_else(|| Error::Gone("the instance no longer exists".into()))?;
    let name = instance_name(row)?;
    let client = ctx.client(row.host_id)?;
    let _changing = ctx.state.cache.changing(row.host_id);
    let created = create(ctx, &client, row, &name).await?;
    start(ctx, &client, row, &name, created).await
}

/// A rollout's old instance (or a new one it gives up on): drained, stopped and deleted; its row
/// goes only once LXD confirms the container is gone.
#[tracing::instrument(skip_all, err(Display, level = "warn"),
    fields(job = %ctx.job.id, instance = %item.instance_id, name = %item.instance_name, host = %item.host_name))]
pub async fn take_down(ctx: &JobContext, item: &JobItem) -> Result<(), Error> {
    let Some(row) = ctx.instances.get(&item.instance_id) else { return Ok(()) };
    let name = instance_name(row)?;
    let client = ctx.client(row.host_id)?;
    let _changing = ctx.state.cache.changing(row.host_id);
    delete(ctx, &client, row, &name).await
}

/// Restarts the container (starts it if it was stopped).
async fn restart(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
) -> Result<(), Error> {
    if row.state != Lifecycle::Created {
        let why = row.last_error.as_deref().unwrap_or("it was not created");
        return Err(Error::Refused(format!("cannot restart {}: {why}", row.name)));
    }
    let timeout = ctx.state.settings.stop_timeout;
    let running = client.instance_opt(name).await?.is_some_and(|i| i.status_code == StatusCode::RUNNING);
    if running {
        // Out of every load balancer's rotation first: the restart drops no request.
        rotation::take_out(ctx, row, "restart").await?;
    }
    ctx.step(row.id, JobStep::Restarting);
    let restarted = async {
        let op = if running {
            client.restart_instance(name, Some(timeout)).await?
        } else {
            client.start_instance(name).await?
        };
        op.wait(timeout + OPERATION_TIMEOUT).await.map(drop)
    }
    .await;
    let id = row.id;
    if let Err(e) = restarted {
        // Back in rotation whatever LXD did: each load balancer admits the instance only while it
        // runs, is ready and passes its checks, so a failed restart does not keep a running
        // instance out for good.
        rotation::put_in(ctx, id, None).await?;
        return Err(e.into());
    }
    ctx.held.write(Hold::Shared, move |c| Instance::started(c, id)).await?;
    rotation::put_in(ctx, id, None).await.map(drop)
}

/// Replaces the container: deletes it and makes it again at the revision the deployment pins for
/// its cloud-config, then starts it (readiness is checked after, like any first start).
///
/// Run again after a crash, it carries on: the row is renewed (pending, at the new revision)
/// before anything is deleted, and a container this very job made (its job key) is the new one,
/// not the one to replace.
async fn recreate(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
) -> Result<Then, Error> {
    let revision = *ctx.pinned.get(&row.cloud_config_id).ok_or_else(|| {
        Error::Refused(format!("{} is no longer made from one of the deployment's cloud-configs", row.name))
    })?;
    let id = row.id;
    if row.state == Lifecycle::Created {
        // Out of every load balancer's rotation before the container goes: the replacement drops
        // no request (the new container is admitted once ready and healthy).
        rotation::take_out(ctx, row, "replace").await?;
    }
    if row.state != Lifecycle::Pending || row.revision != revision {
        ctx.held.write(Hold::Shared, move |c| Instance::renew(c, id, revision)).await?;
    }
    let renewed = Instance {
        state: Lifecycle::Pending,
        revision,
        readiness: mosaic_types::instances::Readiness::Pending,
        ..row.clone()
    };
    let made_here = match client.instance_opt(name).await? {
        Some(existing) if !is_ours(&existing, row) => {
            return Err(Error::Refused(format!(
                "a container named {} that is not this instance's is in the way",
                row.name
            )));
        }
        Some(existing) if existing.config.get(JOB_KEY) == Some(&ctx.job.id.to_string()) => true,
        Some(existing) => {
            ctx.step(row.id, JobStep::Deleting);
            if existing.status_code != StatusCode::STOPPED {
                client.kill_instance(name, OPERATION_TIMEOUT).await?;
            }
            client.delete_instance(name).await?.wait(OPERATION_TIMEOUT).await?;
            false
        }
        None => false,
    };
    let created = if made_here { Created::Before } else { create(ctx, client, &renewed, name).await? };
    let created = match created {
        // Made by this job before a crash: started below like a new one.
        Created::Before => Created::Now { image: None },
        now => now,
    };
    start(ctx, client, &renewed, name, created).await
}

fn instance_name(row: &Instance) -> Result<InstanceName, Error> {
    InstanceName::parse(&row.name).map_err(|e| Error::Refused(e.to_string()))
}

/// Waits for cloud-init's verdict on an instance (the caller records it with the item's outcome).
#[tracing::instrument(skip_all, err(Display, level = "warn"),
    fields(job = %ctx.job.id, deployment = %ctx.job.deployment_name, instance = %item.instance_id,
        name = %item.instance_name, host = %item.host_name))]
pub async fn check_readiness(
    ctx: &JobContext,
    item: &JobItem,
    image: Option<String>,
) -> Result<Verdict, Error> {
    let Some(row) = ctx.instances.get(&item.instance_id) else {
        return Err(Error::Gone("the instance no longer exists".into()));
    };
    let name = instance_name(row)?;
    let client = ctx.client(row.host_id)?;
    ctx.step(row.id, JobStep::Checking);
    // The image it was made from (known if this job made it, else `volatile.base_image`): once
    // it is known to have no cloud-init, there is nothing to ask.
    let image = match image {
        Some(image) => Some(image),
        None => client.instance_config(&name).await.ok().and_then(|i| i.config.get(BASE_IMAGE_KEY).cloned()),
    };
    let known_without = match &image {
        Some(fingerprint) => {
            let facts = &ctx.state.image_facts;
            ctx.image_facts.has_cloud_init(facts, &client, row.host_id, fingerprint, &name).await
                == Some(false)
        }
        None => false,
    };
    Ok(if known_without {
        (Readiness::Unknown, Some(readiness::NO_CLOUD_INIT.to_owned()))
    } else {
        readiness::check(&client, &name, ctx.state.settings.readiness_timeout).await
    })
}

/// Creates the container. A job that starts it next records both at once, after the start (a
/// run that dies in between finds the container by its instance key and carries on).
async fn create(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
) -> Result<Created, Error> {
    if row.state == Lifecycle::Created {
        return Ok(Created::Before);
    }
    let outcome = create_in_lxd(ctx, client, row, name).await;
    let id = row.id;
    match outcome {
        Ok(image) if ctx.starts_what_it_creates() => Ok(Created::Now { image }),
        Ok(image) => {
            let recorded = image.clone();
            ctx.held.write(Hold::Shared, move |c| record_created(c, id, recorded.as_deref())).await?;
            Ok(Created::Now { image })
        }
        Err(e) => {
            let message = e.to_string();
            ctx.held
                .write(Hold::Shared, move |c| Instance::set_state(c, id, Lifecycle::Failed, Some(&message)))
                .await?;
            Err(e)
        }
    }
}

/// Records that the instance exists in LXD, made from `image`.
fn record_created(
    conn: &mut diesel::PgConnection,
    id: mosaic_types::InstanceId,
    image: Option<&str>,
) -> diesel::QueryResult<()> {
    Instance::set_state(conn, id, Lifecycle::Created, None)?;
    match image {
        Some(fingerprint) => Instance::set_image(conn, id, fingerprint),
        None => Ok(()),
    }
}

/// Makes the container from the image the cloud-config names, resolved to a fingerprint (and
/// pulled from its image server when the host lacks it) once per job and host, and kept per
/// deployment (see [`super::images`]); on a cluster, on the member it was placed on. Returns the
/// fingerprint.
async fn create_in_lxd(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
) -> Result<Option<String>, Error> {
    let revision = ctx
        .revisions
        .get(&(row.cloud_config_id, row.revision))
        .ok_or_else(|| Error::Gone("the cloud-config revision no longer exists".into()))?;
    let phone_home = row
        .phone_home_secret
        .as_ref()
        .map(|secret| format!("http://127.0.0.1:{PHONE_HOME_PORT}/api/phone-home/{}/{secret}", row.id));
    let user_data = userdata::render(&revision.user_data, phone_home.as_deref()).map_err(Error::Refused)?;
    let image = super::images::resolve(ctx, row, revision).await?;
    ctx.step(row.id, JobStep::Creating);
    let source = match &image {
        Some(fingerprint) => InstanceSource::image_fingerprint(fingerprint),
        None => image_source(&revision.image),
    };
    let mut post = InstancesPost::new(name.clone(), source).profiles(row.profile_names());
    for (key, value) in revision.config_map() {
        post = post.config(key, value);
    }
    post = post
        .config("user.user-data", user_data)
        .config(MANAGED_KEY, "true")
        .config(DEPLOYMENT_KEY, row.deployment_id.to_string())
        .config(INSTANCE_KEY, row.id.to_string())
        .config(CLOUD_CONFIG_KEY, row.cloud_config_id.to_string())
        .config(REVISION_KEY, row.revision.to_string())
        .config(JOB_KEY, ctx.job.id.to_string());
    if phone_home.is_some() {
        let device: BTreeMap<String, String> = [
            ("type", "proxy".to_owned()),
            ("listen", format!("tcp:127.0.0.1:{PHONE_HOME_PORT}")),
            ("connect", format!("tcp:127.0.0.1:{}", ctx.state.phone_home_address.port())),
            ("bind", "instance".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        post = post.device("mosaic-phone-home", device);
    }
    let asked = match &row.location {
        Some(member) => client.create_instance_on(&post, member).await,
        None => client.create_instance(&post).await,
    };
    let created = match asked {
        Ok(op) => op.wait(OPERATION_TIMEOUT).await.map(drop),
        Err(e) => Err(e),
    };
    match created {
        Ok(()) => Ok(image),
        Err(e) => {
            // A re-run after a crash finds the container it made the first time: that is success.
            match client.instance_opt(name).await {
                Ok(Some(existing)) if is_ours(&existing, row) => {
                    Ok(existing.config.get(BASE_IMAGE_KEY).cloned())
                }
                _ => Err(e.into()),
            }
        }
    }
}

/// Whether an LXD container is this instance's own (its instance key), not just of its name.
fn is_ours(container: &lxd::Instance, row: &Instance) -> bool {
    container.config.get(INSTANCE_KEY) == Some(&row.id.to_string())
}

/// An image reference that looks like a fingerprint (12+ hex digits) is one; anything else is an
/// alias.
fn image_source(image: &str) -> InstanceSource {
    if image.len() >= 12 && image.chars().all(|c| c.is_ascii_hexdigit()) {
        InstanceSource::image_fingerprint(image)
    } else {
        InstanceSource::image_alias(image)
    }
}

/// Starts the container; `created` says whether this job just made it (the row read at job start
/// is then out of date, and its creation is recorded with the start).
async fn start(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
    created: Created,
) -> Result<Then, Error> {
    let (just_created, image) = match created {
        Created::Now { image } => (true, image),
        Created::Before => (false, None),
    };
    if row.state != Lifecycle::Created && !just_created {
        let why = row.last_error.as_deref().unwrap_or("it was not created");
        return Err(Error::Refused(format!("cannot start {}: {why}", row.name)));
    }
    ctx.step(row.id, JobStep::Starting);
    let started = match client.start_instance(name).await {
        Ok(op) => op.wait(OPERATION_TIMEOUT).await.map(drop),
        Err(e) => Err(e),
    };
    let id = row.id;
    if let Err(e) = started {
        // Starting a running container counts as success.
        let running = client
            .instance_opt(name)
            .await
            .ok()
            .flatten()
            .is_some_and(|i| i.status_code == StatusCode::RUNNING);
        if !running {
            if just_created {
                let recorded = image.clone();
                ctx.held.write(Hold::Shared, move |c| record_created(c, id, recorded.as_deref())).await?;
            }
            return Err(e.into());
        }
    }
    let recorded = image.clone();
    ctx.held
        .write(Hold::Shared, move |c| {
            if just_created {
                record_created(c, id, recorded.as_deref())?;
            }
            Instance::started(c, id)
        })
        .await?;
    // Started again: back into rotation (admitted once ready and healthy).
    rotation::put_in(ctx, id, None).await?;
    Ok(if row.readiness == Readiness::Pending { Then::CheckReadiness { image } } else { Then::Done })
}

async fn stop(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
) -> Result<(), Error> {
    if row.state != Lifecycle::Created {
        return Ok(());
    }
    // Out of every load balancer's rotation first: no request is sent to a stopping instance.
    rotation::take_out(ctx, row, "stop").await?;
    ctx.step(row.id, JobStep::Stopping);
    let timeout = ctx.state.settings.stop_timeout;
    let clean = match client.stop_instance(name, Some(timeout)).await {
        Ok(op) => op.wait(timeout + Duration::from_secs(10)).await.map(drop),
        Err(e) => Err(e),
    };
    if clean.is_err() && !client.is_stopped(name).await? {
        // The clean shutdown did not finish in time: kill it.
        client.kill_instance(name, OPERATION_TIMEOUT).await?;
    }
    let id = row.id;
    ctx.held.write(Hold::Shared, move |c| Instance::stopped(c, id)).await
}

async fn delete(
    ctx: &JobContext,
    client: &lxd::Client,
    row: &Instance,
    name: &InstanceName,
) -> Result<(), Error> {
    if row.state == Lifecycle::Created {
        let reason = match ctx.kind {
            JobKind::Remove => "remove",
            JobKind::Rollout => "replace",
            _ => "delete",
        };
        rotation::take_out(ctx, row, reason).await?;
    }
    ctx.step(row.id, JobStep::Deleting);
    let id = row.id;
    ctx.held.write(Hold::Shared, move |c| Instance::set_state(c, id, Lifecycle::Deleting, None)).await?;
    let existing = match client.instance_opt(name).await {
        Ok(existing) => existing,
        Err(e) => {
            let message = e.to_string();
            ctx.held
                .write(Hold::Shared, move |c| Instance::set_state(c, id, Lifecycle::Deleting, Some(&message)))
                .await?;
            return Err(e.into());
        }
    };
    match existing {
        // Never delete a container that is not this instance's (a name taken by someone else).
        Some(other) if !is_ours(&other, row) => {
            tracing::warn!(name = %row.name, "a container of this name is not Mosaic's; leaving it");
        }
        Some(ours) => {
            if ours.status_code != StatusCode::STOPPED {
                client.kill_instance(name, OPERATION_TIMEOUT).await?;
            }
            let op = client.delete_instance(name).await?;
            if let Err(e) = op.wait(OPERATION_TIMEOUT).await
                && client.instance_opt(name).await?.is_some()
            {
                return Err(e.into());
            }
        }
        None => {}
    }
    ctx.held.write(Hold::Shared, move |c| Instance::delete(c, id)).await
}
