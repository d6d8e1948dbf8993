DROP TABLE job_items;
DROP TABLE jobs;
DROP TABLE instances;
ALTER TABLE deployments DROP COLUMN status;
