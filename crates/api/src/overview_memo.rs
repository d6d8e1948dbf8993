//! A short-lived memo of the deployments overview, so many readers share one computation.
//!
//! The overview's figures already come from the host cache, never from LXD; what remains per
//! request is reading Mosaic's rows and rendering JSON. Under many concurrent readers on a small
//! machine that is what sets the tail latency, so the rendered body is kept for a moment.
//!
//! The memo decides alone when a rendering is stale. It is keyed by what the overview depends on:
//! the job signals' and the host cache's change counters (every job write and every cache change
//! bumps them), and its own count of state-changing API requests ([`count_writes`]). Nobody else
//! resets it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};

use crate::state::AppState;

/// Longest a rendered overview is served, even if nothing announced a change: it bounds how stale
/// the reported data age can be.
const MAX_AGE: Duration = Duration::from_millis(250);

/// What a rendering was computed from.
pub type Key = (u64, u64, u64);

/// The memo.
#[derive(Debug, Default)]
pub struct OverviewMemo {
    writes: AtomicU64,
    rendered: Mutex<Option<(Key, Instant, Bytes)>>,
}

impl OverviewMemo {
    /// The state the overview would be computed from now; read it before computing, so a change
    /// during the computation makes the result unusable for later readers.
    pub fn key(&self, state: &AppState) -> Key {
        (state.jobs.generation(), state.cache.generation(), self.writes.load(Ordering::SeqCst))
    }

    /// The rendered overview, if it was computed from `key` and is recent.
    pub fn get(&self, key: Key) -> Option<Bytes> {
        let rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        match &*rendered {
            Some((k, at, body)) if *k == key && at.elapsed() < MAX_AGE => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps a rendering computed from `key`.
    pub fn put(&self, key: Key, body: Bytes) {
        *self.rendered.lock().unwrap_or_else(|e| e.into_inner()) = Some((key, Instant::now(), body));
    }
}

/// Middleware: counts every state-changing request (whatever it changed, the overview may show
/// it), after it ran.
pub async fn count_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mutating = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let res = next.call(req).await?;
    if mutating && let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.overview.writes.fetch_add(1, Ordering::SeqCst);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendering_is_served_only_for_its_own_key() {
        let memo = OverviewMemo::default();
        memo.put((1, 1, 1), Bytes::from_static(b"[1]"));
        assert_eq!(memo.get((1, 1, 1)).as_deref(), Some(&b"[1]"[..]));
        assert_eq!(memo.get((2, 1, 1)), None, "a job changed");
        assert_eq!(memo.get((1, 2, 1)), None, "the host cache changed");
        assert_eq!(memo.get((1, 1, 2)), None, "a request changed something");
    }
}
