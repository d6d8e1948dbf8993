-- Rolling out a revision: a job kind, and the rollout's own record (what was asked, where it is,
-- and its figures), one per rollout job.

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('deploy', 'start', 'stop', 'delete', 'remove', 'restart', 'recreate', 'heal', 'rollout'));

CREATE TABLE rollouts (
    job_id                    UUID PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    cloud_config_id           UUID NOT NULL,
    -- The revision the member was pinned to when the rollout was asked for.
    from_revision             INTEGER NOT NULL,
    to_revision               INTEGER NOT NULL,
    -- How many instances the member had when the rollout was asked for: how many it ends with.
    target_count              INTEGER NOT NULL CHECK (target_count >= 0),
    max_surge                 INTEGER NOT NULL CHECK (max_surge >= 0),
    max_unavailable           INTEGER NOT NULL CHECK (max_unavailable >= 0),
    min_ready_seconds         INTEGER NOT NULL CHECK (min_ready_seconds >= 0),
    progress_deadline_seconds INTEGER NOT NULL CHECK (progress_deadline_seconds > 0),
    pause_after_canary        BOOLEAN NOT NULL,
    -- Set once someone resumed after the canary: the rollout does not pause again.
    canary_passed             BOOLEAN NOT NULL DEFAULT FALSE,
    phase                     TEXT NOT NULL DEFAULT 'progressing'
        CHECK (phase IN ('progressing', 'paused', 'aborting', 'succeeded', 'failed', 'aborted')),
    -- Progress must be made (a new instance ready) before this, or the rollout fails.
    deadline_at               TIMESTAMPTZ NOT NULL,
    -- The figures the rollout last saw (from the database and LXD), for people watching.
    old_count                 INTEGER NOT NULL DEFAULT 0,
    new_count                 INTEGER NOT NULL DEFAULT 0,
    ready_count               INTEGER NOT NULL DEFAULT 0,
    -- The most instances of the member that existed at once, as the rollout counted them.
    peak_count                INTEGER NOT NULL DEFAULT 0,
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now()
);
