//! `POST /api/phone-home/{instance}/{secret}`: cloud-init's `phone_home` module reporting in.

use actix_web::{HttpResponse, post, web};
use mosaic_db::models::instances::Instance;
use mosaic_types::InstanceId;

use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::state::AppState;

/// Records that an instance's cloud-config ran (cloud-init posts here after `runcmd`). Reached
/// from inside the container through an LXD proxy device to the host's loopback; accepted only
/// with the instance's own secret, and only once.
#[utoipa::path(
    tag = "instances",
    params(
        ("instance" = InstanceId, Path, description = "The instance"),
        ("secret" = String, Path, description = "The instance's phone-home secret"),
    ),
    request_body(content = String, description = "cloud-init's form (instance_id, hostname, ...); ignored", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 204, description = "Recorded"),
        (status = 403, description = "Wrong secret", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such instance, or phone-home is not enabled for it", body = mosaic_types::ErrorBody),
        (status = 409, description = "It already phoned home", body = mosaic_types::ErrorBody),
    )
)]
#[post("/phone-home/{instance}/{secret}")]
pub async fn phone_home(
    state: web::Data<AppState>,
    path: web::Path<(InstanceId, String)>,
    _body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (id, secret) = path.into_inner();
    db::run(&state.pool, move |conn| {
        let missing = || format!("no instance {id} expects a phone-home");
        let instance = Instance::find(conn, id).or_not_found("instance_not_found", missing)?;
        if instance.phone_home_secret.is_none() {
            return Err(ApiError::not_found("instance_not_found", missing()));
        }
        let expected = instance.phone_home_secret.unwrap_or_default();
        // Compared as digests, so the comparison's timing says nothing about the secret.
        if crate::auth::hash_secret(&expected) != crate::auth::hash_secret(&secret) {
            return Err(ApiError::Forbidden("wrong phone-home secret".into()));
        }
        if !Instance::phoned_home(conn, id)? {
            return Err(ApiError::Conflict {
                code: "already_phoned_home",
                message: format!("instance {id} already phoned home"),
            });
        }
        Ok(())
    })
    .await?;
    tracing::info!(instance = %id, "instance phoned home");
    // Ready now: the load balancer may put it in rotation at once.
    state.routing.wake();
    Ok(HttpResponse::NoContent().finish())
}
