//! `GET /api/v1/instances`.

use actix_web::{get, web};
use base64::Engine;
use mosaic_db::models::instances::{Instance as Row, InstanceFilter};
use mosaic_types::InstanceId;
use mosaic_types::instances::{Instance, InstanceQuery};
use mosaic_types::page::{DEFAULT_LIMIT, MAX_LIMIT, Page};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::overview;
use crate::state::AppState;

/// Lists instances by name (then ID), a page at a time, filtered by deployment, host,
/// cloud-config, revision, status (as the host cache last saw it) or readiness. A token limited
/// to deployments sees only theirs.
#[utoipa::path(
    tag = "instances",
    security(("bearer" = [])),
    params(InstanceQuery),
    responses((status = 200, description = "A page of instances", body = Page<Instance>))
)]
#[get("/instances")]
pub async fn list_instances(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<InstanceQuery>,
) -> Result<web::Json<Page<Instance>>, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    if query.revision.is_some_and(|r| r < 1) {
        return Err(ApiError::validation("revision must be 1 or more (revisions count from 1)"));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    if let (Some(wanted), Some(mine)) = (query.deployment_id, &user.deployments)
        && !mine.contains(&wanted)
    {
        return Err(ApiError::Forbidden("this token may act only on its deployments".into()));
    }
    let filter = InstanceFilter {
        deployment: query.deployment_id,
        host: query.host_id,
        cloud_config: query.cloud_config_id,
        revision: query.revision,
        readiness: query.readiness,
    };
    let (status, scope) = (query.status, user.deployments);
    let snapshots = state.cache.all();
    let page = db::run(&state.pool, move |conn| {
        // Status and the token's scope are not columns: read on until the page is full, and one
        // more, to know whether there is a next page.
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let batch = limit.max(50) + 1;
        let mut kept: Vec<Row> = Vec::with_capacity(limit + 1);
        let mut after = after;
        loop {
            let rows = Row::page(
                conn,
                &filter,
                after.as_ref().map(|(n, i)| (n.as_str(), *i)),
                i64::try_from(batch).unwrap_or(i64::MAX),
            )?;
            let exhausted = rows.len() < batch;
            for row in rows {
                after = Some((row.name.clone(), row.id));
                let visible = scope.as_ref().is_none_or(|ids| ids.contains(&row.deployment_id));
                if visible && status.is_none_or(|s| overview::status_of(&row, &snapshots).0 == s) {
                    kept.push(row);
                    if kept.len() > limit {
                        break;
                    }
                }
            }
            if kept.len() > limit || exhausted {
                break;
            }
        }
        let more = kept.len() > limit;
        kept.truncate(limit);
        let next = if more { kept.last().map(|r| encode_cursor(&r.name, r.id)) } else { None };
        let items = super::to_wire(conn, &kept, &snapshots)?;
        Ok::<_, ApiError>(Page { items, next_cursor: next })
    })
    .await?;
    Ok(web::Json(page))
}

/// A cursor: where the previous page ended (name and ID), opaque to the caller.
fn encode_cursor(name: &str, id: InstanceId) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{id}:{name}"))
}

fn decode_cursor(text: &str) -> Result<(String, InstanceId), ApiError> {
    let bad = || ApiError::validation("cursor is not one this server gave out");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (id, name) = text.split_once(':').ok_or_else(bad)?;
    Ok((name.to_owned(), id.parse().map_err(|_| bad())?))
}
