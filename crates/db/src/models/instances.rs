//! `instances`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::instances::{Lifecycle, Readiness};
use mosaic_types::{CloudConfigId, DeploymentId, HostId, InstanceId};

use crate::schema::instances;

/// A container Mosaic created or is creating.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = instances, check_for_backend(diesel::pg::Pg))]
pub struct Instance {
    /// Its ID.
    pub id: InstanceId,
    /// Its deployment.
    pub deployment_id: DeploymentId,
    /// Its cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// The cloud-config revision.
    pub revision: i32,
    /// Its host.
    pub host_id: HostId,
    /// Its LXD name.
    pub name: String,
    /// Its number within its deployment and cloud-config.
    pub ordinal: i32,
    /// Profiles applied.
    pub profiles: Vec<Option<String>>,
    /// Where it is in Mosaic's bookkeeping.
    pub state: Lifecycle,
    /// Last error.
    pub last_error: Option<String>,
    /// Whether its cloud-config applied.
    pub readiness: Readiness,
    /// cloud-init's words.
    pub readiness_detail: Option<String>,
    /// The phone-home secret, if phone-home is enabled.
    pub phone_home_secret: Option<String>,
    /// When it phoned home.
    pub phoned_home_at: Option<DateTime<Utc>>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// First start.
    pub first_started_at: Option<DateTime<Utc>>,
    /// Last start.
    pub last_started_at: Option<DateTime<Utc>>,
    /// Last stop.
    pub last_stopped_at: Option<DateTime<Utc>>,
    /// Healing's tries in a row.
    pub heal_attempts: i32,
    /// Healing may not try again before this.
    pub heal_not_before: Option<DateTime<Utc>>,
    /// The fingerprint of the image it was made from, once created.
    pub image_fingerprint: Option<String>,
    /// The cluster member it was placed on (clustered hosts only).
    pub location: Option<String>,
}

/// Which instances to list (see [`Instance::page`]).
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    /// Only this deployment's.
    pub deployment: Option<DeploymentId>,
    /// Only those on this host.
    pub host: Option<HostId>,
    /// Only those of this cloud-config.
    pub cloud_config: Option<CloudConfigId>,
    /// Only those of this revision.
    pub revision: Option<i32>,
    /// Only those with this readiness.
    pub readiness: Option<Readiness>,
}

/// An instance to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = instances)]
pub struct NewInstance {
    /// Its ID.
    pub id: InstanceId,
    /// Its deployment.
    pub deployment_id: DeploymentId,
    /// Its cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// The revision.
    pub revision: i32,
    /// Its host.
    pub host_id: HostId,
    /// Its LXD name.
    pub name: String,
    /// Its number.
    pub ordinal: i32,
    /// Profiles.
    pub profiles: Vec<String>,
    /// Always [`Lifecycle::Pending`].
    pub state: Lifecycle,
    /// The phone-home secret, if enabled.
    pub phone_home_secret: Option<String>,
    /// The cluster member to place it on (clustered hosts only).
    pub location: Option<String>,
}

impl Instance {
    /// The profile names.
    pub fn profile_names(&self) -> Vec<String> {
        self.profiles.iter().flatten().cloned().collect()
    }

    /// Every instance of the given deployments, by name.
    pub fn for_deployments(conn: &mut PgConnection, ids: &[DeploymentId]) -> QueryResult<Vec<Instance>> {
        instances::table
            .filter(instances::deployment_id.eq_any(ids))
            .order(instances::name)
            .select(Instance::as_select())
            .load(conn)
    }

    /// One instance.
    pub fn find(conn: &mut PgConnection, id: InstanceId) -> QueryResult<Instance> {
        instances::table.find(id).select(Instance::as_select()).first(conn)
    }

