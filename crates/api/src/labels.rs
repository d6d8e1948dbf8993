//! The config keys Mosaic puts on every container it makes, so LXD alone can tell whose a
//! container is: listing by [`MANAGED_KEY`] finds Mosaic's containers on a host, and a container
//! is acted on only when its [`INSTANCE_KEY`] is the instance's own (a container of the right name
//! but someone else's is left alone).

/// Present (`true`) on every container Mosaic made.
pub const MANAGED_KEY: &str = "user.mosaic.managed";
/// The deployment a container belongs to.
pub const DEPLOYMENT_KEY: &str = "user.mosaic.deployment";
/// The instance ID of a container.
pub const INSTANCE_KEY: &str = "user.mosaic.instance";
/// LXD's own key naming the fingerprint of the image an instance was created from.
pub const BASE_IMAGE_KEY: &str = "volatile.base_image";
/// The cloud-config a container was made from (lets an orphan be adopted into the right member).
pub const CLOUD_CONFIG_KEY: &str = "user.mosaic.cloud-config";
/// The revision of that cloud-config.
pub const REVISION_KEY: &str = "user.mosaic.revision";
/// The job that made the container: a recreate run again after a crash tells the container it
/// made (carry on) from the one it replaces (delete it first).
pub const JOB_KEY: &str = "user.mosaic.job";
