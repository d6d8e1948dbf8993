//! `POST /api/v1/deployments/{id}/rollouts` and the actions on the current rollout
//! (`…/rollouts/current/resume`, `…/rollouts/current/abort`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use mosaic_db::models::cloud_configs::{CloudConfig as CloudConfigRow, Revision};
use mosaic_db::models::deployments::Deployment as Row;
use mosaic_db::models::instances::Instance;
use mosaic_db::models::jobs::Job as JobRow;
use mosaic_db::models::rollouts::Rollout as RolloutRow;
use mosaic_types::DeploymentId;
use mosaic_types::jobs::{Job, JobKind, JobState, RolloutPhase, RolloutRequest};

use crate::audit::AuditTarget;
use crate::auth::AuthUser;
use crate::db::{self, QueryResultExt};
use crate::error::ApiError;
use crate::jobs;
use crate::state::AppState;

/// The longest progress deadline a rollout may ask for (a day).
const MAX_DEADLINE_SECONDS: i32 = 86_400;

/// Rolls one member of the deployment out to a revision (default: its cloud-config's latest).
///
/// Replaces, never re-runs cloud-init in place: new instances are made at the revision on the
/// hosts (and spread) the member's instances have, at most `max_surge` beyond the member's count
/// at once; each must be ready (and, if the member is exposed, in rotation) for
/// `min_ready_seconds` before an old one is drained and deleted, and never more than
/// `max_unavailable` are unavailable. A new instance that fails, or no progress within
/// `progress_deadline_seconds`, fails the rollout: the new instances not yet ready are removed and
/// the old ones keep serving (`resume` tries again, `abort` gives up). With
/// `pause_after_canary` it pauses once the first new instance is available. On success the member
/// is pinned to the revision. Rolling back is a rollout to the previous revision.
///
/// The answer is the rollout's job (kind `rollout`); its `rollout` field shows the phase and the
/// old/new/ready counts, live.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    request_body = RolloutRequest,
    responses(
        (status = 202, description = "Accepted; the job rolls the member out", body = Job),
        (status = 400, description = "A revision that does not exist, a cloud-config that is not a member, or limits that allow no progress", body = mosaic_types::ErrorBody),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "Another job of this deployment is in progress, or it is being deleted", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/rollouts")]
pub async fn create_deployment_rollout(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
    body: web::Json<RolloutRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    AuditTarget::set(&req, format!("deployment {id}"));
    check_limits(&body)?;
    let user_name = user.name.clone();
    let (name, job) = db::transaction(&state.pool, move |conn| {
        let deployment = Row::find_for_update(conn, id)
            .or_not_found("deployment_not_found", || format!("no deployment with id {id}"))?;
        super::ensure_active(&deployment)?;
        let cc = body.cloud_config_id;
        let member =
            Row::members(conn, &[id])?.into_iter().find(|m| m.cloud_config_id == cc).ok_or_else(|| {
                ApiError::validation(format!(
                    "cloud-config {cc} is not part of deployment {}",
                    deployment.name
                ))
            })?;
        let latest = CloudConfigRow::find(conn, cc, false)?.current_revision;
        let revision = body.revision.unwrap_or(latest);
        Revision::find(conn, cc, revision).map_err(|e| match e {
            diesel::result::Error::NotFound => ApiError::validation(format!(
                "cloud-config {}/{} has no revision {revision}",
                member.namespace, member.name
            )),
            other => other.into(),
        })?;
        let count =
            Instance::for_deployments(conn, &[id])?.iter().filter(|i| i.cloud_config_id == cc).count();
        let job = jobs::enqueue(conn, &deployment, JobKind::Rollout, &[], &user_name, false)?;
        RolloutRow::insert(
            conn,
            &RolloutRow {
                job_id: job.id,
                cloud_config_id: cc,
                from_revision: member.revision,
                to_revision: revision,
                target_count: i32::try_from(count).unwrap_or(i32::MAX),
                max_surge: body.max_surge,
                max_unavailable: body.max_unavailable,
                min_ready_seconds: body.min_ready_seconds,
                progress_deadline_seconds: body.progress_deadline_seconds,
                pause_after_canary: body.pause_after_canary,
                canary_passed: false,
                phase: RolloutPhase::Progressing,
                deadline_at: Utc::now()
                    + chrono::Duration::seconds(i64::from(body.progress_deadline_seconds)),
                old_count: 0,
                new_count: 0,
                ready_count: 0,
                peak_count: 0,
                updated_at: Utc::now(),
            },
        )?;
        Ok::<_, ApiError>((deployment.name, jobs::load(conn, job.id)?))
    })
    .await?;
    state.jobs.wake.notify_one();
    let r = job.rollout.as_ref();
    AuditTarget::set(
        &req,
        format!(
            "deployment {name} ({id}): roll out cloud-config {} to revision {}, job {}",
            r.map(|r| r.cloud_config_id.to_string()).unwrap_or_default(),
            r.map(|r| r.to_revision).unwrap_or_default(),
            job.id
        ),
    );
    Ok(super::accepted(job))
}

fn check_limits(body: &RolloutRequest) -> Result<(), ApiError> {
    if body.max_surge < 0 || body.max_unavailable < 0 {
        return Err(ApiError::validation("max_surge and max_unavailable must not be negative"));
    }
    if body.max_surge == 0 && body.max_unavailable == 0 {
        return Err(ApiError::validation(
            "max_surge and max_unavailable are both 0: the rollout could neither add a new instance nor remove an old one",
        ));
    }
    if body.min_ready_seconds < 0 {
        return Err(ApiError::validation("min_ready_seconds must not be negative"));
    }
    if !(1..=MAX_DEADLINE_SECONDS).contains(&body.progress_deadline_seconds) {
        return Err(ApiError::validation(format!(
            "progress_deadline_seconds must be between 1 and {MAX_DEADLINE_SECONDS}"
        )));
    }
    Ok(())
}

/// What to do with the current rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Resume,
    Abort,
}

