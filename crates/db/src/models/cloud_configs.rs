//! `cloud_configs` and `cloud_config_revisions`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::cloud_configs::{ImageProtocol, ImageServer};
use mosaic_types::{CloudConfigId, DeploymentId, UserId};

use crate::models::keyset;
use crate::schema::{
    cloud_config_revisions, cloud_configs, deployment_cloud_configs, deployments, instances,
};

/// A cloud-config's identity and metadata; its content lives in revisions.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = cloud_configs, check_for_backend(diesel::pg::Pg))]
pub struct CloudConfig {
    /// Its ID.
    pub id: CloudConfigId,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Its newest revision.
    pub current_revision: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A cloud-config to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = cloud_configs)]
pub struct NewCloudConfig<'a> {
    /// Its ID.
    pub id: CloudConfigId,
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Always 1 at creation.
    pub current_revision: i32,
}

/// One immutable revision of a cloud-config's content.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cloud_config_revisions, check_for_backend(diesel::pg::Pg))]
pub struct Revision {
    /// The cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// Its number, from 1.
    pub revision: i32,
    /// cloud-init user-data.
    pub user_data: String,
    /// Image alias or fingerprint.
    pub image: String,
    /// LXD config keys, a JSON object of strings.
    pub config: serde_json::Value,
    /// Who made it, if the user still exists.
    pub author_id: Option<UserId>,
    /// Who made it, by name.
    pub author_name: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The image server's URL (`None`: the image is on the hosts).
    pub image_server: Option<String>,
    /// The image server's protocol (with `image_server`).
    pub image_protocol: Option<ImageProtocol>,
    /// The image server's certificate, PEM (with `image_server`, optional).
    pub image_certificate: Option<String>,
}

/// A revision to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = cloud_config_revisions)]
pub struct NewRevision<'a> {
    /// The cloud-config.
    pub cloud_config_id: CloudConfigId,
    /// Its number.
    pub revision: i32,
    /// User-data.
    pub user_data: &'a str,
    /// Image.
    pub image: &'a str,
    /// Config keys.
    pub config: serde_json::Value,
    /// Author.
    pub author_id: Option<UserId>,
    /// Author's name.
    pub author_name: &'a str,
    /// Image server URL.
    pub image_server: Option<&'a str>,
    /// Image server protocol.
    pub image_protocol: Option<ImageProtocol>,
    /// Image server certificate.
    pub image_certificate: Option<&'a str>,
}

impl<'a> NewRevision<'a> {
    /// The image server columns of `server`.
    pub fn with_image_server(mut self, server: Option<&'a ImageServer>) -> Self {
        self.image_server = server.map(|s| s.url.as_str());
        self.image_protocol = server.map(|s| s.protocol);
        self.image_certificate = server.and_then(|s| s.certificate.as_deref());
        self
    }
}

impl Revision {
    /// The config keys as a map (the column only ever holds an object of strings).
    pub fn config_map(&self) -> BTreeMap<String, String> {
        serde_json::from_value(self.config.clone()).unwrap_or_default()
    }

    /// The image server the image comes from, if any.
    pub fn image_server(&self) -> Option<ImageServer> {
        Some(ImageServer {
            url: self.image_server.clone()?,
            protocol: self.image_protocol?,
            certificate: self.image_certificate.clone(),
        })
    }

    /// Inserts a revision.
    pub fn insert(conn: &mut PgConnection, new: &NewRevision<'_>) -> QueryResult<Revision> {
        diesel::insert_into(cloud_config_revisions::table)
            .values(new)
            .returning(Revision::as_returning())
            .get_result(conn)
    }

    /// One revision.
    pub fn find(conn: &mut PgConnection, id: CloudConfigId, revision: i32) -> QueryResult<Revision> {
        cloud_config_revisions::table.find((id, revision)).select(Revision::as_select()).first(conn)
    }

    /// All revisions of a cloud-config, newest first.
    /// Up to `limit` of a cloud-config's revisions, newest first, older than `before`.
    pub fn page(
        conn: &mut PgConnection,
        id: CloudConfigId,
        before: Option<i32>,
        limit: i64,
    ) -> QueryResult<Vec<Revision>> {
        let mut query = cloud_config_revisions::table
            .filter(cloud_config_revisions::cloud_config_id.eq(id))
            .select(Revision::as_select())
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(cloud_config_revisions::revision.lt(before));
        }
        query.order(cloud_config_revisions::revision.desc()).limit(limit).load(conn)
    }
}

