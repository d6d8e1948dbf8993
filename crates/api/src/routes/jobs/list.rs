//! `GET /api/v1/jobs`, and the page reading `GET /api/v1/deployments/{id}/jobs` shares.

use std::collections::HashMap;

use actix_web::{get, web};
use diesel::PgConnection;
use mosaic_db::models::jobs::{Job as Row, JobFilter};
use mosaic_types::jobs::{Job, JobQuery};
use mosaic_types::page::Page;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::jobs;
use crate::paging;
use crate::state::AppState;

/// Lists jobs, newest first, a page at a time, optionally only one deployment's or one kind. A
/// token limited to deployments sees only their jobs.
#[utoipa::path(
    tag = "jobs",
    security(("bearer" = [])),
    params(JobQuery),
    responses(
        (status = 200, description = "A page of jobs, newest first", body = Page<Job>),
        (status = 400, description = "A bad limit or cursor", body = mosaic_types::ErrorBody),
    )
)]
#[get("/jobs")]
pub async fn list_jobs(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<JobQuery>,
) -> Result<web::Json<Page<Job>>, ApiError> {
    let JobQuery { deployment_id, kind, limit, cursor } = query.into_inner();
    let limit = paging::limit(limit)?;
    let before = before(cursor.as_deref())?;
    let scope = user.deployments;
    let page = db::run(&state.pool, move |conn| {
        let filter = JobFilter { deployment: deployment_id, only: scope.as_deref(), kind };
        page_of(conn, &filter, before, limit)
    })
    .await?;
    Ok(web::Json(page))
}

/// Where a newest-first page of jobs continues: the last job's creation time and ID.
pub(crate) fn before(
    cursor: Option<&str>,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, mosaic_types::JobId)>, ApiError> {
    match paging::after::<2>(cursor)? {
        Some([at, id]) => Ok(Some((paging::parse(&at)?, paging::parse(&id)?))),
        None => Ok(None),
    }
}

/// One page of jobs in wire form, with their items (read for the whole page at once).
pub(crate) fn page_of(
    conn: &mut PgConnection,
    filter: &JobFilter<'_>,
    before: Option<(chrono::DateTime<chrono::Utc>, mosaic_types::JobId)>,
    limit: i64,
) -> Result<Page<Job>, ApiError> {
    let rows = Row::page(conn, filter, before, limit + 1)?;
    let page =
        paging::finish(rows, limit, |j| paging::encode(&[&paging::time(&j.created_at), &j.id.to_string()]));
    let ids: Vec<_> = page.items.iter().map(|j| j.id).collect();
    let mut items: HashMap<_, Vec<_>> = HashMap::new();
    for item in Row::items_of(conn, &ids)? {
        items.entry(item.job_id).or_default().push(item);
    }
    let mut page = paging::map(page, |job| {
        let mine = items.remove(&job.id).unwrap_or_default();
        jobs::to_wire(job, mine)
    });
    // A rollout's job carries its rollout (phase, counts), in lists as in `GET /jobs/{id}`.
    page.items = jobs::with_rollouts(conn, std::mem::take(&mut page.items))?;
    Ok(page)
}
