//! `GET /api/v1/jobs/{id}/events`: progress as server-sent events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use mosaic_types::jobs::{Job, JobEvent};
use mosaic_types::{JobId, UserId};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::TryRecvError;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::jobs;
use crate::state::AppState;

/// How often to look at the database when no signal came (the job may run in another server).
const RECHECK: Duration = Duration::from_secs(1);
/// How long a stream stays silent before it sends a comment line.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Streams a job's progress: an `event: progress` with the whole job (as `GET /jobs/{id}`) each
/// time it changes, then `event: finished` with its final form, and the stream ends.
#[utoipa::path(
    tag = "jobs",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "The job")),
    responses(
        (status = 200, description = "A `text/event-stream` of `progress` events, then one `finished` event; each `data:` is the job as JSON. If the job cannot be read, one `error` event whose `data:` is the error envelope ends the stream", content_type = "text/event-stream", body = JobEvent),
        (status = 429, description = "You have too many event streams open", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such job", body = mosaic_types::ErrorBody),
    )
)]
#[get("/jobs/{id}/events")]
pub async fn stream_job_events(
    user: AuthUser,
    state: web::Data<AppState>,
    id: web::Path<JobId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let open = state.streams.open(user.id, state.settings.max_event_streams_per_user)?;
    // Subscribe before the first read so no change between the two is missed.
    let signals = state.jobs.progress.subscribe();
    let first = db::run(&state.pool, move |conn| jobs::load(conn, id)).await?;
    let stream = futures::stream::unfold(
        Some(Stream {
            state,
            id,
            signals,
            last: None,
            next: Some(first),
            quiet_since: std::time::Instant::now(),
            _open: open,
        }),
        step,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

struct Stream {
    state: web::Data<AppState>,
    id: JobId,
    signals: broadcast::Receiver<JobId>,
    last: Option<Job>,
    next: Option<Job>,
    /// Since when nothing was sent.
    quiet_since: std::time::Instant,
    /// Counts this stream as open until it ends.
    _open: OpenStream,
}

/// How many event streams each user has open.
#[derive(Debug, Default)]
pub struct StreamCounts(Arc<Mutex<HashMap<UserId, usize>>>);

impl StreamCounts {
    /// Counts a new stream of `user`, or refuses it with 429 when the user has `max` open.
    pub fn open(&self, user: UserId, max: usize) -> Result<OpenStream, ApiError> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(user).or_default();
        if *count >= max {
            return Err(ApiError::TooMany {
                code: "too_many_streams",
                message: format!("you have {count} event streams open; close one first (at most {max})"),
            });
        }
        *count += 1;
        Ok(OpenStream { counts: self.0.clone(), user })
    }

    /// Streams open now, in all.
    pub fn total(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).values().sum()
    }
}

/// One open stream; dropping it (the stream ended or the client went away) uncounts it.
#[derive(Debug)]
pub struct OpenStream {
    counts: Arc<Mutex<HashMap<UserId, usize>>>,
    user: UserId,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

async fn step(stream: Option<Stream>) -> Option<(Result<Bytes, actix_web::Error>, Option<Stream>)> {
    let mut s = stream?;
    loop {
        let job = match s.next.take() {
            Some(job) => job,
            None => {
                wait(&mut s.signals, s.id).await;
                let id = s.id;
                match db::run(&s.state.pool, move |conn| jobs::load(conn, id)).await {
                    Ok(job) => job,
                    Err(e) => {
                        let body = match &e {
                            ApiError::Unexpected(cause) => {
                                tracing::error!(error = ?cause, job = %id, "event stream: cannot read the job");
                                crate::error::envelope(
                                    "internal_error",
                                    "An internal error occurred; it has been logged.",
                                )
                            }
                            other => crate::error::envelope(other.code(), other.to_string()),
                        };
                        let data = serde_json::to_string(&body).unwrap_or_default();
                        return Some((Ok(event("error", &data)), None));
                    }
                }
            }
        };
        if s.last.as_ref() == Some(&job) {
            // Nothing new: now and then a comment line, which clients ignore, so a client that went
            // away is noticed (the write fails) and its stream no longer counts as open.
            if s.quiet_since.elapsed() >= KEEP_ALIVE {
                s.quiet_since = std::time::Instant::now();
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), Some(s)));
            }
            continue;
        }
        s.quiet_since = std::time::Instant::now();
        let finished = job.state.is_finished();
        let data = serde_json::to_string(&job).unwrap_or_default();
        s.last = Some(job);
        return if finished {
            Some((Ok(event("finished", &data)), None))
        } else {
            Some((Ok(event("progress", &data)), Some(s)))
        };
    }
}

/// Waits for a signal about this job, or the recheck interval. Signals that queued up meanwhile
/// are taken together: one read of the job answers them all, so a busy job (several signals per
/// instance) costs one read per event sent, not one per signal.
async fn wait(signals: &mut broadcast::Receiver<JobId>, id: JobId) {
    let _ = tokio::time::timeout(RECHECK, async {
        loop {
            match signals.recv().await {
                Ok(changed) if changed == id => break,
                Ok(_) => continue,
                // Missed some: look now.
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    })
    .await;
    while let Ok(_) | Err(TryRecvError::Lagged(_)) = signals.try_recv() {}
}

fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}
