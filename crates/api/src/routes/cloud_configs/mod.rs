//! `/api/v1/cloud-configs`: cloud-init templates with revisions.

use std::collections::HashMap;

use diesel::PgConnection;
use mosaic_db::models::cloud_configs::{CloudConfig as Row, Revision as RevisionRow};
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::{CloudConfig, DeploymentRef, Revision};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::QueryResultExt;
use crate::error::ApiError;

pub mod create;
pub mod delete;
pub mod diff;
pub mod get;
pub mod get_revision;
pub mod list;
pub mod list_revisions;
pub mod restore;
pub mod update;

/// Registers the cloud-config routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_cloud_configs)
        .service(create::create_cloud_config)
        .service(get::get_cloud_config)
        .service(update::update_cloud_config)
        .service(delete::delete_cloud_config)
        .service(list_revisions::list_cloud_config_revisions)
        .service(get_revision::get_cloud_config_revision)
        .service(diff::diff_cloud_config_revisions)
        .service(restore::restore_cloud_config_revision);
}

/// Loads a cloud-config (optionally locked for update) or answers 404.
pub(crate) fn find(conn: &mut PgConnection, id: CloudConfigId, lock: bool) -> Result<Row, ApiError> {
    Row::find(conn, id, lock)
        .or_not_found("cloud_config_not_found", || format!("no cloud-config with id {id}"))
}

/// Loads one revision or answers 404.
pub(crate) fn find_revision(
    conn: &mut PgConnection,
    id: CloudConfigId,
    revision: i32,
) -> Result<RevisionRow, ApiError> {
    RevisionRow::find(conn, id, revision)
        .or_not_found("revision_not_found", || format!("cloud-config {id} has no revision {revision}"))
}

/// Builds the wire form of cloud-configs with their current revisions and users.
pub(crate) fn to_wire(
    conn: &mut PgConnection,
    rows: Vec<(Row, RevisionRow)>,
) -> Result<Vec<CloudConfig>, ApiError> {
    let ids: Vec<CloudConfigId> = rows.iter().map(|(c, _)| c.id).collect();
    let mut used: HashMap<CloudConfigId, Vec<DeploymentRef>> = HashMap::new();
    for (cc, id, name) in Row::used_by(conn, &ids)? {
        used.entry(cc).or_default().push(DeploymentRef { id, name });
    }
    Ok(rows
        .into_iter()
        .map(|(c, r)| CloudConfig {
            config: r.config_map(),
            image_server: r.image_server(),
            used_by: used.remove(&c.id).unwrap_or_default(),
            id: c.id,
            namespace: c.namespace,
            name: c.name,
            description: c.description,
            revision: c.current_revision,
            user_data: r.user_data,
            image: r.image,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
        .collect())
}

/// Loads one cloud-config in wire form.
pub(crate) fn load(conn: &mut PgConnection, id: CloudConfigId) -> Result<CloudConfig, ApiError> {
    let row = find(conn, id, false)?;
    let revision = find_revision(conn, id, row.current_revision)?;
    to_wire(conn, vec![(row, revision)])?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("cloud-config {id} vanished while it was read").into())
}

/// The wire form of a revision.
pub(crate) fn revision_to_wire(r: RevisionRow) -> Revision {
    Revision {
        config: r.config_map(),
        image_server: r.image_server(),
        revision: r.revision,
        user_data: r.user_data,
        image: r.image,
        author: r.author_name,
        created_at: r.created_at,
    }
}

/// The 409 for a taken `namespace/name`.
pub(crate) fn name_taken(namespace: &str, name: &str) -> impl FnOnce() -> String {
    let taken = format!("a cloud-config named {namespace}/{name} already exists");
    move || taken
}
