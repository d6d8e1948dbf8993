//! `api_tokens`.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use mosaic_types::{TokenId, UserId};

use crate::models::users::User;
use crate::schema::{api_tokens, users};

/// An API token (its hash, never its secret).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct ApiToken {
    /// Its ID.
    pub id: TokenId,
    /// Its owner.
    pub user_id: UserId,
    /// What it is for.
    pub name: String,
    /// SHA-256 of the secret.
    pub token_hash: Vec<u8>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    /// Its ID.
    pub id: TokenId,
    /// Its owner.
    pub user_id: UserId,
    /// What it is for.
    pub name: &'a str,
    /// SHA-256 of the secret.
    pub token_hash: &'a [u8],
}

impl ApiToken {
    /// Inserts a token.
    pub fn create(conn: &mut PgConnection, new: &NewApiToken<'_>) -> QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values(new)
            .returning(ApiToken::as_returning())
            .get_result(conn)
    }

    /// The live token with this hash and its user, if any; notes the use (at most once a minute,
    /// so authentication is not a write on every request).
    pub fn authenticate(conn: &mut PgConnection, hash: &[u8]) -> QueryResult<Option<(ApiToken, User)>> {
        let found = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(hash))
            .filter(api_tokens::revoked_at.is_null())
            .select((ApiToken::as_select(), User::as_select()))
            .first::<(ApiToken, User)>(conn)
            .optional()?;
        if let Some((token, _)) = &found {
            let stale = token.last_used_at.is_none_or(|t| Utc::now() - t > Duration::minutes(1));
            if stale {
                diesel::update(api_tokens::table.find(token.id))
                    .set(api_tokens::last_used_at.eq(Utc::now()))
                    .execute(conn)?;
            }
        }
        Ok(found)
    }

    /// A user's live tokens, newest first.
    pub fn for_user(conn: &mut PgConnection, user: UserId) -> QueryResult<Vec<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user))
            .filter(api_tokens::revoked_at.is_null())
            .order(api_tokens::created_at.desc())
            .select(ApiToken::as_select())
            .load(conn)
    }

    /// Revokes one of a user's tokens; `false` if the user has no such live token.
    pub fn revoke(conn: &mut PgConnection, user: UserId, id: TokenId) -> QueryResult<bool> {
        let n = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::user_id.eq(user))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(Utc::now()))
        .execute(conn)?;
        Ok(n == 1)
    }
}

impl From<ApiToken> for mosaic_types::users::ApiToken {
    fn from(t: ApiToken) -> Self {
        mosaic_types::users::ApiToken {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        }
    }
}