    /// The highest ordinal used per cloud-config of a deployment.
    pub fn max_ordinal(
        conn: &mut PgConnection,
        deployment: DeploymentId,
        cc: CloudConfigId,
    ) -> QueryResult<i32> {
        instances::table
            .filter(instances::deployment_id.eq(deployment))
            .filter(instances::cloud_config_id.eq(cc))
            .select(diesel::dsl::max(instances::ordinal))
            .first::<Option<i32>>(conn)
            .map(|m| m.unwrap_or(0))
    }

    /// Inserts instances.
    pub fn insert(conn: &mut PgConnection, rows: &[NewInstance]) -> QueryResult<()> {
        diesel::insert_into(instances::table).values(rows).execute(conn).map(drop)
    }

    /// Sets the bookkeeping state and error.
    pub fn set_state(
        conn: &mut PgConnection,
        id: InstanceId,
        state: Lifecycle,
        error: Option<&str>,
    ) -> QueryResult<()> {
        diesel::update(instances::table.find(id))
            .set((instances::state.eq(state), instances::last_error.eq(error)))
            .execute(conn)
            .map(drop)
    }

    /// Records the fingerprint of the image the instance was made from.
    pub fn set_image(conn: &mut PgConnection, id: InstanceId, fingerprint: &str) -> QueryResult<()> {
        diesel::update(instances::table.find(id))
            .set(instances::image_fingerprint.eq(fingerprint))
            .execute(conn)
            .map(drop)
    }

    /// The image fingerprints instances of a deployment were made from, per cloud-config
    /// revision: later instances of the same revision are made from the same image.
    pub fn images_of(
        conn: &mut PgConnection,
        deployment: DeploymentId,
    ) -> QueryResult<Vec<(CloudConfigId, i32, String)>> {
        let rows: Vec<(CloudConfigId, i32, Option<String>)> = instances::table
            .filter(instances::deployment_id.eq(deployment))
            .filter(instances::image_fingerprint.is_not_null())
            .order(instances::created_at)
            .select((instances::cloud_config_id, instances::revision, instances::image_fingerprint))
            .load(conn)?;
        Ok(rows.into_iter().filter_map(|(cc, rev, fp)| Some((cc, rev, fp?))).collect())
    }

    /// Closes every instance row of a host (the host is being forgotten), returning them.
    pub fn close_on_host(conn: &mut PgConnection, host: HostId) -> QueryResult<Vec<Instance>> {
        diesel::delete(instances::table.filter(instances::host_id.eq(host)))
            .returning(Instance::as_returning())
            .get_results(conn)
    }

