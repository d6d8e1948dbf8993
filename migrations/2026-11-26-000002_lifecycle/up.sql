-- The deployment lifecycle: the containers Mosaic creates, and the jobs that create, start, stop
-- and delete them.

-- 'active', or 'deleting' while its containers are being removed (it stays so, with the pending
-- instances listed, while a host is offline).
ALTER TABLE deployments ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'deleting'));

-- One row per container Mosaic created (or is creating). A row exists from the moment a deploy is
-- accepted until its container is confirmed gone from LXD, so a container is never lost track of.
CREATE TABLE instances (
    id                UUID PRIMARY KEY,
    deployment_id     UUID NOT NULL REFERENCES deployments (id) ON DELETE RESTRICT,
    cloud_config_id   UUID NOT NULL REFERENCES cloud_configs (id) ON DELETE RESTRICT,
    revision          INTEGER NOT NULL,
    host_id           UUID NOT NULL REFERENCES hosts (id) ON DELETE RESTRICT,
    name              TEXT NOT NULL,
    ordinal           INTEGER NOT NULL,
    profiles          TEXT[] NOT NULL,
    -- 'pending' (accepted, not yet in LXD), 'created' (in LXD), 'failed' (creation failed),
    -- 'deleting' (being removed).
    state             TEXT NOT NULL CHECK (state IN ('pending', 'created', 'failed', 'deleting')),
    last_error        TEXT,
    readiness         TEXT NOT NULL DEFAULT 'pending' CHECK (readiness IN ('pending', 'ready', 'failed', 'unknown')),
    readiness_detail  TEXT,
    -- The per-instance secret in the phone-home URL (NULL: phone-home not enabled). It is also
    -- readable inside the guest and in LXD's config, so it only proves which instance called.
    phone_home_secret TEXT,
    phoned_home_at    TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    first_started_at  TIMESTAMPTZ,
    last_started_at   TIMESTAMPTZ,
    last_stopped_at   TIMESTAMPTZ,
    FOREIGN KEY (cloud_config_id, revision) REFERENCES cloud_config_revisions (cloud_config_id, revision),
    UNIQUE (host_id, name),
    UNIQUE (deployment_id, cloud_config_id, ordinal)
);
CREATE INDEX instances_deployment ON instances (deployment_id);

-- Long work, claimed by exactly one server process (SELECT ... FOR UPDATE SKIP LOCKED) and kept
-- alive by its heartbeat; a job whose heartbeat stops is claimed again and finished.
CREATE TABLE jobs (
    id             UUID PRIMARY KEY,
    deployment_id  UUID REFERENCES deployments (id) ON DELETE SET NULL,
    deployment_name TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('deploy', 'start', 'stop', 'delete', 'remove')),
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    -- A deploy job that also starts what it created.
    then_start     BOOLEAN NOT NULL DEFAULT FALSE,
    total          INTEGER NOT NULL,
    done           INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    created_by     TEXT NOT NULL,
    claimed_by     TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    heartbeat_at   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_queue ON jobs (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_deployment ON jobs (deployment_id, created_at DESC);
-- At most one unfinished job per deployment.
CREATE UNIQUE INDEX jobs_one_active_per_deployment ON jobs (deployment_id) WHERE state IN ('queued', 'running');

-- Each instance's part in a job.
CREATE TABLE job_items (
    job_id         UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    instance_id    UUID NOT NULL,
    instance_name  TEXT NOT NULL,
    host_id        UUID NOT NULL,
    host_name      TEXT NOT NULL,
    step           TEXT NOT NULL,
    finished       BOOLEAN NOT NULL DEFAULT FALSE,
    error          TEXT,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, instance_id)
);
