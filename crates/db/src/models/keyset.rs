//! Keyset pagination: the row comparisons list queries seek with, and LIKE escaping for the
//! filters users search with.
//!
//! A page continues after the last row of the previous one: `(key, id) > (last key, last id)`
//! with `ORDER BY key, id` (or `<` and `DESC` for newest-first lists). PostgreSQL answers a row
//! comparison from a btree index on the same columns, so reading a page costs the same however
//! many rows come before it (an `OFFSET`, or `key > a OR (key = a AND id > b)`, would not).

use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::sql_types::{Bool, Text, Timestamptz, Uuid};

/// A seek condition, usable in any boxed query.
pub type Seek<QS> = Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>;

/// `(key, id) > (after.0, after.1)` over columns named as SQL (`table.column`): a text key, then
/// a UUID ID.
pub fn after_text<QS>(key: &'static str, id: &'static str, after: (&str, uuid::Uuid)) -> Seek<QS> {
    Box::new(
        diesel::dsl::sql::<Bool>(&format!("({key}, {id}) > ("))
            .bind::<Text, _>(after.0.to_owned())
            .sql(", ")
            .bind::<Uuid, _>(after.1)
            .sql(")"),
    )
}

/// `(key1, key2, id) > (…)`: two text keys (such as namespace and name), then a UUID ID.
pub fn after_text2<QS>(
    keys: (&'static str, &'static str),
    id: &'static str,
    after: (&str, &str, uuid::Uuid),
) -> Seek<QS> {
    Box::new(
        diesel::dsl::sql::<Bool>(&format!("({}, {}, {id}) > (", keys.0, keys.1))
            .bind::<Text, _>(after.0.to_owned())
            .sql(", ")
            .bind::<Text, _>(after.1.to_owned())
            .sql(", ")
            .bind::<Uuid, _>(after.2)
            .sql(")"),
    )
}

/// `(time, id) < (…)`: continues a newest-first list over a timestamp, then a UUID ID.
pub fn before_time<QS>(
    key: &'static str,
    id: &'static str,
    before: (chrono::DateTime<chrono::Utc>, uuid::Uuid),
) -> Seek<QS> {
    Box::new(
        diesel::dsl::sql::<Bool>(&format!("({key}, {id}) < ("))
            .bind::<Timestamptz, _>(before.0)
            .sql(", ")
            .bind::<Uuid, _>(before.1)
            .sql(")"),
    )
}

/// `%text%` with `%`, `_` and `\` escaped, so user text matches literally inside a LIKE pattern.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}
