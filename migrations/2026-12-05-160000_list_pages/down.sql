DROP INDEX api_tokens_live_page;
DROP INDEX jobs_deployment;
CREATE INDEX jobs_deployment ON jobs (deployment_id, created_at DESC);
DROP INDEX jobs_page;
DROP INDEX cloud_configs_page;
DROP INDEX users_page;
DROP INDEX hosts_page;
DROP INDEX deployments_page;
