//! `/api/v1/jobs`: progress of long work.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod events;
pub mod get;
pub mod list;

/// Registers the job routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list::list_jobs).service(get::get_job).service(events::stream_job_events);
}
