//! `GET /api/v1/cloud-configs/{id}/diff`.

use std::collections::BTreeMap;

use actix_web::{get, web};
use mosaic_types::CloudConfigId;
use mosaic_types::cloud_configs::RevisionDiff;
use serde::Deserialize;
use similar::TextDiff;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Which two revisions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Between {
    /// The older revision.
    #[param(minimum = 1)]
    from: i32,
    /// The newer revision.
    #[param(minimum = 1)]
    to: i32,
}

/// Compares two revisions: a unified diff of the user-data, and what changed in image, image
/// server and keys.
#[utoipa::path(
    tag = "cloud-configs",
    security(("bearer" = [])),
    params(("id" = CloudConfigId, Path, description = "The cloud-config"), Between),
    responses(
        (status = 200, description = "The differences", body = RevisionDiff),
        (status = 404, description = "No such cloud-config or revision", body = mosaic_types::ErrorBody),
    )
)]
#[get("/cloud-configs/{id}/diff")]
pub async fn diff_cloud_config_revisions(
    _user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<CloudConfigId>,
    between: web::Query<Between>,
) -> Result<web::Json<RevisionDiff>, ApiError> {
    let id = id.into_inner();
    let Between { from, to } = between.into_inner();
    let (a, b) = db::run(&state.pool, move |conn| {
        super::find(conn, id, false)?;
        Ok::<_, ApiError>((super::find_revision(conn, id, from)?, super::find_revision(conn, id, to)?))
    })
    .await?;
    let user_data = TextDiff::from_lines(&a.user_data, &b.user_data)
        .unified_diff()
        .context_radius(3)
        .header(&format!("revision {from}"), &format!("revision {to}"))
        .to_string();
    let (old, new) = (a.config_map(), b.config_map());
    let mut config = BTreeMap::new();
    for key in old.keys().chain(new.keys()) {
        let (o, n) = (old.get(key).cloned(), new.get(key).cloned());
        if o != n {
            config.insert(key.clone(), [o, n]);
        }
    }
    let image = (a.image != b.image).then(|| [a.image.clone(), b.image.clone()]);
    let (server_a, server_b) = (a.image_server(), b.image_server());
    let image_server = (server_a != server_b).then_some([server_a, server_b]);
    Ok(web::Json(RevisionDiff { from, to, user_data, image, image_server, config }))
}
