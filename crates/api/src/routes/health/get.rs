//! `GET /api/health`.

use actix_web::{HttpResponse, get};
use serde::Serialize;

/// The health report.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when the server answers.
    pub status: &'static str,
    /// The server's version.
    pub version: &'static str,
}

/// Reports that the server is up; used by load balancers and the run script.
#[get("/health")]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}
