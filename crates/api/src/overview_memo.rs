//! A short-lived memo of the deployments overview, so many readers share one computation.
//!
//! The overview's figures already come from the host cache, never from LXD; what remains per
//! request is reading Mosaic's rows and rendering JSON. Under many concurrent readers on a small
//! machine that is what sets the tail latency, so the rendered body is kept for a moment and
//! thrown away as soon as anything it depends on may have changed: any state-changing request
//! (the audit middleware sees them all), any job progress, any host-cache refresh.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// Longest a rendered overview is served, even if nothing announced a change: it bounds how stale
/// the reported data age can be.
const MAX_AGE: Duration = Duration::from_millis(250);

/// The memo.
#[derive(Debug, Default)]
pub struct OverviewMemo {
    generation: AtomicU64,
    rendered: Mutex<Option<(u64, Instant, Bytes)>>,
}

impl OverviewMemo {
    /// Something the overview depends on may have changed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The current generation, read before computing (so a change during the computation makes
    /// the result unusable for later readers).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The rendered overview, if still valid.
    pub fn get(&self) -> Option<Bytes> {
        let generation = self.generation();
        let rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        match &*rendered {
            Some((g, at, body)) if *g == generation && at.elapsed() < MAX_AGE => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps a rendering computed from the state of `generation`.
    pub fn put(&self, generation: u64, body: Bytes) {
        *self.rendered.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, Instant::now(), body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_invalidates_and_a_stale_rendering_is_never_kept() {
        let memo = OverviewMemo::default();
        let g = memo.generation();
        memo.put(g, Bytes::from_static(b"[1]"));
        assert_eq!(memo.get().as_deref(), Some(&b"[1]"[..]));
        memo.invalidate();
        assert_eq!(memo.get(), None);
        // A rendering that started before a change is stored but never served.
        memo.put(g, Bytes::from_static(b"[2]"));
        assert_eq!(memo.get(), None);
    }
}
