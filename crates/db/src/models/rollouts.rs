//! `rollouts`: a rollout job's own record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::jobs::RolloutPhase;
use mosaic_types::{CloudConfigId, JobId};

use crate::schema::{job_items, jobs, rollouts};

/// A rollout (one per rollout job).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rollouts, check_for_backend(diesel::pg::Pg))]
pub struct Rollout {
    /// Its job.
    pub job_id: JobId,
    /// The member rolled out.
    pub cloud_config_id: CloudConfigId,
    /// The member's pinned revision when asked for.
    pub from_revision: i32,
    /// The revision it moves to.
    pub to_revision: i32,
    /// How many instances the member ends with.
    pub target_count: i32,
    /// Instances allowed beyond `target_count`.
    pub max_surge: i32,
    /// Instances allowed to be unavailable.
    pub max_unavailable: i32,
    /// How long a new instance is watched, ready, before it counts.
    pub min_ready_seconds: i32,
    /// How long it may go without progress.
    pub progress_deadline_seconds: i32,
    /// Pause after the first new instance.
    pub pause_after_canary: bool,
    /// Resumed after the canary: no second pause.
    pub canary_passed: bool,
    /// Where it is.
    pub phase: RolloutPhase,
    /// When it fails without progress.
    pub deadline_at: DateTime<Utc>,
    /// Old instances last seen.
    pub old_count: i32,
    /// New instances last seen.
    pub new_count: i32,
    /// Available new instances last seen.
    pub ready_count: i32,
    /// The most instances of the member seen at once.
    pub peak_count: i32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Rollout {
    /// Records a rollout (with its job, in the caller's transaction).
    pub fn insert(conn: &mut PgConnection, rollout: &Rollout) -> QueryResult<()> {
        diesel::insert_into(rollouts::table).values(rollout).execute(conn).map(drop)
    }

    /// One job's rollout, if the job is one.
    pub fn find(conn: &mut PgConnection, job: JobId) -> QueryResult<Option<Rollout>> {
        rollouts::table.find(job).select(Rollout::as_select()).first(conn).optional()
    }

    /// The rollouts of some jobs.
    pub fn for_jobs(conn: &mut PgConnection, ids: &[JobId]) -> QueryResult<Vec<Rollout>> {
        rollouts::table.filter(rollouts::job_id.eq_any(ids)).select(Rollout::as_select()).load(conn)
    }

    /// Moves it to `phase`.
    pub fn set_phase(conn: &mut PgConnection, job: JobId, phase: RolloutPhase) -> QueryResult<()> {
        diesel::update(rollouts::table.find(job))
            .set((rollouts::phase.eq(phase), rollouts::updated_at.eq(Utc::now())))
            .execute(conn)
            .map(drop)
    }

    /// Records what the rollout last saw; the peak only grows.
    pub fn set_counts(
        conn: &mut PgConnection,
        job: JobId,
        old: i32,
        new: i32,
        ready: i32,
        total: i32,
    ) -> QueryResult<()> {
        diesel::update(rollouts::table.find(job))
            .set((
                rollouts::old_count.eq(old),
                rollouts::new_count.eq(new),
                rollouts::ready_count.eq(ready),
                rollouts::peak_count.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                    "GREATEST(peak_count, ",
                )
                .bind::<diesel::sql_types::Integer, _>(total)
                .sql(")")),
                rollouts::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Gives the rollout another `seconds` to make progress (a new instance became available,
    /// or it was resumed).
    pub fn extend_deadline(conn: &mut PgConnection, job: JobId, seconds: i32) -> QueryResult<()> {
        diesel::update(rollouts::table.find(job))
            .set(rollouts::deadline_at.eq(Utc::now() + chrono::Duration::seconds(i64::from(seconds))))
            .execute(conn)
            .map(drop)
    }

    /// Lets a paused rollout go on past its canary.
    pub fn pass_canary(conn: &mut PgConnection, job: JobId) -> QueryResult<()> {
        diesel::update(rollouts::table.find(job))
            .set((
                rollouts::canary_passed.eq(true),
                rollouts::phase.eq(RolloutPhase::Progressing),
                rollouts::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Puts a finished (failed) rollout job back in the queue, to carry on (`resume`) or to
    /// clean up (`abort`): its failed items are forgotten (the instances they were are gone),
    /// its counters recounted. The caller checks first that no other job of the deployment is
    /// unfinished (and the one-active-job index refuses a race).
    pub fn requeue(conn: &mut PgConnection, job: JobId) -> QueryResult<()> {
        diesel::delete(
            job_items::table.filter(job_items::job_id.eq(job)).filter(job_items::error.is_not_null()),
        )
        .execute(conn)?;
        diesel::sql_query(
            "UPDATE jobs SET state = 'queued', error = NULL, finished_at = NULL, claimed_by = NULL, \
               heartbeat_at = NULL, updated_at = now(), \
               total = (SELECT count(*) FROM job_items WHERE job_id = $1), \
               done = (SELECT count(*) FROM job_items WHERE job_id = $1 AND finished), \
               failed = 0 \
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(job.0)
        .execute(conn)
        .map(drop)
    }

    /// Adds items to a running rollout job (new instances it makes, old ones it removes) and
    /// counts them in its total; an item already there is left as it is.
    pub fn add_items(
        conn: &mut PgConnection,
        job: JobId,
        items: &[crate::models::jobs::JobItem],
    ) -> QueryResult<()> {
        diesel::insert_into(job_items::table).values(items).on_conflict_do_nothing().execute(conn)?;
        diesel::update(jobs::table.find(job))
            .set((
                jobs::total.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                    "(SELECT count(*)::int FROM job_items WHERE job_items.job_id = jobs.id)",
                )),
                jobs::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .map(drop)
    }
}
