//! Following a job's progress through its server-sent event stream.
//!
//! The browser's `EventSource` cannot send an `Authorization` header, so the stream is read with
//! `fetch` and parsed here.

use gloo_net::http::Request;
use js_sys::{Reflect, Uint8Array};
use mosaic_types::JobId;
use mosaic_types::jobs::Job;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use super::ApiError;

fn stream_error(e: impl std::fmt::Debug) -> ApiError {
    ApiError { status: 0, code: "stream".into(), message: format!("the progress stream broke: {e:?}") }
}

/// Calls `progress` with each state of the job until it finishes; returns the finished job.
pub async fn follow(token: &str, id: JobId, progress: impl Fn(Job)) -> Result<Job, ApiError> {
    let response = Request::get(&format!("/api/v1/jobs/{id}/events"))
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(stream_error)?;
    if !response.ok() {
        let text = response.text().await.unwrap_or_default();
        return Err(ApiError { status: response.status(), code: "stream".into(), message: text });
    }
    let body = response.body().ok_or_else(|| stream_error("no body"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut buffer = String::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(stream_error)?;
        let done = Reflect::get(&chunk, &"done".into()).map_err(stream_error)?.as_bool().unwrap_or(true);
        if done {
            return Err(stream_error("the stream ended before the job finished"));
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(stream_error)?;
        buffer.push_str(&String::from_utf8_lossy(&Uint8Array::new(&value).to_vec()));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
            let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("");
            let Ok(job) = serde_json::from_str::<Job>(data) else { continue };
            if name == "finished" {
                return Ok(job);
            }
            progress(job);
        }
    }
}
