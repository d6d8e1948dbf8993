//! `jobs` and `job_items`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::{DeploymentId, HostId, InstanceId, JobId};

use crate::schema::{job_items, jobs};

/// A job.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct Job {
    /// Its ID.
    pub id: JobId,
    /// Its deployment.
    pub deployment_id: Option<DeploymentId>,
    /// The deployment's name.
    pub deployment_name: String,
    /// `deploy`, `start`, `stop`, `delete` or `remove`.
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// A deploy that also starts what it created.
    pub then_start: bool,
    /// Items.
    pub total: i32,
    /// Finished items.
    pub done: i32,
    /// Failed items.
    pub failed: i32,
    /// Whole-job error.
    pub error: Option<String>,
    /// Who asked.
    pub created_by: String,
    /// The server process working on it.
    pub claimed_by: Option<String>,
    /// How many times a server claimed it.
    pub attempts: i32,
    /// Last sign of life from its server.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Started at.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished at.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A job to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob<'a> {
    /// Its ID.
    pub id: JobId,
    /// Its deployment.
    pub deployment_id: DeploymentId,
    /// The deployment's name.
    pub deployment_name: &'a str,
    /// Its kind.
    pub kind: &'a str,
    /// Always `queued`.
    pub state: &'a str,
    /// A deploy that also starts what it created.
    pub then_start: bool,
    /// Items.
    pub total: i32,
    /// Who asked.
    pub created_by: &'a str,
}

/// One instance's part in a job.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_items, check_for_backend(diesel::pg::Pg))]
pub struct JobItem {
    /// The job.
    pub job_id: JobId,
    /// The instance.
    pub instance_id: InstanceId,
    /// Its name.
    pub instance_name: String,
    /// Its host.
    pub host_id: HostId,
    /// The host's name.
    pub host_name: String,
    /// Current step.
    pub step: String,
    /// Finished?
    pub finished: bool,
    /// Error.
    pub error: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

impl Job {
    /// Inserts a job and its items.
    pub fn create(conn: &mut PgConnection, new: &NewJob<'_>, items: &[JobItem]) -> QueryResult<Job> {
        let job =
            diesel::insert_into(jobs::table).values(new).returning(Job::as_returning()).get_result(conn)?;
        diesel::insert_into(job_items::table).values(items).execute(conn)?;
        Ok(job)
    }

    /// One job.
    pub fn find(conn: &mut PgConnection, id: JobId) -> QueryResult<Option<Job>> {
        jobs::table.find(id).select(Job::as_select()).first(conn).optional()
    }

    /// A job's items, by instance name.
    pub fn items(conn: &mut PgConnection, id: JobId) -> QueryResult<Vec<JobItem>> {
        job_items::table
            .filter(job_items::job_id.eq(id))
            .order(job_items::instance_name)
            .select(JobItem::as_select())
            .load(conn)
    }

    /// A deployment's jobs, newest first.
    pub fn for_deployment(conn: &mut PgConnection, id: DeploymentId, limit: i64) -> QueryResult<Vec<Job>> {
        jobs::table
            .filter(jobs::deployment_id.eq(id))
            .order(jobs::created_at.desc())
            .limit(limit)
            .select(Job::as_select())
            .load(conn)
    }

    /// Whether a deployment has an unfinished job.
    pub fn active_for(conn: &mut PgConnection, id: DeploymentId) -> QueryResult<Option<Job>> {
        jobs::table
            .filter(jobs::deployment_id.eq(id))
            .filter(jobs::state.eq_any(["queued", "running"]))
            .select(Job::as_select())
            .first(conn)
            .optional()
    }

