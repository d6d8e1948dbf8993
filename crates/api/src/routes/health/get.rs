//! `GET /api/health` and `GET /api/v1/health`.

use actix_web::{get, web};
use diesel::RunQueryDsl;
use mosaic_db::models::hosts::Host;
use mosaic_types::health::{Health, HealthDetail, HostCounts, HostHealth};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Reports whether the database answers and how many hosts answered the host cache's last poll.
///
/// Needs no token, so it names nothing and costs LXD nothing: the figures come from the host
/// cache. Never fails because a dependency is down: that is what it reports.
#[utoipa::path(tag = "health", responses((status = 200, description = "Health report", body = Health)))]
#[get("/health")]
pub async fn get_health(state: web::Data<AppState>) -> web::Json<Health> {
    web::Json(health(&state).await.0)
}

/// Like `GET /api/health`, with each host named and why it does not answer.
#[utoipa::path(
    tag = "health",
    security(("bearer" = [])),
    responses((status = 200, description = "Health report with hosts", body = HealthDetail))
)]
#[get("/health")]
pub async fn get_health_detail(_user: AuthUser, state: web::Data<AppState>) -> web::Json<HealthDetail> {
    let (health, host_details) = health(&state).await;
    web::Json(HealthDetail { health, host_details })
}

async fn health(state: &AppState) -> (Health, Vec<HostHealth>) {
    let hosts = db::run(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok::<_, ApiError>(Host::all(conn)?)
    })
    .await;
    let (database, hosts) = match hosts {
        Ok(hosts) => (true, hosts),
        Err(e) => {
            tracing::warn!(error = ?e, "health: the database does not answer");
            (false, Vec::new())
        }
    };
    let snapshots = state.cache.all();
    let details: Vec<HostHealth> = hosts
        .into_iter()
        .map(|h| {
            let snapshot = snapshots.get(&h.id);
            HostHealth {
                name: h.name,
                online: snapshot.is_some_and(|s| s.instances.is_ok()),
                error: snapshot.and_then(|s| s.instances.as_ref().err().cloned()),
                data_age_ms: snapshot.map(|s| u64::try_from(s.age().as_millis()).unwrap_or(u64::MAX)),
                events: state.cache.events_of(h.id),
            }
        })
        .collect();
    let counts = HostCounts {
        total: u32::try_from(details.len()).unwrap_or(u32::MAX),
        online: u32::try_from(details.iter().filter(|h| h.online).count()).unwrap_or(u32::MAX),
    };
    let health = Health {
        status: if database { "ok" } else { "degraded" }.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database,
        hosts: counts,
    };
    (health, details)
}
