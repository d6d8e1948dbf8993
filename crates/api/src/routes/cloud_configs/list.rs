//! `GET /api/v1/cloud-configs`.

use actix_web::{get, web};
use mosaic_db::models::cloud_configs::CloudConfig as Row;
use mosaic_types::cloud_configs::CloudConfig;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Search filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Search {
    /// Only this namespace (exact).
    namespace: Option<String>,
    /// Text to find in `namespace/name` or the description (case-insensitive).
    q: Option<String>,
}

/// Lists cloud-configs by namespace and name, optionally filtered.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(Search),
    responses((status = 200, description = "Matching cloud-configs with their current revision", body = Vec<CloudConfig>))
)]
#[get("/cloud-configs")]
pub async fn list_cloud_configs(
    _user: AuthUser,
    state: web::Data<AppState>,
    search: web::Query<Search>,
) -> Result<web::Json<Vec<CloudConfig>>, ApiError> {
    let Search { namespace, q } = search.into_inner();
    for (what, value) in [("q", &q), ("namespace", &namespace)] {
        if let Some(v) = value {
            mosaic_types::validate::max_len(what, v, 200).map_err(ApiError::validation)?;
        }
    }
    let found = db::run(&state.pool, move |conn| {
        let rows = Row::search(conn, namespace.as_deref(), q.as_deref().filter(|q| !q.is_empty()))?;
        super::to_wire(conn, rows)
    })
    .await?;
    Ok(web::Json(found))
}
