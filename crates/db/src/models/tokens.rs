//! `api_tokens`.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use mosaic_types::users::Role;
use mosaic_types::{DeploymentId, TokenId, UserId};

use crate::models::keyset;
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
    /// The role it is limited to (`None`: its user's).
    pub role: Option<Role>,
    /// The deployments it is limited to (`None`: all).
    pub deployments: Option<Vec<Option<uuid::Uuid>>>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
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
    /// The role it is limited to.
    pub role: Option<Role>,
    /// The deployments it is limited to.
    pub deployments: Option<Vec<uuid::Uuid>>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Inserts a token.
    pub fn create(conn: &mut PgConnection, new: &NewApiToken<'_>) -> QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values(new)
            .returning(ApiToken::as_returning())
            .get_result(conn)
    }

    /// The deployments a token is limited to, typed (`None`: all).
    pub fn deployment_ids(&self) -> Option<Vec<DeploymentId>> {
        self.deployments.as_ref().map(|ids| ids.iter().flatten().copied().map(DeploymentId).collect())
    }

    /// The live token with this hash and its user, if any: not revoked, not expired, and its user
    /// not disabled. Notes the use (at most once a minute, so authentication is not a write on
    /// every request).
    pub fn authenticate(conn: &mut PgConnection, hash: &[u8]) -> QueryResult<Option<(ApiToken, User)>> {
        let found = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(api_tokens::expires_at.is_null().or(api_tokens::expires_at.gt(diesel::dsl::now)))
            .filter(users::disabled_at.is_null())
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

    /// Up to `limit` of a user's live tokens with its name, newest first (then by ID, descending),
    /// after `before` (where the previous page ended).
    pub fn live_page(
        conn: &mut PgConnection,
        user: UserId,
        before: Option<(DateTime<Utc>, TokenId)>,
        limit: i64,
    ) -> QueryResult<Vec<(ApiToken, String)>> {
        let mut query = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::revoked_at.is_null())
            .filter(api_tokens::user_id.eq(user))
            .select((ApiToken::as_select(), users::name))
            .into_boxed();
        if let Some((at, id)) = before {
            query = query.filter(keyset::before_time("api_tokens.created_at", "api_tokens.id", (at, id.0)));
        }
        query.order((api_tokens::created_at.desc(), api_tokens::id.desc())).limit(limit).load(conn)
    }

    /// One live token with its user's name.
    pub fn find_live(conn: &mut PgConnection, id: TokenId) -> QueryResult<(ApiToken, String)> {
        api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::revoked_at.is_null())
            .select((ApiToken::as_select(), users::name))
            .first(conn)
    }

    /// Revokes a live token; `false` if it is not live (or not `user`'s, when `user` is given).
    pub fn revoke(conn: &mut PgConnection, id: TokenId, user: Option<UserId>) -> QueryResult<bool> {
        let mut target = diesel::update(api_tokens::table)
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::revoked_at.is_null())
            .into_boxed();
        if let Some(user) = user {
            target = target.filter(api_tokens::user_id.eq(user));
        }
        Ok(target.set(api_tokens::revoked_at.eq(Utc::now())).execute(conn)? == 1)
    }
}

/// The wire form of a token, with its user's name.
pub fn to_wire(token: ApiToken, user_name: String) -> mosaic_types::users::ApiToken {
    mosaic_types::users::ApiToken {
        deployments: token.deployment_ids(),
        id: token.id,
        user_id: token.user_id,
        user_name,
        name: token.name,
        role: token.role,
        expires_at: token.expires_at,
        created_at: token.created_at,
        last_used_at: token.last_used_at,
    }
}