/// Resumes the deployment's current rollout: one paused after its canary goes on; one that failed
/// is tried again from where it is (the instances it removed are made again).
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 202, description = "Accepted; the rollout's job goes on", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "The deployment's latest rollout is not paused or failed, or another job of the deployment is in progress", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/rollouts/current/resume")]
pub async fn resume_deployment_rollout(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &req, &user, id.into_inner(), Action::Resume).await
}

/// Aborts the deployment's current rollout (paused or failed): its new instances are removed,
/// the old ones stay. The rollout's job ends `failed`, its phase `aborted`.
#[utoipa::path(
    tag = "deployments",
    security(("bearer" = [])),
    params(("id" = DeploymentId, Path, description = "The deployment")),
    responses(
        (status = 202, description = "Accepted; the rollout's job removes the new instances", body = Job),
        (status = 404, description = "No such deployment", body = mosaic_types::ErrorBody),
        (status = 409, description = "The deployment's latest rollout is not paused or failed, or another job of the deployment is in progress", body = mosaic_types::ErrorBody),
    )
)]
#[post("/deployments/{id}/rollouts/current/abort")]
pub async fn abort_deployment_rollout(
    user: AuthUser,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<DeploymentId>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &req, &user, id.into_inner(), Action::Abort).await
}

/// Acts on the deployment's latest rollout, if it is paused (its job runs: the runner sees the
/// new phase) or failed (its job is queued again).
async fn act(
    state: &AppState,
    req: &HttpRequest,
    user: &AuthUser,
    id: DeploymentId,
    action: Action,
) -> Result<HttpResponse, ApiError> {
    AuditTarget::set(req, format!("deployment {id}"));
    let user_name = user.name.clone();
    let job = db::transaction(&state.pool, move |conn| {
        let deployment = Row::find_for_update(conn, id)
            .or_not_found("deployment_not_found", || format!("no deployment with id {id}"))?;
        super::ensure_active(&deployment)?;
        let latest = JobRow::for_deployment(conn, id, 50)?.into_iter().find(|j| j.kind == JobKind::Rollout);
        let rollout = match &latest {
            Some(job) => RolloutRow::find(conn, job.id)?,
            None => None,
        };
        let (Some(job), Some(rollout)) = (latest, rollout) else {
            return Err(not_resumable(&deployment.name, None));
        };
        if !rollout.phase.can_resume() {
            return Err(not_resumable(&deployment.name, Some(rollout.phase)));
        }
        if rollout.phase == RolloutPhase::Failed {
            if job.state != JobState::Failed {
                return Err(not_resumable(&deployment.name, Some(rollout.phase)));
            }
            if let Some(active) = JobRow::active_for(conn, id)? {
                return Err(ApiError::Conflict {
                    code: "job_in_progress",
                    message: format!(
                        "deployment {} already has a {} job in progress ({}); wait for it to finish",
                        deployment.name, active.kind, active.id
                    ),
                });
            }
            RolloutRow::requeue(conn, job.id).or_conflict("job_in_progress", || {
                format!("deployment {} already has a job in progress", deployment.name)
            })?;
        }
        match action {
            Action::Resume => RolloutRow::pass_canary(conn, job.id)?,
            Action::Abort => RolloutRow::set_phase(conn, job.id, RolloutPhase::Aborting)?,
        }
        RolloutRow::extend_deadline(conn, job.id, rollout.progress_deadline_seconds)?;
        tracing::info!(job = %job.id, by = %user_name, ?action, "rollout acted on");
        jobs::load(conn, job.id)
    })
    .await?;
    state.jobs.wake.notify_one();
    state.jobs.changed(job.id);
    let verb = match action {
        Action::Resume => "resume",
        Action::Abort => "abort",
    };
    AuditTarget::set(
        req,
        format!("deployment {} ({id}): {verb} rollout job {}", job.deployment_name, job.id),
    );
    Ok(super::accepted(job))
}

fn not_resumable(deployment: &str, phase: Option<RolloutPhase>) -> ApiError {
    let message = match phase {
        Some(phase) => format!(
            "the latest rollout of deployment {deployment} is {phase}: only a paused or failed rollout can be resumed or aborted"
        ),
        None => format!("deployment {deployment} has no rollout"),
    };
    ApiError::Conflict { code: "rollout_not_resumable", message }
}
