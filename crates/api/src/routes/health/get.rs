//! `GET /api/health`.

use std::time::Duration;

use actix_web::{get, web};
use diesel::RunQueryDsl;
use mosaic_db::models::hosts::Host;
use mosaic_types::health::{Health, HostHealth};

use crate::db;
use crate::error::ApiError;
use crate::hosts::probe_all;
use crate::state::AppState;

/// Reports whether the database and each registered LXD host answer.
///
/// Never fails because a dependency is down: that is what it reports.
#[utoipa::path(tag = "health", responses((status = 200, description = "Health report", body = Health)))]
#[get("/health")]
pub async fn get_health(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let hosts = db::run(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(Host::all(conn)?)
    })
    .await;
    let (database, hosts) = match hosts {
        Ok(hosts) => (true, hosts),
        Err(e) => {
            tracing::warn!(error = ?e, "health: the database does not answer");
            (false, Vec::new())
        }
    };
    let clients: Vec<_> = hosts.iter().map(|h| state.hosts.get(h, &state.identity).ok()).collect();
    let statuses = probe_all(&clients, Duration::from_secs(state.settings.lxd_probe_timeout_secs)).await;
    let hosts =
        hosts.into_iter().zip(statuses).map(|(h, s)| HostHealth { name: h.name, online: s.online }).collect();
    Ok(web::Json(Health {
        status: if database { "ok" } else { "degraded" }.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database,
        hosts,
    }))
}
