-- Roles instead of an admin flag, users that can be disabled, and tokens that can be scoped: to a
-- role below their user's, to named deployments, and to an expiry.

-- viewer: reads only; operator: cloud-configs, deployments and their jobs; admin: everything,
-- hosts, users and the audit log included.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'operator'
    CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE users SET role = CASE WHEN is_admin THEN 'admin' ELSE 'operator' END;
ALTER TABLE users ALTER COLUMN role DROP DEFAULT;
ALTER TABLE users DROP COLUMN is_admin;
-- A disabled user's tokens stop working at once.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;

-- NULL: the user's own role; otherwise at most it (the API refuses a higher one).
ALTER TABLE api_tokens ADD COLUMN role TEXT CHECK (role IN ('viewer', 'operator', 'admin'));
-- NULL: every deployment; otherwise only these.
ALTER TABLE api_tokens ADD COLUMN deployments UUID[];
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMPTZ;
CREATE INDEX api_tokens_live ON api_tokens (user_id) WHERE revoked_at IS NULL;
