-- Changing a running deployment: jobs on one instance (restart, recreate), healing, and the
-- steps they take.

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('deploy', 'start', 'stop', 'delete', 'remove', 'restart', 'recreate', 'heal'));

ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'creating', 'starting', 'checking', 'stopping', 'restarting', 'deleting', 'done', 'failed'));

-- Healing (off by default): a reconciler recreates instances that went missing or failed.
ALTER TABLE deployments ADD COLUMN healing BOOLEAN NOT NULL DEFAULT FALSE;
-- How often healing has tried an instance in a row, and not before when it may try again
-- (back-off, so a cloud-config that always fails does not loop).
ALTER TABLE instances ADD COLUMN heal_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN heal_not_before TIMESTAMPTZ;

-- Listing instances by deployment, host or cloud-config, in name order, page by page.
CREATE INDEX instances_host ON instances (host_id, name, id);
CREATE INDEX instances_cloud_config ON instances (cloud_config_id, name, id);
CREATE INDEX instances_name ON instances (name, id);
