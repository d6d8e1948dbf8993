//! `GET /api/v1/instances/{id}/cloud-init-log`.

use actix_web::{get, web};
use lxd::InstanceName;
use mosaic_db::models::hosts::Host;
use mosaic_types::InstanceId;
use mosaic_types::instances::{CloudInitLog, LogQuery};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// The log cloud-init keeps of what a cloud-config's commands printed.
const LOG_PATH: &str = "/var/log/cloud-init-output.log";
/// Bytes of the log's end returned when the caller does not say.
const DEFAULT_BYTES: u32 = 64 * 1024;

/// The end of the instance's `/var/log/cloud-init-output.log` (what its cloud-config's commands
/// printed), read through LXD's file API without a shell: how an operator sees why a cloud-config
/// failed. At most `max_bytes` of the log's end are returned, however large the guest made it.
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(("id" = InstanceId, Path, description = "The instance"), LogQuery),
    responses(
        (status = 200, description = "The log's end", body = CloudInitLog),
        (status = 404, description = "No such instance, or it has no cloud-init log (yet)", body = mosaic_types::ErrorBody),
        (status = 503, description = "Its host does not answer", body = mosaic_types::ErrorBody),
    )
)]
#[get("/instances/{id}/cloud-init-log")]
pub async fn get_instance_cloud_init_log(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<InstanceId>,
    query: web::Query<LogQuery>,
) -> Result<web::Json<CloudInitLog>, ApiError> {
    let id = id.into_inner();
    let max = query.max_bytes.unwrap_or(DEFAULT_BYTES);
    if !(1..=1_048_576).contains(&max) {
        return Err(ApiError::validation("max_bytes must be 1 to 1048576"));
    }
    let (row, host) = db::run(&state.pool, move |conn| {
        let row = super::find(conn, id)?;
        let host = Host::find(conn, row.host_id)?;
        Ok::<_, ApiError>((row, host))
    })
    .await?;
    let name = InstanceName::parse(&row.name).map_err(|e| ApiError::validation(e.to_string()))?;
    let client = state.hosts.get(&host, &state.identity)?;
    let read = tokio::time::timeout(
        state.settings.lxd_probe_timeout * 4,
        client.read_file_tail(&name, LOG_PATH, max as usize),
    )
    .await
    .map_err(|_| ApiError::Unavailable {
        code: "host_offline",
        message: format!("host {} did not answer in time", host.name),
    })?;
    match read {
        Ok(tail) => {
            Ok(web::Json(CloudInitLog { content: tail.text(), truncated: tail.truncated, size: tail.size }))
        }
        Err(e) if e.is_not_found() => Err(ApiError::not_found(
            "log_not_found",
            format!("{} has no {LOG_PATH} (its image has no cloud-init, or it has not started)", row.name),
        )),
        Err(e) => Err(crate::routes::hosts::offline_error(&host, e)),
    }
}
