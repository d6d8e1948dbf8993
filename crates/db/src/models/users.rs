//! `users`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::UserId;
use mosaic_types::users::Role;

use crate::models::keyset;
use crate::schema::users;

/// A user.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// Its ID.
    pub id: UserId,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// What it may do.
    pub role: Role,
    /// When it was disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A user to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Its ID.
    pub id: UserId,
    /// Its name.
    pub name: &'a str,
    /// What it may do.
    pub role: Role,
}

impl User {
    /// Inserts a user.
    pub fn create(conn: &mut PgConnection, new: &NewUser<'_>) -> QueryResult<User> {
        diesel::insert_into(users::table).values(new).returning(User::as_returning()).get_result(conn)
    }

    /// How many users exist (zero on the very first start).
    pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    /// One user.
    pub fn find(conn: &mut PgConnection, id: UserId) -> QueryResult<User> {
        users::table.find(id).select(User::as_select()).first(conn)
    }

    /// Every user, by name.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<User>> {
        users::table.order(users::name).select(User::as_select()).load(conn)
    }

    /// Up to `limit` users by name (then ID) after `after`.
    pub fn page(
        conn: &mut PgConnection,
        after: Option<(&str, UserId)>,
        limit: i64,
    ) -> QueryResult<Vec<User>> {
        let mut query = users::table.select(User::as_select()).into_boxed();
        if let Some((name, id)) = after {
            query = query.filter(keyset::after_text("users.name", "users.id", (name, id.0)));
        }
        query.order((users::name, users::id)).limit(limit).load(conn)
    }

    /// Changes a user's role.
    pub fn set_role(conn: &mut PgConnection, id: UserId, role: Role) -> QueryResult<User> {
        diesel::update(users::table.find(id))
            .set(users::role.eq(role))
            .returning(User::as_returning())
            .get_result(conn)
    }

    /// Disables a user (keeping the first time it was disabled) or enables it again.
    pub fn set_disabled(conn: &mut PgConnection, id: UserId, disabled: bool) -> QueryResult<User> {
        let when =
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(if disabled {
                "COALESCE(disabled_at, now())"
            } else {
                "NULL"
            });
        diesel::update(users::table.find(id))
            .set(users::disabled_at.eq(when))
            .returning(User::as_returning())
            .get_result(conn)
    }

    /// Locks every admin's row, so two changes that each take away a different admin cannot both
    /// see the other one still there.
    pub fn lock_admins(conn: &mut PgConnection) -> QueryResult<()> {
        users::table
            .filter(users::role.eq(Role::Admin))
            .select(users::id)
            .for_update()
            .load::<UserId>(conn)
            .map(drop)
    }

    /// How many enabled admins there are (the last one may not be demoted or disabled).
    pub fn enabled_admins(conn: &mut PgConnection) -> QueryResult<i64> {
        users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::disabled_at.is_null())
            .count()
            .get_result(conn)
    }
}

impl From<User> for mosaic_types::users::User {
    fn from(u: User) -> Self {
        mosaic_types::users::User {
            id: u.id,
            name: u.name,
            role: u.role,
            disabled_at: u.disabled_at,
            created_at: u.created_at,
        }
    }
}