    /// Records a start.
    pub fn started(conn: &mut PgConnection, id: InstanceId) -> QueryResult<()> {
        let now = Utc::now();
        diesel::update(instances::table.find(id))
            .set((
                instances::last_started_at.eq(now),
                instances::first_started_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("COALESCE(first_started_at, now())")),
                instances::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Records a stop.
    pub fn stopped(conn: &mut PgConnection, id: InstanceId) -> QueryResult<()> {
        diesel::update(instances::table.find(id))
            .set((instances::last_stopped_at.eq(Utc::now()), instances::last_error.eq(None::<String>)))
            .execute(conn)
            .map(drop)
    }

    /// Records readiness.
    pub fn set_readiness(
        conn: &mut PgConnection,
        id: InstanceId,
        readiness: Readiness,
        detail: Option<&str>,
    ) -> QueryResult<()> {
        diesel::update(instances::table.find(id))
            .set((instances::readiness.eq(readiness), instances::readiness_detail.eq(detail)))
            .execute(conn)
            .map(drop)
    }

    /// Records a phone-home, once: `false` if it already phoned home.
    pub fn phoned_home(conn: &mut PgConnection, id: InstanceId) -> QueryResult<bool> {
        diesel::update(instances::table.find(id).filter(instances::phoned_home_at.is_null()))
            .set((
                instances::phoned_home_at.eq(Utc::now()),
                // A phone-home says the cloud-config ran to its end; cloud-init having reported
                // errors stays the verdict.
                instances::readiness.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                    "CASE WHEN readiness = 'failed' THEN 'failed' ELSE 'ready' END",
                )),
            ))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Up to `limit` instances matching `filter`, by name then ID, after `after`.
    pub fn page(
        conn: &mut PgConnection,
        filter: &InstanceFilter,
        after: Option<(&str, InstanceId)>,
        limit: i64,
    ) -> QueryResult<Vec<Instance>> {
        let mut query = instances::table.select(Instance::as_select()).into_boxed();
        if let Some(d) = filter.deployment {
            query = query.filter(instances::deployment_id.eq(d));
        }
        if let Some(h) = filter.host {
            query = query.filter(instances::host_id.eq(h));
        }
        if let Some(c) = filter.cloud_config {
            query = query.filter(instances::cloud_config_id.eq(c));
        }
        if let Some(r) = filter.revision {
            query = query.filter(instances::revision.eq(r));
        }
        if let Some(r) = filter.readiness {
            query = query.filter(instances::readiness.eq(r));
        }
        if let Some((name, id)) = after {
            query = query.filter(
                instances::name
                    .gt(name.to_owned())
                    .or(instances::name.eq(name.to_owned()).and(instances::id.gt(id))),
            );
        }
        query.order((instances::name, instances::id)).limit(limit).load(conn)
    }

    /// Readies an instance to be made again at `revision`: its container is going, so it is
    /// `pending` again, with readiness unknown until the new one starts.
    pub fn renew(conn: &mut PgConnection, id: InstanceId, revision: i32) -> QueryResult<()> {
        diesel::update(instances::table.find(id))
            .set((
                instances::revision.eq(revision),
                instances::state.eq(Lifecycle::Pending),
                instances::readiness.eq(Readiness::Pending),
                instances::readiness_detail.eq(None::<String>),
                instances::phoned_home_at.eq(None::<DateTime<Utc>>),
                instances::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Notes that healing tried an instance: the next try waits twice as long as the last
    /// (from `base`, at most `max`).
    pub fn healing_tried(
        conn: &mut PgConnection,
        id: InstanceId,
        base: std::time::Duration,
        max: std::time::Duration,
    ) -> QueryResult<()> {
        diesel::sql_query(
            "UPDATE instances SET heal_attempts = heal_attempts + 1, \
               heal_not_before = now() + LEAST(make_interval(secs => $2 * power(2, heal_attempts)), \
                                               make_interval(secs => $3)) \
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id.0)
        .bind::<diesel::sql_types::Double, _>(base.as_secs_f64())
        .bind::<diesel::sql_types::Double, _>(max.as_secs_f64())
        .execute(conn)
        .map(drop)
    }

    /// Forgets healing's tries (the instance is ready again).
    pub fn healed(conn: &mut PgConnection, id: InstanceId) -> QueryResult<()> {
        diesel::update(instances::table.find(id))
            .set((instances::heal_attempts.eq(0), instances::heal_not_before.eq(None::<DateTime<Utc>>)))
            .execute(conn)
            .map(drop)
    }

    /// Which of `ids` are instances of this database (a container on a shared LXD host may be
    /// another installation's).
    pub fn known(conn: &mut PgConnection, ids: &[InstanceId]) -> QueryResult<Vec<InstanceId>> {
        instances::table.filter(instances::id.eq_any(ids)).select(instances::id).load(conn)
    }

    /// Removes the row once its container is gone.
    pub fn delete(conn: &mut PgConnection, id: InstanceId) -> QueryResult<()> {
        diesel::delete(instances::table.find(id)).execute(conn).map(drop)
    }

    /// How many instances a deployment still has.
    pub fn count_for(conn: &mut PgConnection, deployment: DeploymentId) -> QueryResult<i64> {
        instances::table.filter(instances::deployment_id.eq(deployment)).count().get_result(conn)
    }

    /// Whether any instance lives on a host.
    pub fn any_on_host(conn: &mut PgConnection, host: HostId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(instances::table.filter(instances::host_id.eq(host))))
            .get_result(conn)
    }
}
