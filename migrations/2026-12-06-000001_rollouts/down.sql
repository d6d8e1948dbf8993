DROP TABLE rollouts;
DELETE FROM jobs WHERE kind = 'rollout';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('deploy', 'start', 'stop', 'delete', 'remove', 'restart', 'recreate', 'heal'));