impl CloudConfig {
    /// Inserts a cloud-config.
    pub fn create(conn: &mut PgConnection, new: &NewCloudConfig<'_>) -> QueryResult<CloudConfig> {
        diesel::insert_into(cloud_configs::table)
            .values(new)
            .returning(CloudConfig::as_returning())
            .get_result(conn)
    }

    /// One cloud-config, locked for update when `lock` (revisions are numbered under the lock).
    pub fn find(conn: &mut PgConnection, id: CloudConfigId, lock: bool) -> QueryResult<CloudConfig> {
        let query = cloud_configs::table.find(id).select(CloudConfig::as_select());
        if lock { query.for_update().first(conn) } else { query.first(conn) }
    }

    /// Up to `limit` cloud-configs with their current revision, by namespace, name (then ID),
    /// after `after`; optionally filtered by namespace and by a case-insensitive search over
    /// `namespace/name` and the description.
    pub fn search(
        conn: &mut PgConnection,
        namespace: Option<&str>,
        text: Option<&str>,
        after: Option<(&str, &str, CloudConfigId)>,
        limit: i64,
    ) -> QueryResult<Vec<(CloudConfig, Revision)>> {
        let mut query = cloud_configs::table
            .inner_join(
                cloud_config_revisions::table.on(cloud_config_revisions::cloud_config_id
                    .eq(cloud_configs::id)
                    .and(cloud_config_revisions::revision.eq(cloud_configs::current_revision))),
            )
            .order((cloud_configs::namespace, cloud_configs::name, cloud_configs::id))
            .select((CloudConfig::as_select(), Revision::as_select()))
            .into_boxed();
        if let Some(ns) = namespace {
            query = query.filter(cloud_configs::namespace.eq(ns.to_owned()));
        }
        if let Some(text) = text {
            let pattern = keyset::contains_pattern(text);
            query = query.filter(
                cloud_configs::namespace
                    .concat("/")
                    .concat(cloud_configs::name)
                    .ilike(pattern.clone())
                    .or(cloud_configs::description.ilike(pattern)),
            );
        }
        if let Some((namespace, name, id)) = after {
            query = query.filter(keyset::after_text2(
                ("cloud_configs.namespace", "cloud_configs.name"),
                "cloud_configs.id",
                (namespace, name, id.0),
            ));
        }
        query.limit(limit).load(conn)
    }

    /// `namespace/name` of each of `ids`.
    pub fn names(
        conn: &mut PgConnection,
        ids: &[CloudConfigId],
    ) -> QueryResult<Vec<(CloudConfigId, String)>> {
        let rows: Vec<(CloudConfigId, String, String)> = cloud_configs::table
            .filter(cloud_configs::id.eq_any(ids))
            .select((cloud_configs::id, cloud_configs::namespace, cloud_configs::name))
            .load(conn)?;
        Ok(rows.into_iter().map(|(id, ns, name)| (id, format!("{ns}/{name}"))).collect())
    }

    /// The deployments using each of `ids`: those it is a member of, and those that still have
    /// instances made from it (a member removed while its instances remain), by name.
    pub fn used_by(
        conn: &mut PgConnection,
        ids: &[CloudConfigId],
    ) -> QueryResult<Vec<(CloudConfigId, DeploymentId, String)>> {
        let mut users: Vec<(CloudConfigId, DeploymentId, String)> = deployment_cloud_configs::table
            .inner_join(deployments::table)
            .filter(deployment_cloud_configs::cloud_config_id.eq_any(ids))
            .select((deployment_cloud_configs::cloud_config_id, deployments::id, deployments::name))
            .load(conn)?;
        let with_instances: Vec<(CloudConfigId, DeploymentId, String)> = instances::table
            .inner_join(deployments::table)
            .filter(instances::cloud_config_id.eq_any(ids))
            .select((instances::cloud_config_id, deployments::id, deployments::name))
            .distinct()
            .load(conn)?;
        users.extend(with_instances);
        users.sort_by(|a, b| (&a.2, a.0).cmp(&(&b.2, b.0)));
        users.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        Ok(users)
    }
}
