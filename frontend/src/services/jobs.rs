//! Following a job's progress through its server-sent event stream.
//!
//! The browser's `EventSource` cannot send an `Authorization` header, so the stream is read with
//! `fetch`, decoded by [`EventStreamDecoder`], and each event read by [`JobUpdate::from_event`].

use gloo_net::http::Request;
use js_sys::{Reflect, Uint8Array};
use mosaic_types::jobs::Job;
use mosaic_types::{ErrorBody, JobId};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use super::event_stream::{EventStreamDecoder, ServerEvent};
use super::{Api, ApiError};

/// What one event of a job's stream says.
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    /// The job changed and is still running.
    Progress(Job),
    /// The job ended; nothing follows.
    Finished(Job),
}

impl JobUpdate {
    /// Reads one event: `Ok(None)` for an event this app does not know (ignored, so the server
    /// may add kinds), `Err` for the server's `error` event (the stream ends after it: the job
    /// could no longer be read) or a job the app cannot decode.
    pub fn from_event(event: &ServerEvent) -> Result<Option<JobUpdate>, ApiError> {
        let job = |data: &str| {
            serde_json::from_str::<Job>(data).map_err(|e| ApiError {
                status: 0,
                code: "decode".into(),
                message: format!("the job's progress could not be read: {e}"),
            })
        };
        match event.name.as_str() {
            "progress" => job(&event.data).map(|j| Some(JobUpdate::Progress(j))),
            "finished" => job(&event.data).map(|j| Some(JobUpdate::Finished(j))),
            "error" => Err(stream_failed(&event.data)),
            _ => Ok(None),
        }
    }
}

/// The server's `error` event: its data is the error envelope; older servers sent the message
/// as plain text, which is kept as it is.
fn stream_failed(data: &str) -> ApiError {
    let (code, message) = match serde_json::from_str::<ErrorBody>(data) {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => ("stream".to_owned(), data.to_owned()),
    };
    ApiError {
        status: 0,
        code,
        message: format!(
            "Mosaic stopped reporting this job's progress: {message}. The job itself goes on; \
             its outcome shows in the job history."
        ),
    }
}

fn broken(e: impl std::fmt::Debug) -> ApiError {
    ApiError { status: 0, code: "stream".into(), message: format!("the progress stream broke: {e:?}") }
}

/// Calls `progress` with each state of the job until it finishes; returns the finished job.
pub async fn follow(api: &Api, id: JobId, progress: impl Fn(Job)) -> Result<Job, ApiError> {
    api.check(read(api, id, progress).await)
}

async fn read(api: &Api, id: JobId, progress: impl Fn(Job)) -> Result<Job, ApiError> {
    let response = Request::get(&format!("/api/v1/jobs/{id}/events"))
        .header("Authorization", &format!("Bearer {}", api.token()))
        .send()
        .await
        .map_err(ApiError::network)?;
    if !response.ok() {
        let text = response.text().await.unwrap_or_default();
        return Err(ApiError::from_response(response.status(), &text));
    }
    let body = response.body().ok_or_else(|| broken("no body"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut decoder = EventStreamDecoder::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(broken)?;
        let done = Reflect::get(&chunk, &"done".into()).map_err(broken)?.as_bool().unwrap_or(true);
        if done {
            return Err(broken("the stream ended before the job finished"));
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(broken)?;
        for event in decoder.push(&Uint8Array::new(&value).to_vec()) {
            match JobUpdate::from_event(&event)? {
                Some(JobUpdate::Progress(job)) => progress(job),
                Some(JobUpdate::Finished(job)) => return Ok(job),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = r#"{"id":"6f1c1f3e-8c55-4c57-9a3b-1f6f8f0e2a11","deployment_id":null,
        "deployment_name":"Café","kind":"deploy","state":"running","total":1,"done":0,"failed":0,
        "error":null,"created_by":"admin","created_at":"2025-01-01T00:00:00Z","started_at":null,
        "finished_at":null,"items":[]}"#;

    fn event(name: &str, data: &str) -> ServerEvent {
        ServerEvent { name: name.into(), data: data.into() }
    }

    #[test]
    fn progress_and_finished_carry_the_job() {
        let Ok(Some(JobUpdate::Progress(job))) = JobUpdate::from_event(&event("progress", JOB)) else {
            panic!("a progress event is progress")
        };
        assert_eq!(job.deployment_name, "Café");
        assert!(matches!(JobUpdate::from_event(&event("finished", JOB)), Ok(Some(JobUpdate::Finished(_)))));
        assert_eq!(JobUpdate::from_event(&event("heartbeat", "")), Ok(None));
        assert_eq!(JobUpdate::from_event(&event("progress", "{")).map_err(|e| e.code), Err("decode".into()));
    }

    #[test]
    fn the_servers_error_event_is_an_error_in_its_words() {
        let envelope = r#"{"error":{"code":"internal","message":"the database is unreachable"}}"#;
        let e = JobUpdate::from_event(&event("error", envelope)).unwrap_err();
        assert_eq!(e.code, "internal");
        assert!(e.message.contains("the database is unreachable"), "{}", e.message);
        let e = JobUpdate::from_event(&event("error", "pool timed out")).unwrap_err();
        assert_eq!(e.code, "stream");
        assert!(e.message.contains("pool timed out"), "{}", e.message);
    }

    #[test]
    fn a_stream_cut_anywhere_reads_as_the_same_updates() {
        let compact: String = JOB.split_whitespace().collect::<Vec<_>>().join(" ");
        let stream = format!(
            "event: progress\ndata: {compact}\n\nevent: error\ndata: {{\"error\":{{\"code\":\"internal\",\"message\":\"lost ü\"}}}}\n\n"
        );
        let bytes = stream.as_bytes();
        let cut = stream.find('é').unwrap() + 1;
        let mut decoder = EventStreamDecoder::new();
        let events: Vec<ServerEvent> =
            [&bytes[..cut], &bytes[cut..]].iter().flat_map(|c| decoder.push(c)).collect();
        let updates: Vec<_> = events.iter().map(JobUpdate::from_event).collect();
        assert!(matches!(&updates[0], Ok(Some(JobUpdate::Progress(j))) if j.deployment_name == "Café"));
        assert!(matches!(&updates[1], Err(e) if e.message.contains("lost ü")));
    }
}
