//! Enforcing the policy: every authenticated request is checked against its operation's rule
//! before the handler runs, so no handler can forget to.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Job;
use mosaic_types::{DeploymentId, InstanceId, JobId};

use super::AuthUser;
use super::policy::{self, Scope};
use crate::audit::OperationNames;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Middleware inside [`super::authenticate`]: answers 403 when the caller's role is below the
/// operation's, or the operation is outside the token's deployments. Paths that name no
/// documented operation pass on, to be answered 404 or 405.
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match check(&req).await {
        Ok(()) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(e) => Ok(req.error_response(e)),
    }
}

async fn check(req: &ServiceRequest) -> Result<(), ApiError> {
    let Some(user) = req.extensions().get::<AuthUser>().cloned() else { return Ok(()) };
    let Some(pattern) = req.match_pattern() else { return Ok(()) };
    let names =
        req.app_data::<web::Data<OperationNames>>().ok_or_else(|| anyhow::anyhow!("no operation names"))?;
    let Some(operation) = names.get(req.method().as_str(), &pattern) else { return Ok(()) };
    let rule =
        policy::rule(operation).ok_or_else(|| anyhow::anyhow!("operation {operation} has no policy rule"))?;
    if user.role < rule.role {
        return Err(ApiError::Forbidden(format!(
            "{operation} needs the {} role; this token has {}",
            rule.role, user.role
        )));
    }
    if user.deployments.is_none() {
        return Ok(());
    }
    let outside = || {
        ApiError::Forbidden(format!("this token may act only on its deployments, and {operation} does not"))
    };
    match rule.scope {
        Scope::Shared => Ok(()),
        Scope::Outside => Err(outside()),
        Scope::Deployment => {
            let id: Option<DeploymentId> = path_id(req.path(), &pattern, "deployments");
            match id {
                Some(id) if user.may_act_on(id) => Ok(()),
                _ => Err(outside()),
            }
        }
        Scope::Job => {
            let Some(id) = path_id::<JobId>(req.path(), &pattern, "jobs") else { return Err(outside()) };
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| anyhow::anyhow!("no state"))?;
            let job = db::query(&state.pool, move |conn| {
                use diesel::OptionalExtension;
                Job::find(conn, id).optional()
            })
            .await?;
            // A job that does not exist is the handler's 404 to give… but not to a token that
            // could use it to learn which jobs exist: refused alike.
            inside(&user, job.and_then(|j| j.deployment_id)).ok_or_else(outside)
        }
        Scope::Instance => {
            let Some(id) = path_id::<InstanceId>(req.path(), &pattern, "instances") else {
                return Err(outside());
            };
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| anyhow::anyhow!("no state"))?;
            let instance = db::query(&state.pool, move |conn| {
                use diesel::OptionalExtension;
                Instance::find(conn, id).optional()
            })
            .await?;
            inside(&user, instance.map(|i| i.deployment_id)).ok_or_else(outside)
        }
    }
}

/// `Some` if `deployment` is one the token may act on.
fn inside(user: &AuthUser, deployment: Option<DeploymentId>) -> Option<()> {
    deployment.filter(|d| user.may_act_on(*d)).map(drop)
}

/// The ID after `/<collection>/` in `path`, at the place the route pattern has its `{id}`.
fn path_id<T: std::str::FromStr>(path: &str, pattern: &str, collection: &str) -> Option<T> {
    let segments: Vec<&str> = path.split('/').collect();
    let template: Vec<&str> = pattern.split('/').collect();
    let at = template.windows(2).position(|w| w[0] == collection && w[1].starts_with('{'))?;
    segments.get(at + 1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::path_id;
    use mosaic_types::DeploymentId;

    #[test]
    fn the_id_is_read_where_the_pattern_has_it() {
        let id = uuid::Uuid::new_v4();
        let got: Option<DeploymentId> = path_id(
            &format!("/api/v1/deployments/{id}/start"),
            "/api/v1/deployments/{id}/start",
            "deployments",
        );
        assert_eq!(got, Some(DeploymentId(id)));
        let none: Option<DeploymentId> =
            path_id("/api/v1/deployments/nope", "/api/v1/deployments/{id}", "deployments");
        assert_eq!(none, None);
    }
}
