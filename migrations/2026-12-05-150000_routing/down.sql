UPDATE job_items SET step = 'stopping' WHERE step = 'draining';
ALTER TABLE job_items DROP CONSTRAINT job_items_step_check;
ALTER TABLE job_items ADD CONSTRAINT job_items_step_check
    CHECK (step IN ('queued', 'downloading', 'creating', 'starting', 'checking', 'stopping', 'deleting', 'done', 'failed'));
DROP TABLE routing_nodes;
DROP TABLE rotation_holds;
DROP TABLE host_routing;
DROP TABLE instance_ports;
DROP TABLE exposed_ports;
