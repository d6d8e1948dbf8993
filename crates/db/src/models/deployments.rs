//! `deployments` and `deployment_cloud_configs`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::deployments::DeploymentStatus;
use mosaic_types::{CloudConfigId, DeploymentId};

use crate::models::keyset;
use crate::schema::{cloud_configs, deployment_cloud_configs, deployments};

/// A deployment.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = deployments, check_for_backend(diesel::pg::Pg))]
pub struct Deployment {
    /// Its ID.
    pub id: DeploymentId,
    /// Its unique name.
    pub name: String,
    /// Active, or being deleted.
    pub status: DeploymentStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Whether healing is on.
    pub healing: bool,
}

/// A deployment to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = deployments)]
pub struct NewDeployment<'a> {
    /// Its ID.
    pub id: DeploymentId,
    /// Its name.
    pub name: &'a str,
}

/// A cloud-config pinned into a deployment.
#[derive(Debug, Insertable)]
#[diesel(table_name = deployment_cloud_configs)]
pub struct NewDeploymentCloudConfig {
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// The cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// The pinned revision.
    pub revision: i32,
}

/// A deployment's cloud-config with what the API shows of it.
#[derive(Debug, Clone, Queryable)]
pub struct Member {
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// The cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// The pinned revision.
    pub revision: i32,
    /// The cloud-config's namespace.
    pub namespace: String,
    /// The cloud-config's name.
    pub name: String,
    /// The cloud-config's newest revision.
    pub latest_revision: i32,
}

impl Deployment {
    /// Inserts a deployment.
    pub fn create(conn: &mut PgConnection, new: &NewDeployment<'_>) -> QueryResult<Deployment> {
        diesel::insert_into(deployments::table)
            .values(new)
            .returning(Deployment::as_returning())
            .get_result(conn)
    }

    /// Up to `limit` deployments by name (then ID) after `after`: those whose name contains
    /// `name_contains` (case-insensitive), and only those among `only` when given.
    pub fn page(
        conn: &mut PgConnection,
        name_contains: Option<&str>,
        only: Option<&[DeploymentId]>,
        after: Option<(&str, DeploymentId)>,
        limit: i64,
    ) -> QueryResult<Vec<Deployment>> {
        let mut query = deployments::table.select(Deployment::as_select()).into_boxed();
        if let Some(text) = name_contains {
            query = query.filter(deployments::name.ilike(keyset::contains_pattern(text)));
        }
        if let Some(ids) = only {
            query = query.filter(deployments::id.eq_any(ids.to_vec()));
        }
        if let Some((name, id)) = after {
            query = query.filter(keyset::after_text("deployments.name", "deployments.id", (name, id.0)));
        }
        query.order((deployments::name, deployments::id)).limit(limit).load(conn)
    }

    /// One deployment.
    pub fn find(conn: &mut PgConnection, id: DeploymentId) -> QueryResult<Deployment> {
        deployments::table.find(id).select(Deployment::as_select()).first(conn)
    }

    /// One deployment, its row locked until the transaction ends: a job queued on it cannot race
    /// a job that is deleting it (the deletion waits, or went first and this finds nothing).
    pub fn find_for_update(conn: &mut PgConnection, id: DeploymentId) -> QueryResult<Deployment> {
        deployments::table.find(id).select(Deployment::as_select()).for_update().first(conn)
    }

    /// The deployments among `ids`.
    pub fn find_many(conn: &mut PgConnection, ids: &[DeploymentId]) -> QueryResult<Vec<Deployment>> {
        deployments::table.filter(deployments::id.eq_any(ids)).select(Deployment::as_select()).load(conn)
    }

    /// Renames a deployment.
    pub fn rename(conn: &mut PgConnection, id: DeploymentId, name: &str) -> QueryResult<Deployment> {
        diesel::update(deployments::table.find(id))
            .set((deployments::name.eq(name), deployments::updated_at.eq(Utc::now())))
            .returning(Deployment::as_returning())
            .get_result(conn)
    }

    /// Turns healing on or off.
    pub fn set_healing(conn: &mut PgConnection, id: DeploymentId, healing: bool) -> QueryResult<()> {
        diesel::update(deployments::table.find(id))
            .set((deployments::healing.eq(healing), deployments::updated_at.eq(Utc::now())))
            .execute(conn)
            .map(drop)
    }

    /// The active deployments with healing on.
    pub fn healing(conn: &mut PgConnection) -> QueryResult<Vec<Deployment>> {
        deployments::table
            .filter(deployments::healing.eq(true))
            .filter(deployments::status.eq(DeploymentStatus::Active))
            .select(Deployment::as_select())
            .load(conn)
    }

    /// Sets the status.
    pub fn set_status(
        conn: &mut PgConnection,
        id: DeploymentId,
        status: DeploymentStatus,
    ) -> QueryResult<()> {
        diesel::update(deployments::table.find(id))
            .set((deployments::status.eq(status), deployments::updated_at.eq(Utc::now())))
            .execute(conn)
            .map(drop)
    }

    /// Deletes the row (its instances must be gone).
    pub fn delete(conn: &mut PgConnection, id: DeploymentId) -> QueryResult<bool> {
        diesel::delete(deployments::table.find(id)).execute(conn).map(|n| n == 1)
    }

    /// Deployments being deleted.
    pub fn deleting(conn: &mut PgConnection) -> QueryResult<Vec<Deployment>> {
        deployments::table
            .filter(deployments::status.eq(DeploymentStatus::Deleting))
            .select(Deployment::as_select())
            .load(conn)
    }

    /// Marks a deployment changed.
    pub fn touch(conn: &mut PgConnection, id: DeploymentId) -> QueryResult<()> {
        diesel::update(deployments::table.find(id))
            .set(deployments::updated_at.eq(Utc::now()))
            .execute(conn)
            .map(drop)
    }

    /// The cloud-configs of the given deployments, by namespace and name.
    pub fn members(conn: &mut PgConnection, ids: &[DeploymentId]) -> QueryResult<Vec<Member>> {
        deployment_cloud_configs::table
            .inner_join(cloud_configs::table)
            .filter(deployment_cloud_configs::deployment_id.eq_any(ids))
            .order((cloud_configs::namespace, cloud_configs::name))
            .select((
                deployment_cloud_configs::deployment_id,
                deployment_cloud_configs::cloud_config_id,
                deployment_cloud_configs::revision,
                cloud_configs::namespace,
                cloud_configs::name,
                cloud_configs::current_revision,
            ))
            .load(conn)
    }

    /// Adds cloud-configs to a deployment.
    pub fn add_members(conn: &mut PgConnection, rows: &[NewDeploymentCloudConfig]) -> QueryResult<()> {
        diesel::insert_into(deployment_cloud_configs::table).values(rows).execute(conn).map(drop)
    }

    /// Re-pins a member to another revision; `false` if it is not a member.
    pub fn pin(
        conn: &mut PgConnection,
        id: DeploymentId,
        cc: CloudConfigId,
        revision: i32,
    ) -> QueryResult<bool> {
        diesel::update(deployment_cloud_configs::table.find((id, cc)))
            .set(deployment_cloud_configs::revision.eq(revision))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Removes a member; `false` if it was not one.
    pub fn remove_member(conn: &mut PgConnection, id: DeploymentId, cc: CloudConfigId) -> QueryResult<bool> {
        diesel::delete(deployment_cloud_configs::table.find((id, cc))).execute(conn).map(|n| n == 1)
    }
}
