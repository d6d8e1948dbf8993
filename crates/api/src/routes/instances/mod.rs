//! `/api/v1/instances`: the containers of every deployment, one at a time.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse};
use diesel::PgConnection;
use mosaic_db::models::cloud_configs::CloudConfig;
use mosaic_db::models::instances::Instance as Row;
use mosaic_types::InstanceId;
use mosaic_types::instances::Instance;
use mosaic_types::jobs::JobKind;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::overview::{self, Snapshots};
use crate::state::AppState;

pub mod actions;
pub mod get;
pub mod list;
pub mod log;

/// Registers the instance routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_instances)
        .service(get::get_instance)
        .service(log::get_instance_cloud_init_log)
        .service(actions::start_instance)
        .service(actions::stop_instance)
        .service(actions::restart_instance)
        .service(actions::recreate_instance);
}

/// Loads an instance row or answers 404.
pub(crate) fn find(conn: &mut PgConnection, id: InstanceId) -> Result<Row, ApiError> {
    Row::find(conn, id).or_not_found("instance_not_found", || format!("no instance with id {id}"))
}

/// Instances in wire form, with their cloud-configs' names and what the host cache says.
pub(crate) fn to_wire(
    conn: &mut PgConnection,
    rows: &[Row],
    snapshots: &Snapshots,
) -> Result<Vec<Instance>, ApiError> {
    let ids: Vec<_> = rows.iter().map(|r| r.cloud_config_id).collect::<HashSet<_>>().into_iter().collect();
    let names: HashMap<_, _> = CloudConfig::names(conn, &ids)?.into_iter().collect();
    Ok(rows
        .iter()
        .map(|r| overview::instance(r, names.get(&r.cloud_config_id).cloned().unwrap_or_default(), snapshots))
        .collect())
}

/// Queues a job of `kind` on one instance (within its deployment, one job at a time) and answers
/// 202.
pub(crate) async fn queue(
    state: &AppState,
    req: &HttpRequest,
    user: &AuthUser,
    id: InstanceId,
    kind: JobKind,
) -> Result<HttpResponse, ApiError> {
    let row = db::run(&state.pool, move |conn| find(conn, id)).await?;
    let chosen = HashSet::from([id]);
    crate::routes::deployments::queue(state, req, user, row.deployment_id, kind, Some(chosen)).await
}
