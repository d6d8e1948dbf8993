//! `users`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::UserId;

use crate::schema::users;

/// A user.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// Its ID.
    pub id: UserId,
    /// Its unique name.
    pub name: String,
    /// Whether it may manage users.
    pub is_admin: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A user to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Its ID.
    pub id: UserId,
    /// Its name.
    pub name: &'a str,
    /// Whether it is an admin.
    pub is_admin: bool,
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

    /// Every user, by name.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<User>> {
        users::table.order(users::name).select(User::as_select()).load(conn)
    }
}

impl From<User> for mosaic_types::users::User {
    fn from(u: User) -> Self {
        mosaic_types::users::User { id: u.id, name: u.name, is_admin: u.is_admin, created_at: u.created_at }
    }
}
