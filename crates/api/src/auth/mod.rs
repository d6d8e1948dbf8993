//! Bearer-token authentication, and who may do what (`policy`, enforced by `authorize`).
//!
//! Tokens are 32 random bytes, handed out once as `mosaic_<hex>`; the database keeps only their
//! SHA-256. A fast hash is right here (unlike for passwords): the secret has 256 bits of entropy,
//! so there is nothing to brute-force, and lookups stay a single indexed equality.

use std::future::{Ready, ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, http::header, web};
use chrono::{DateTime, Utc};
use mosaic_db::models::tokens::ApiToken;
use mosaic_types::users::Role;
use mosaic_types::{DeploymentId, TokenId, UserId};
use ring::rand::{SecureRandom, SystemRandom};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

mod authorize;
pub mod policy;

pub use authorize::authorize;

/// The authenticated caller of a request: the user, and what the token used allows.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub id: UserId,
    /// The user's name.
    pub name: String,
    /// The token used.
    pub token: TokenId,
    /// What this request may do: the token's role, or its user's if lower.
    pub role: Role,
    /// The token's own role limit (`None`: it follows its user's role).
    pub token_role: Option<Role>,
    /// The only deployments this token may act on (`None`: all).
    pub deployments: Option<Vec<DeploymentId>>,
    /// When the token stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

impl AuthUser {
    /// Whether the caller is an admin (with an admin's token).
    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }

    /// Whether this token may act on `deployment`.
    pub fn may_act_on(&self, deployment: DeploymentId) -> bool {
        self.deployments.as_ref().is_none_or(|ids| ids.contains(&deployment))
    }
}

/// Fewest characters a configured token may have: shorter is guessable, not a secret.
pub const MIN_SECRET_LEN: usize = 32;

/// A new random token secret.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(format!("mosaic_{}", hex::encode(bytes)))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, secret.as_bytes()).as_ref().to_vec()
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    /// Reads the caller that [`authenticate`] put in the request: by the time extractors run,
    /// the token has been checked, so a bad token is a 401 before any input is looked at.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = req.extensions().get::<AuthUser>().cloned();
        ready(
            user.ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer <token> header".into())),
        )
    }
}

/// Middleware for everything under `/api/v1`: checks the bearer token and records the caller,
/// or answers 401 without running the handler.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match caller(req.request()).await {
        Ok(user) => {
            req.extensions_mut().insert(user);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

async fn caller(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let secret = bearer(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| anyhow::anyhow!("application state is not configured"))?
        .clone();
    let hash = hash_secret(&secret);
    let found = db::query(&state.pool, move |conn| ApiToken::authenticate(conn, &hash)).await?;
    let (token, user) = found.ok_or_else(|| {
        ApiError::Unauthorized(
            "the token is not valid (unknown, revoked, expired, or its user is disabled)".into(),
        )
    })?;
    Ok(AuthUser {
        deployments: token.deployment_ids(),
        role: token.role.map_or(user.role, |limit| limit.min(user.role)),
        token_role: token.role,
        id: user.id,
        name: user.name,
        token: token.id,
        expires_at: token.expires_at,
    })
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer <token> header".into()))?;
    let value =
        value.to_str().map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())),
    }
}
