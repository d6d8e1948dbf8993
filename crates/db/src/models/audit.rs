//! `audit_log`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::UserId;
use mosaic_types::audit::{AuditEntry, Outcome};

use crate::schema::audit_log;

/// One audit row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    /// Increasing ID.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who, if the user still exists.
    pub actor_id: Option<UserId>,
    /// Who, by name (kept when the user is gone).
    pub actor_name: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// `success` or `failure`.
    pub outcome: Outcome,
    /// Details.
    pub detail: String,
}

/// An audit entry to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    /// Who.
    pub actor_id: Option<UserId>,
    /// Who, by name.
    pub actor_name: &'a str,
    /// What.
    pub action: &'a str,
    /// To what.
    pub target: &'a str,
    /// `success` or `failure`.
    pub outcome: Outcome,
    /// Details.
    pub detail: &'a str,
}

impl AuditRow {
    /// Appends an entry.
    pub fn insert(conn: &mut PgConnection, new: &NewAuditEntry<'_>) -> QueryResult<()> {
        diesel::insert_into(audit_log::table).values(new).execute(conn).map(drop)
    }

    /// Newest entries first, older than `before` if given.
    pub fn page(conn: &mut PgConnection, before: Option<i64>, limit: i64) -> QueryResult<Vec<AuditRow>> {
        let mut query = audit_log::table.order(audit_log::id.desc()).limit(limit).into_boxed();
        if let Some(before) = before {
            query = query.filter(audit_log::id.lt(before));
        }
        query.select(AuditRow::as_select()).load(conn)
    }
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor_name,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            detail: r.detail,
        }
    }
}
