-- Real hosts: LXD projects and clusters, images pulled from image servers.

-- The LXD project every call for the host is scoped to (?project=). The same daemon may be
-- registered once per project.
ALTER TABLE hosts ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
-- A clustered host's other members' URLs (from LXD, inside host_allowlist when one is set): the
-- client fails over to them when the member in use stops answering. Empty for a standalone host.
ALTER TABLE hosts ADD COLUMN member_urls TEXT[] NOT NULL DEFAULT '{}';

-- A revision's image may live on an image server: its URL, protocol and (optional) certificate.
-- `image` is then the alias or fingerprint on that server. NULL server: the image is on the host.
ALTER TABLE cloud_config_revisions ADD COLUMN image_server TEXT;
ALTER TABLE cloud_config_revisions ADD COLUMN image_protocol TEXT
    CHECK (image_protocol IN ('lxd', 'simplestreams'));
ALTER TABLE cloud_config_revisions ADD COLUMN image_certificate TEXT;
ALTER TABLE cloud_config_revisions ADD CONSTRAINT cloud_config_revisions_image_source_check
    CHECK ((image_server IS NULL) = (image_protocol IS NULL)
           AND (image_certificate IS NULL OR image_server IS NOT NULL));

-- The fingerprint an instance was made from (a later alias move cannot mix images inside a
-- deployment: later instances of the same revision are made from it too), and the cluster
-- member it was placed on (NULL outside clusters).
ALTER TABLE instances ADD COLUMN image_fingerprint TEXT;
ALTER TABLE instances ADD COLUMN location TEXT;

-- What a running step reports (an image download's "rootfs: 40% (12MB/s)"), and the step that
-- waits for a host to pull an image.
ALTER TABLE job_items ADD COLUMN progress TEXT;
ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'downloading', 'creating', 'starting', 'checking', 'stopping', 'deleting', 'done', 'failed'));
