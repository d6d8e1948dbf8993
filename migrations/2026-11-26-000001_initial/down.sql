DROP TABLE audit_log;
DROP TABLE deployment_cloud_configs;
DROP TABLE deployments;
DROP TABLE cloud_config_revisions;
DROP TABLE cloud_configs;
DROP TABLE hosts;
DROP TABLE api_tokens;
DROP TABLE users;
