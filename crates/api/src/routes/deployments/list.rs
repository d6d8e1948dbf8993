//! `GET /api/v1/deployments`.

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
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
pub async fn list_deployments(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // A token limited to named deployments sees only those (and is not served the shared memo).
    if let Some(mine) = user.deployments {
        let snapshots = super::seen(&state);
        let some = db::run(&state.pool, move |conn| {
            let rows = Row::all(conn)?.into_iter().filter(|d| mine.contains(&d.id)).collect();
            super::to_wire(conn, rows, &snapshots)
        })
        .await?;
        return Ok(HttpResponse::Ok().json(some));
    }
    let key = state.overview.key(&state);
    let body = match state.overview.get(key) {
        Some(body) => body,
        None => {
            let snapshots = super::seen(&state);
            let all = db::run(&state.pool, move |conn| {
                let rows = Row::all(conn)?;
                super::to_wire(conn, rows, &snapshots)
            })
            .await?;
            let body = Bytes::from(serde_json::to_vec(&all).map_err(anyhow::Error::from)?);
            state.overview.put(key, body.clone());
            body
        }
    };
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}
