DROP INDEX api_tokens_live;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP COLUMN deployments;
ALTER TABLE api_tokens DROP COLUMN role;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET is_admin = (role = 'admin');
ALTER TABLE users DROP COLUMN role;
