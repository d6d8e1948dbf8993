-- Keyset pagination: every list is read in (sort key, id) order and seeks past the previous page
-- with a row comparison, which these indexes answer without reading the rows before it.
CREATE INDEX deployments_page ON deployments (name, id);
CREATE INDEX hosts_page ON hosts (name, id);
CREATE INDEX users_page ON users (name, id);
CREATE INDEX cloud_configs_page ON cloud_configs (namespace, name, id);
CREATE INDEX jobs_page ON jobs (created_at DESC, id DESC);
DROP INDEX jobs_deployment;
CREATE INDEX jobs_deployment ON jobs (deployment_id, created_at DESC, id DESC);
CREATE INDEX api_tokens_live_page ON api_tokens (user_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;
