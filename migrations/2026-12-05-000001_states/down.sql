ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
