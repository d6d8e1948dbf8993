//! `GET /api/v1/instances/{id}`.

use actix_web::{get, web};
use mosaic_types::InstanceId;
use mosaic_types::instances::Instance;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Shows one instance: its bookkeeping, what LXD last said about it (from the host cache) and
/// whether its cloud-config applied.
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(("id" = InstanceId, Path, description = "The instance")),
    responses(
        (status = 200, description = "The instance", body = Instance),
        (status = 404, description = "No such instance", body = mosaic_types::ErrorBody),
    )
)]
#[get("/instances/{id}")]
pub async fn get_instance(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<InstanceId>,
) -> Result<web::Json<Instance>, ApiError> {
    let id = id.into_inner();
    let snapshots = state.cache.all();
    let mut wire = db::run(&state.pool, move |conn| {
        let row = super::find(conn, id)?;
        super::to_wire(conn, std::slice::from_ref(&row), &snapshots)
    })
    .await?;
    wire.pop()
        .map(web::Json)
        .ok_or_else(|| anyhow::anyhow!("instance {id} vanished while it was read").into())
}
