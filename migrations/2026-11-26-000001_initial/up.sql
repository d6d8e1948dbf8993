-- Mosaic's first schema: users and their API tokens, LXD hosts, cloud-configs with revisions,
-- deployments grouping pinned cloud-config revisions, and the audit log.

CREATE TABLE users (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Tokens are stored as the SHA-256 of the secret: a leaked table grants nothing.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE hosts (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    -- 'https' (url + pinned fingerprint) or 'unix' (socket_path, fully trusted).
    transport    TEXT NOT NULL CHECK (transport IN ('https', 'unix')),
    url          TEXT,
    fingerprint  TEXT,
    socket_path  TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((transport = 'https' AND url IS NOT NULL AND fingerprint IS NOT NULL AND socket_path IS NULL)
        OR (transport = 'unix' AND socket_path IS NOT NULL AND url IS NULL AND fingerprint IS NULL))
);

CREATE TABLE cloud_configs (
    id               UUID PRIMARY KEY,
    namespace        TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    current_revision INTEGER NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

-- Every content change is a new row; rows are never updated.
CREATE TABLE cloud_config_revisions (
    cloud_config_id UUID NOT NULL REFERENCES cloud_configs (id) ON DELETE CASCADE,
    revision        INTEGER NOT NULL CHECK (revision >= 1),
    user_data       TEXT NOT NULL,
    image           TEXT NOT NULL,
    config          JSONB NOT NULL DEFAULT '{}'::jsonb,
    author_id       UUID REFERENCES users (id) ON DELETE SET NULL,
    author_name     TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (cloud_config_id, revision)
);

CREATE TABLE deployments (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A deployment pins each of its cloud-configs to one revision; RESTRICT keeps a cloud-config in
-- use from being deleted underneath it (the API answers 409 naming the deployments first).
CREATE TABLE deployment_cloud_configs (
    deployment_id   UUID NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    cloud_config_id UUID NOT NULL REFERENCES cloud_configs (id) ON DELETE RESTRICT,
    revision        INTEGER NOT NULL,
    added_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, cloud_config_id),
    FOREIGN KEY (cloud_config_id, revision) REFERENCES cloud_config_revisions (cloud_config_id, revision)
);
CREATE INDEX deployment_cloud_configs_cloud_config ON deployment_cloud_configs (cloud_config_id);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id    UUID REFERENCES users (id) ON DELETE SET NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
