//! Counting HTTP requests, and the metrics listener's one route.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The route label of a request no route matched (the web app's files, unknown paths).
const UNMATCHED: &str = "unmatched";

/// Middleware: counts every request by method, route pattern and status, with the time to the
/// response head. The pattern (`/api/v1/deployments/{id}`), never the raw path: one series per
/// route, however many IDs there are.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().as_str().to_owned();
    let answered = next.call(req).await;
    if let Some(state) = state {
        let (route, status) = match &answered {
            Ok(res) => (res.request().match_pattern(), res.status().as_u16()),
            Err(e) => (None, e.as_response_error().status_code().as_u16()),
        };
        let route = route.as_deref().unwrap_or(UNMATCHED);
        state.metrics.http_request(&method, route, status, started.elapsed());
    }
    answered
}

/// `GET /metrics`: everything, in Prometheus' text format. On its own listener, without a token.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let text = state.metrics.render(&state).await;
    HttpResponse::Ok().content_type(super::CONTENT_TYPE).body(text)
}
