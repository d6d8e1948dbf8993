UPDATE job_items SET step = 'creating' WHERE step = 'downloading';
ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'creating', 'starting', 'checking', 'stopping', 'deleting', 'done', 'failed'));
ALTER TABLE job_items DROP COLUMN progress;

ALTER TABLE instances DROP COLUMN location;
ALTER TABLE instances DROP COLUMN image_fingerprint;

ALTER TABLE cloud_config_revisions DROP CONSTRAINT cloud_config_revisions_image_source_check;
ALTER TABLE cloud_config_revisions DROP COLUMN image_certificate;
ALTER TABLE cloud_config_revisions DROP COLUMN image_protocol;
ALTER TABLE cloud_config_revisions DROP COLUMN image_server;

ALTER TABLE hosts DROP COLUMN member_urls;
ALTER TABLE hosts DROP COLUMN project;
