//! Bearer-token authentication.
//!
//! Tokens are 32 random bytes, handed out once as `mosaic_<hex>`; the database keeps only their
//! SHA-256. A fast hash is right here (unlike for passwords): the secret has 256 bits of entropy,
//! so there is nothing to brute-force, and lookups stay a single indexed equality.

use std::future::{Ready, ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, http::header, web};
use mosaic_db::models::tokens::ApiToken;
use mosaic_types::UserId;
use ring::rand::{SecureRandom, SystemRandom};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub id: UserId,
    /// The user's name.
    pub name: String,
    /// Whether the user is an admin.
    pub is_admin: bool,
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
    let (_, user) = found.ok_or_else(|| ApiError::Unauthorized("the token is not valid".into()))?;
    Ok(AuthUser { id: user.id, name: user.name, is_admin: user.is_admin })
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

/// Refuses non-admins.
pub fn require_admin(user: &AuthUser) -> Result<(), ApiError> {
    if user.is_admin { Ok(()) } else { Err(ApiError::Forbidden("only admins may do this".into())) }
}
