DROP INDEX instances_name;
DROP INDEX instances_cloud_config;
DROP INDEX instances_host;
ALTER TABLE instances DROP COLUMN heal_not_before;
ALTER TABLE instances DROP COLUMN heal_attempts;
ALTER TABLE deployments DROP COLUMN healing;
ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'creating', 'starting', 'checking', 'stopping', 'deleting', 'done', 'failed'));
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('deploy', 'start', 'stop', 'delete', 'remove'));
