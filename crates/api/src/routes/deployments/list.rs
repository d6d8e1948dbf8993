//! `GET /api/v1/deployments`.

use actix_web::{get, web};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_types::deployments::Deployment;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists deployments by name with their cloud-configs, container counts and memory.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    responses((status = 200, description = "Every deployment, by name", body = Vec<Deployment>))
)]
#[get("/deployments")]
pub async fn list_deployments(
    _user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Deployment>>, ApiError> {
    let snapshots = state.cache.all();
    let all = db::run(&state.pool, move |conn| {
        let rows = Row::all(conn)?;
        super::to_wire(conn, rows, &snapshots)
    })
    .await?;
    Ok(web::Json(all))
}
