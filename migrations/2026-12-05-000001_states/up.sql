-- Every stored state is refused by the database unless it is one the code knows: job steps were
-- the one state column without a CHECK.
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'creating', 'starting', 'checking', 'stopping', 'deleting', 'done', 'failed'));
