//! `jobs` and `job_items`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::jobs::{JobKind, JobState, JobStep};
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
    /// What it does.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
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
    pub kind: JobKind,
    /// Always [`JobState::Queued`].
    pub state: JobState,
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
    pub step: JobStep,
    /// Finished?
    pub finished: bool,
    /// Error.
    pub error: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// What the running step reports (an image download's progress).
    pub progress: Option<String>,
}
/// A server process's hold on a running job: which process claimed it, and which of the job's
/// claims this is. Every write a running job makes is conditional on its claim still being the
/// current one, so a server whose job was taken over (its heartbeat looked dead) can never write
/// over the new owner's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The job.
    pub job: JobId,
    /// The claiming process (`jobs.claimed_by`).
    pub worker: String,
    /// The claim's number (`jobs.attempts` when it was made).
    pub attempt: i32,
}

/// How a fenced write holds the job row while it writes (see [`Claim::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// `FOR SHARE`: many writes of one job may hold it at once; a takeover waits for them.
    Shared,
    /// `FOR NO KEY UPDATE`: for a write that then updates the job row itself (an item's outcome
    /// updates the job's counters), taken first so two such writes never deadlock upgrading.
    Exclusive,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// Which jobs a page lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobFilter<'a> {
    /// Only this deployment's.
    pub deployment: Option<DeploymentId>,
    /// Only these deployments' (a token limited to them).
    pub only: Option<&'a [DeploymentId]>,
    /// Only jobs of this kind.
    pub kind: Option<JobKind>,
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
    pub fn find(conn: &mut PgConnection, id: JobId) -> QueryResult<Job> {
        jobs::table.find(id).select(Job::as_select()).first(conn)
    }

    /// A job's items, by instance name.
    pub fn items(conn: &mut PgConnection, id: JobId) -> QueryResult<Vec<JobItem>> {
        job_items::table
            .filter(job_items::job_id.eq(id))
            .order(job_items::instance_name)
            .select(JobItem::as_select())
            .load(conn)
    }

    /// A deployment's newest `limit` jobs, newest first.
    pub fn for_deployment(conn: &mut PgConnection, id: DeploymentId, limit: i64) -> QueryResult<Vec<Job>> {
        Self::page(conn, &JobFilter { deployment: Some(id), ..JobFilter::default() }, None, limit)
    }

    /// The items of each of `ids`, by job, then instance name.
    pub fn items_of(conn: &mut PgConnection, ids: &[JobId]) -> QueryResult<Vec<JobItem>> {
        job_items::table
            .filter(job_items::job_id.eq_any(ids.to_vec()))
            .order((job_items::job_id, job_items::instance_name))
            .select(JobItem::as_select())
            .load(conn)
    }

    /// Up to `limit` jobs that pass `filter`, newest first (then by ID, descending), after
    /// `before` (where the previous page ended).
    pub fn page(
        conn: &mut PgConnection,
        filter: &JobFilter<'_>,
        before: Option<(DateTime<Utc>, JobId)>,
        limit: i64,
    ) -> QueryResult<Vec<Job>> {
        let mut query = jobs::table.select(Job::as_select()).into_boxed();
        if let Some(id) = filter.deployment {
            query = query.filter(jobs::deployment_id.eq(id));
        }
        if let Some(ids) = filter.only {
            query = query.filter(jobs::deployment_id.eq_any(ids.to_vec()));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(jobs::kind.eq(kind));
        }
        if let Some((at, id)) = before {
            query =
                query.filter(crate::models::keyset::before_time("jobs.created_at", "jobs.id", (at, id.0)));
        }
        query.order((jobs::created_at.desc(), jobs::id.desc())).limit(limit).load(conn)
    }

    /// Whether a deployment has an unfinished job.
    pub fn active_for(conn: &mut PgConnection, id: DeploymentId) -> QueryResult<Option<Job>> {
        jobs::table
            .filter(jobs::deployment_id.eq(id))
            .filter(jobs::state.eq_any([JobState::Queued, JobState::Running]))
            .select(Job::as_select())
            .first(conn)
            .optional()
    }

    /// Whether an unfinished job has an item on a host.
    pub fn active_on_host(conn: &mut PgConnection, host: HostId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            job_items::table
                .inner_join(jobs::table)
                .filter(job_items::host_id.eq(host))
                .filter(jobs::state.eq_any([JobState::Queued, JobState::Running])),
        ))
        .get_result(conn)
    }

    /// Claims the oldest job that is queued, or running under a server whose heartbeat is older
    /// than `stale_secs` (that server died), leaving out the jobs this process runs already (a
    /// process whose heartbeats stalled must not take its own job a second time).
    /// `FOR UPDATE SKIP LOCKED` makes the claim exclusive among any number of server processes
    /// sharing the database.
    pub fn claim(
        conn: &mut PgConnection,
        worker: &str,
        stale_secs: f64,
        running: &[JobId],
    ) -> QueryResult<Option<Claim>> {
        let running: Vec<uuid::Uuid> = running.iter().map(|id| id.0).collect();
        let claimed: Option<Claimed> = diesel::sql_query(
            "UPDATE jobs SET state = 'running', claimed_by = $1, attempts = attempts + 1, \
               heartbeat_at = now(), started_at = COALESCE(started_at, now()), updated_at = now() \
             WHERE id = (SELECT id FROM jobs \
                         WHERE (state = 'queued' \
                            OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2))) \
                           AND id <> ALL($3) \
                         ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING id, attempts",
        )
        .bind::<diesel::sql_types::Text, _>(worker)
        .bind::<diesel::sql_types::Double, _>(stale_secs)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(running)
        .get_result(conn)
        .optional()?;
        Ok(claimed.map(|c| Claim { job: JobId(c.id), worker: worker.to_owned(), attempt: c.attempts }))
    }

    /// Finishes an item and counts it in the job, in one statement: an item finishes once (a
    /// finished item is left alone), so the job's counters are incremented rather than recounted.
    /// The caller holds the job's claim ([`Claim::hold`] with [`Hold::Exclusive`]) in the same
    /// transaction.
    pub fn finish_item(
        conn: &mut PgConnection,
        id: JobId,
        instance: InstanceId,
        step: JobStep,
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
}

