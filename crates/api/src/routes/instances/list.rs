//! `GET /api/v1/instances`.

use actix_web::{get, web};
use mosaic_db::models::instances::{Instance as Row, InstanceFilter};
use mosaic_types::instances::{Instance, InstanceQuery};
use mosaic_types::page::Page;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::overview;
use crate::paging;
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
    let limit = paging::limit(query.limit)?;
    if query.revision.is_some_and(|r| r < 1) {
        return Err(ApiError::validation("revision must be 1 or more (revisions count from 1)"));
    }
    let after = match paging::after::<2>(query.cursor.as_deref())? {
        Some([name, id]) => Some((name, paging::parse(&id)?)),
        None => None,
    };
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
        let asked = limit;
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
        let page = paging::finish(kept, asked, |r| paging::encode(&[&r.name, &r.id.to_string()]));
        let items = super::to_wire(conn, &page.items, &snapshots)?;
        Ok::<_, ApiError>(Page { items, next_cursor: page.next_cursor })
    })
    .await?;
    Ok(web::Json(page))
}