    /// Claims the oldest job that is queued, or running under a server whose heartbeat is older
    /// than `stale_secs` (that server died). `FOR UPDATE SKIP LOCKED` makes the claim exclusive
    /// among any number of server processes sharing the database.
    pub fn claim(conn: &mut PgConnection, worker: &str, stale_secs: f64) -> QueryResult<Option<JobId>> {
        let claimed: Option<Claimed> = diesel::sql_query(
            "UPDATE jobs SET state = 'running', claimed_by = $1, attempts = attempts + 1, \
               heartbeat_at = now(), started_at = COALESCE(started_at, now()), updated_at = now() \
             WHERE id = (SELECT id FROM jobs \
                         WHERE state = 'queued' \
                            OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)) \
                         ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING id",
        )
        .bind::<diesel::sql_types::Text, _>(worker)
        .bind::<diesel::sql_types::Double, _>(stale_secs)
        .get_result(conn)
        .optional()?;
        Ok(claimed.map(|c| JobId(c.id)))
    }

    /// Refreshes the heartbeat; `false` if another server has taken the job over.
    pub fn heartbeat(conn: &mut PgConnection, id: JobId, worker: &str) -> QueryResult<bool> {
        diesel::update(
            jobs::table.find(id).filter(jobs::claimed_by.eq(worker)).filter(jobs::state.eq("running")),
        )
        .set(jobs::heartbeat_at.eq(Utc::now()))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Records unfinished items' current steps, in one statement however many there are (a
    /// no-op for an item that has finished, so a late write can never undo its outcome).
    ///
    /// It touches the items only, never the job's row: outcomes lock an item and then the job's
    /// row, and a statement locking the job's row and then items (PostgreSQL may run a `WITH`
    /// sub-statement after the main one) deadlocked with them. One writer per job calls this.
    pub fn update_steps(conn: &mut PgConnection, id: JobId, steps: &[(InstanceId, &str)]) -> QueryResult<()> {
        let instances: Vec<uuid::Uuid> = steps.iter().map(|(i, _)| i.0).collect();
        let names: Vec<&str> = steps.iter().map(|(_, s)| *s).collect();
        diesel::sql_query(
            "UPDATE job_items AS i SET step = s.step, updated_at = now() \
             FROM unnest($2::uuid[], $3::text[]) AS s(instance_id, step) \
             WHERE i.job_id = $1 AND i.instance_id = s.instance_id AND NOT i.finished",
        )
        .bind::<diesel::sql_types::Uuid, _>(id.0)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(instances)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
        .execute(conn)
        .map(drop)
    }

    /// Finishes an item and counts it in the job, in one statement: an item finishes once (a
    /// finished item is left alone), so the job's counters are incremented rather than recounted.
    pub fn finish_item(
        conn: &mut PgConnection,
        id: JobId,
        instance: InstanceId,
        step: &str,
        error: Option<&str>,
    ) -> QueryResult<()> {
        diesel::sql_query(
            "WITH item AS ( \
               UPDATE job_items SET step = $3, finished = true, error = $4, updated_at = now() \
               WHERE job_id = $1 AND instance_id = $2 AND NOT finished \
               RETURNING error \
             ) \
             UPDATE jobs SET updated_at = now(), \
               done = done + (SELECT count(*) FROM item), \
               failed = failed + (SELECT count(*) FROM item WHERE error IS NOT NULL) \
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id.0)
        .bind::<diesel::sql_types::Uuid, _>(instance.0)
        .bind::<diesel::sql_types::Text, _>(step)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(error)
        .execute(conn)
        .map(drop)
    }

    fn recount(conn: &mut PgConnection, id: JobId) -> QueryResult<()> {
        diesel::sql_query(
            "UPDATE jobs SET updated_at = now(), \
               done = (SELECT count(*) FROM job_items WHERE job_id = $1 AND finished), \
               failed = (SELECT count(*) FROM job_items WHERE job_id = $1 AND finished AND error IS NOT NULL) \
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id.0)
        .execute(conn)
        .map(drop)
    }

    /// Ends a job: `succeeded` if no item failed, `failed` otherwise or with a whole-job error.
    pub fn finish(conn: &mut PgConnection, id: JobId, error: Option<&str>) -> QueryResult<()> {
        Self::recount(conn, id)?;
        diesel::sql_query(
            "UPDATE jobs SET finished_at = now(), updated_at = now(), error = $2, \
               state = CASE WHEN failed = 0 AND $2 IS NULL THEN 'succeeded' ELSE 'failed' END \
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id.0)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(error)
        .execute(conn)
        .map(drop)
    }
}
