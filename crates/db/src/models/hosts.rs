//! `hosts`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::HostId;
use mosaic_types::hosts::HostTransport;

use crate::models::keyset;
use crate::schema::hosts;

/// A registered LXD host.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = hosts, check_for_backend(diesel::pg::Pg))]
pub struct Host {
    /// Its ID.
    pub id: HostId,
    /// Its unique name.
    pub name: String,
    /// `https` or `unix`.
    pub transport: HostTransport,
    /// HTTPS URL.
    pub url: Option<String>,
    /// Pinned certificate fingerprint (HTTPS).
    pub fingerprint: Option<String>,
    /// Unix socket path.
    pub socket_path: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The LXD project every call is scoped to.
    pub project: String,
    /// A clustered host's other members' URLs, to fail over to.
    pub member_urls: Vec<Option<String>>,
}

/// A host to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = hosts)]
pub struct NewHost<'a> {
    /// Its ID.
    pub id: HostId,
    /// Its name.
    pub name: &'a str,
    /// `https` or `unix`.
    pub transport: HostTransport,
    /// HTTPS URL.
    pub url: Option<&'a str>,
    /// Pinned fingerprint.
    pub fingerprint: Option<&'a str>,
    /// Unix socket path.
    pub socket_path: Option<&'a str>,
    /// The LXD project.
    pub project: &'a str,
    /// A clustered host's other members' URLs.
    pub member_urls: Vec<String>,
}

impl Host {
    /// Inserts a host.
    pub fn create(conn: &mut PgConnection, new: &NewHost<'_>) -> QueryResult<Host> {
        diesel::insert_into(hosts::table).values(new).returning(Host::as_returning()).get_result(conn)
    }

    /// Every host, by name.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<Host>> {
        hosts::table.order(hosts::name).select(Host::as_select()).load(conn)
    }

    /// Up to `limit` hosts by name (then ID) after `after`, those whose name contains
    /// `name_contains` (case-insensitive) when given.
    pub fn page(
        conn: &mut PgConnection,
        name_contains: Option<&str>,
        after: Option<(&str, HostId)>,
        limit: i64,
    ) -> QueryResult<Vec<Host>> {
        let mut query = hosts::table.select(Host::as_select()).into_boxed();
        if let Some(text) = name_contains {
            query = query.filter(hosts::name.ilike(keyset::contains_pattern(text)));
        }
        if let Some((name, id)) = after {
            query = query.filter(keyset::after_text("hosts.name", "hosts.id", (name, id.0)));
        }
        query.order((hosts::name, hosts::id)).limit(limit).load(conn)
    }

    /// One host.
    pub fn find(conn: &mut PgConnection, id: HostId) -> QueryResult<Host> {
        hosts::table.find(id).select(Host::as_select()).first(conn)
    }

    /// Renames a host.
    pub fn rename(conn: &mut PgConnection, id: HostId, name: &str) -> QueryResult<Host> {
        diesel::update(hosts::table.find(id))
            .set((hosts::name.eq(name), hosts::updated_at.eq(Utc::now())))
            .returning(Host::as_returning())
            .get_result(conn)
    }

    /// The other members' URLs of a clustered host, without gaps.
    pub fn member_urls(&self) -> Vec<String> {
        self.member_urls.iter().flatten().cloned().collect()
    }

    /// Replaces a clustered host's other members' URLs (the cluster changed).
    pub fn set_member_urls(conn: &mut PgConnection, id: HostId, urls: &[String]) -> QueryResult<()> {
        diesel::update(hosts::table.find(id))
            .set((hosts::member_urls.eq(urls), hosts::updated_at.eq(Utc::now())))
            .execute(conn)
            .map(drop)
    }

    /// Removes a host; `false` if there was none.
    pub fn delete(conn: &mut PgConnection, id: HostId) -> QueryResult<bool> {
        diesel::delete(hosts::table.find(id)).execute(conn).map(|n| n == 1)
    }
}