impl Claim {
    /// Locks the job row if this claim is still current; `false` if another claim replaced it
    /// (or the job ended). Called first in a transaction, it keeps the claim from changing until
    /// the transaction's writes commit.
    pub fn hold(&self, conn: &mut PgConnection, hold: Hold) -> QueryResult<bool> {
        let lock = match hold {
            Hold::Shared => "FOR SHARE",
            Hold::Exclusive => "FOR NO KEY UPDATE",
        };
        let held: Option<Claimed> = diesel::sql_query(format!(
            "SELECT id, attempts FROM jobs \
             WHERE id = $1 AND claimed_by = $2 AND attempts = $3 AND state = 'running' {lock}"
        ))
        .bind::<diesel::sql_types::Uuid, _>(self.job.0)
        .bind::<diesel::sql_types::Text, _>(&self.worker)
        .bind::<diesel::sql_types::Integer, _>(self.attempt)
        .get_result(conn)
        .optional()?;
        Ok(held.is_some())
    }

    /// Refreshes the heartbeat; `false` if the claim is no longer current.
    pub fn heartbeat(&self, conn: &mut PgConnection) -> QueryResult<bool> {
        diesel::update(jobs::table.find(self.job))
            .filter(jobs::claimed_by.eq(&self.worker))
            .filter(jobs::attempts.eq(self.attempt))
            .filter(jobs::state.eq(JobState::Running))
            .set(jobs::heartbeat_at.eq(Utc::now()))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Records unfinished items' current steps, in one statement however many there are, while
    /// the claim is current (a no-op otherwise, and for an item that has finished, so a late write
    /// can never undo an outcome).
    ///
    /// It locks the items only, never the job's row: outcomes lock the job's row and then an item,
    /// and a statement taking them the other way round deadlocked with them. One writer per job
    /// calls this.
    pub fn update_steps(&self, conn: &mut PgConnection, steps: &[(InstanceId, JobStep)]) -> QueryResult<()> {
        let instances: Vec<uuid::Uuid> = steps.iter().map(|(i, _)| i.0).collect();
        let names: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
        diesel::sql_query(
            "UPDATE job_items AS i SET step = s.step, updated_at = now() \
             FROM unnest($2::uuid[], $3::text[]) AS s(instance_id, step) \
             WHERE i.job_id = $1 AND i.instance_id = s.instance_id AND NOT i.finished \
               AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = $1 AND j.claimed_by = $4 \
                           AND j.attempts = $5 AND j.state = 'running')",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.job.0)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(instances)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
        .bind::<diesel::sql_types::Text, _>(&self.worker)
        .bind::<diesel::sql_types::Integer, _>(self.attempt)
        .execute(conn)
        .map(drop)
    }

    /// Records that unfinished items wait on one piece of work, with what it reports (e.g. the
    /// host downloading their image: step `downloading`, progress `rootfs: 40% (12.30MB/s)`), in
    /// one statement, while the claim is current (like [`Claim::update_steps`], which this never
    /// undoes for a finished item).
    pub fn update_progress(
        &self,
        conn: &mut PgConnection,
        instances: &[InstanceId],
        step: JobStep,
        progress: Option<&str>,
    ) -> QueryResult<()> {
        let instances: Vec<uuid::Uuid> = instances.iter().map(|i| i.0).collect();
        diesel::sql_query(
            "UPDATE job_items AS i SET step = $3, progress = $4, updated_at = now() \
             WHERE i.job_id = $1 AND i.instance_id = ANY($2) AND NOT i.finished \
               AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = $1 AND j.claimed_by = $5 \
                           AND j.attempts = $6 AND j.state = 'running')",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.job.0)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(instances)
        .bind::<diesel::sql_types::Text, _>(step)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(progress)
        .bind::<diesel::sql_types::Text, _>(&self.worker)
        .bind::<diesel::sql_types::Integer, _>(self.attempt)
        .execute(conn)
        .map(drop)
    }

    /// Ends the job if the claim is current: `succeeded` if every item finished without error
    /// and there is no whole-job error; `failed` otherwise — an item that never finished is a
    /// failure, never a success. `false` if the claim was lost.
    pub fn finish(&self, conn: &mut PgConnection, error: Option<&str>) -> QueryResult<bool> {
        if !self.hold(conn, Hold::Exclusive)? {
            return Ok(false);
        }
        Job::recount(conn, self.job)?;
        diesel::sql_query(
            "UPDATE jobs SET finished_at = now(), updated_at = now(), \
               error = COALESCE($2, CASE WHEN done < total \
                 THEN (total - done) || ' instance(s) never finished' END), \
               state = CASE WHEN failed = 0 AND done = total AND $2 IS NULL \
                 THEN 'succeeded' ELSE 'failed' END \
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(self.job.0)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(error)
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Gives the job back to the queue (this server is shutting down), so another server takes
    /// it at once instead of after its heartbeat goes stale. `false` if the claim was lost.
    pub fn release(&self, conn: &mut PgConnection) -> QueryResult<bool> {
        diesel::update(jobs::table.find(self.job))
            .filter(jobs::claimed_by.eq(&self.worker))
            .filter(jobs::attempts.eq(self.attempt))
            .filter(jobs::state.eq(JobState::Running))
            .set((
                jobs::state.eq(JobState::Queued),
                jobs::claimed_by.eq(None::<String>),
                jobs::heartbeat_at.eq(None::<DateTime<Utc>>),
                jobs::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .map(|n| n == 1)
    }
}
