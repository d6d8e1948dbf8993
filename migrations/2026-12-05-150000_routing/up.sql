-- Routing: a deployment member's ports exposed through Mosaic's HAProxy, how HAProxy reaches each
-- instance, instances held out of rotation, and the HAProxy nodes that confirm a drain.

-- A port of a deployment member's instances, served by one HAProxy frontend on `frontend_port`.
-- The health check always speaks the protocol: an HTTP request with an expected status, or TCP
-- bytes to send and expect (a bare TCP connect proves nothing behind an LXD proxy device, which
-- accepts on the host before it dials the container).
CREATE TABLE exposed_ports (
    id              UUID PRIMARY KEY,
    deployment_id   UUID NOT NULL,
    cloud_config_id UUID NOT NULL,
    target_port     INTEGER NOT NULL CHECK (target_port BETWEEN 1 AND 65535),
    protocol        TEXT NOT NULL CHECK (protocol IN ('http', 'tcp')),
    check_kind      TEXT NOT NULL CHECK (check_kind IN ('http', 'tcp')),
    check_path      TEXT,
    check_status    INTEGER CHECK (check_status BETWEEN 100 AND 599),
    check_send      BYTEA,
    check_expect    BYTEA,
    -- Unique on the machine: every Mosaic process over this database binds every frontend.
    frontend_port   INTEGER NOT NULL UNIQUE CHECK (frontend_port BETWEEN 1 AND 65535),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (deployment_id, cloud_config_id)
        REFERENCES deployment_cloud_configs (deployment_id, cloud_config_id) ON DELETE CASCADE,
    UNIQUE (deployment_id, cloud_config_id, target_port),
    CHECK (
        (check_kind = 'http' AND check_path IS NOT NULL AND check_status IS NOT NULL)
        OR (check_kind = 'tcp' AND check_expect IS NOT NULL AND octet_length(check_expect) > 0)
    )
);
CREATE INDEX exposed_ports_deployment ON exposed_ports (deployment_id);

-- The host-side port of the proxy device through which HAProxy reaches an instance's exposed
-- port (hosts reached by proxy device). Unique per host: LXD listens on it.
CREATE TABLE instance_ports (
    instance_id     UUID NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    exposed_port_id UUID NOT NULL REFERENCES exposed_ports (id) ON DELETE CASCADE,
    host_id         UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    host_port       INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    PRIMARY KEY (instance_id, exposed_port_id),
    UNIQUE (host_id, host_port)
);

-- How HAProxy reaches instances on a host: 'proxy_device' (the default when a host has no row:
-- a proxy device on the host's address) or 'address' (the instance's own IPv4, for bridged hosts
-- whose instance network Mosaic's machine can route to).
CREATE TABLE host_routing (
    host_id    UUID PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    reach      TEXT NOT NULL CHECK (reach IN ('proxy_device', 'address')),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Instances taken out of rotation (before a stop, a removal, a replacement), and which HAProxy
-- nodes have confirmed that the instance is drained and gone from their backends.
CREATE TABLE rotation_holds (
    instance_id UUID PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    reason      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    drained_by  TEXT[] NOT NULL DEFAULT '{}'
);

-- Each Mosaic process's HAProxy (a node: machine and HAProxy directory, so a restarted Mosaic is
-- the same node), with a heartbeat: a drain waits for the confirmation of every live node.
CREATE TABLE routing_nodes (
    name         TEXT PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A job item waiting for its instance to be drained from the load balancers.
ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'downloading', 'creating', 'starting', 'checking', 'draining', 'stopping', 'restarting', 'deleting', 'done', 'failed'));
