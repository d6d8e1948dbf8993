//! `exposed_ports`, `instance_ports`, `host_routing`, `rotation_holds` and `routing_nodes`: what
//! Mosaic's load balancers serve, and the bookkeeping that keeps several of them in agreement.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mosaic_types::routing::{HostReach, PortProtocol};
use mosaic_types::{CloudConfigId, DeploymentId, ExposedPortId, HostId, InstanceId};

use crate::schema::{exposed_ports, host_routing, instance_ports, rotation_holds, routing_nodes};

/// A port of a deployment member, exposed through a frontend.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = exposed_ports, check_for_backend(diesel::pg::Pg))]
pub struct ExposedPort {
    /// Its ID.
    pub id: ExposedPortId,
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// The member whose instances serve it.
    pub cloud_config_id: CloudConfigId,
    /// The port inside each instance.
    pub target_port: i32,
    /// `http` or `tcp`.
    pub protocol: PortProtocol,
    /// `http` or `tcp`: which check columns apply.
    pub check_kind: PortProtocol,
    /// HTTP check: the path.
    pub check_path: Option<String>,
    /// HTTP check: the expected status.
    pub check_status: Option<i32>,
    /// TCP check: bytes to send.
    pub check_send: Option<Vec<u8>>,
    /// TCP check: bytes to expect.
    pub check_expect: Option<Vec<u8>>,
    /// The frontend's port (unique).
    pub frontend_port: i32,
    /// When it was exposed.
    pub created_at: DateTime<Utc>,
}

impl ExposedPort {
    /// Inserts one.
    pub fn create(conn: &mut PgConnection, new: &ExposedPort) -> QueryResult<ExposedPort> {
        diesel::insert_into(exposed_ports::table)
            .values(new)
            .returning(ExposedPort::as_returning())
            .get_result(conn)
    }

    /// Every exposed port, by deployment and frontend port.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<ExposedPort>> {
        exposed_ports::table
            .order((exposed_ports::deployment_id, exposed_ports::frontend_port))
            .select(ExposedPort::as_select())
            .load(conn)
    }

    /// The exposed ports of the given deployments, by frontend port.
    pub fn for_deployments(conn: &mut PgConnection, ids: &[DeploymentId]) -> QueryResult<Vec<ExposedPort>> {
        exposed_ports::table
            .filter(exposed_ports::deployment_id.eq_any(ids))
            .order(exposed_ports::frontend_port)
            .select(ExposedPort::as_select())
            .load(conn)
    }

    /// One exposed port of a deployment.
    pub fn find(
        conn: &mut PgConnection,
        deployment: DeploymentId,
        id: ExposedPortId,
    ) -> QueryResult<ExposedPort> {
        exposed_ports::table
            .filter(exposed_ports::deployment_id.eq(deployment))
            .filter(exposed_ports::id.eq(id))
            .select(ExposedPort::as_select())
            .first(conn)
    }

    /// The exposed port using `frontend_port`, if any.
    pub fn with_frontend_port(
        conn: &mut PgConnection,
        frontend_port: i32,
    ) -> QueryResult<Option<ExposedPort>> {
        exposed_ports::table
            .filter(exposed_ports::frontend_port.eq(frontend_port))
            .select(ExposedPort::as_select())
            .first(conn)
            .optional()
    }

    /// Whether a deployment member exposes any port (only then are its instances in rotation
    /// anywhere).
    pub fn exists_for(
        conn: &mut PgConnection,
        deployment: DeploymentId,
        cc: CloudConfigId,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            exposed_ports::table
                .filter(exposed_ports::deployment_id.eq(deployment))
                .filter(exposed_ports::cloud_config_id.eq(cc)),
        ))
        .get_result(conn)
    }

    /// Every frontend port in use.
    pub fn frontend_ports(conn: &mut PgConnection) -> QueryResult<Vec<i32>> {
        exposed_ports::table.select(exposed_ports::frontend_port).load(conn)
    }

    /// Deletes one; `false` if it was not there.
    pub fn delete(conn: &mut PgConnection, deployment: DeploymentId, id: ExposedPortId) -> QueryResult<bool> {
        diesel::delete(
            exposed_ports::table
                .filter(exposed_ports::deployment_id.eq(deployment))
                .filter(exposed_ports::id.eq(id)),
        )
        .execute(conn)
        .map(|n| n == 1)
    }
}

/// The host-side port of the proxy device through which HAProxy reaches one instance's exposed
/// port.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = instance_ports, check_for_backend(diesel::pg::Pg))]
pub struct InstancePort {
    /// The instance.
    pub instance_id: InstanceId,
    /// The exposed port.
    pub exposed_port_id: ExposedPortId,
    /// The instance's host.
    pub host_id: HostId,
    /// The port LXD listens on, on the host's address.
    pub host_port: i32,
}

impl InstancePort {
    /// Every allocation.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<InstancePort>> {
        instance_ports::table.select(InstancePort::as_select()).load(conn)
    }

    /// Records an allocation unless the instance already has one for the port, or the host port
    /// is taken on the host (another process allocated meanwhile): `false` then.
    pub fn allocate(conn: &mut PgConnection, new: &InstancePort) -> QueryResult<bool> {
        diesel::insert_into(instance_ports::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Forgets an allocation that LXD could not listen on (the port is taken on the host), so
    /// another is made; only if it is still that port.
    pub fn release(
        conn: &mut PgConnection,
        instance: InstanceId,
        port: ExposedPortId,
        host_port: i32,
    ) -> QueryResult<()> {
        diesel::delete(
            instance_ports::table
                .filter(instance_ports::instance_id.eq(instance))
                .filter(instance_ports::exposed_port_id.eq(port))
                .filter(instance_ports::host_port.eq(host_port)),
        )
        .execute(conn)
        .map(drop)
    }
}

/// How HAProxy reaches one host's instances (hosts without a row: proxy devices).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = host_routing, check_for_backend(diesel::pg::Pg))]
pub struct HostRoutingRow {
    /// The host.
    pub host_id: HostId,
    /// How its instances are reached.
    pub reach: HostReach,
    /// When it was set.
    pub updated_at: DateTime<Utc>,
}

impl HostRoutingRow {
    /// Every host's setting.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<HostRoutingRow>> {
        host_routing::table.select(HostRoutingRow::as_select()).load(conn)
    }

    /// Sets how a host's instances are reached.
    pub fn set(conn: &mut PgConnection, host: HostId, reach: HostReach) -> QueryResult<()> {
        diesel::insert_into(host_routing::table)
            .values((host_routing::host_id.eq(host), host_routing::reach.eq(reach)))
            .on_conflict(host_routing::host_id)
            .do_update()
            .set((host_routing::reach.eq(reach), host_routing::updated_at.eq(Utc::now())))
            .execute(conn)
            .map(drop)
    }
}

/// An instance held out of rotation, and the nodes that confirmed it is drained.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = rotation_holds, check_for_backend(diesel::pg::Pg))]
pub struct RotationHold {
    /// The instance.
    pub instance_id: InstanceId,
    /// Why (`stop`, `delete`, `remove`, or a caller's word).
    pub reason: String,
    /// When it was taken out.
    pub created_at: DateTime<Utc>,
    /// Nodes whose HAProxy has drained it and no longer has it.
    pub drained_by: Vec<Option<String>>,
}

impl RotationHold {
    /// Takes an instance out of rotation. Holding an instance that is held already starts over:
    /// every node must confirm again (it may have been put back meanwhile).
    pub fn hold(conn: &mut PgConnection, instance: InstanceId, reason: &str) -> QueryResult<()> {
        diesel::insert_into(rotation_holds::table)
            .values((rotation_holds::instance_id.eq(instance), rotation_holds::reason.eq(reason)))
            .on_conflict(rotation_holds::instance_id)
            .do_update()
            .set((
                rotation_holds::reason.eq(reason),
                rotation_holds::created_at.eq(diesel::dsl::now),
                rotation_holds::drained_by.eq(Vec::<String>::new()),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Puts instances back into rotation (they are admitted again once their checks pass).
    pub fn release(conn: &mut PgConnection, instances: &[InstanceId]) -> QueryResult<usize> {
        diesel::delete(rotation_holds::table.filter(rotation_holds::instance_id.eq_any(instances)))
            .execute(conn)
    }

    /// Every hold.
    pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<RotationHold>> {
        rotation_holds::table.select(RotationHold::as_select()).load(conn)
    }

    /// One instance's hold, if it has one.
    pub fn find(conn: &mut PgConnection, instance: InstanceId) -> QueryResult<Option<RotationHold>> {
        rotation_holds::table.find(instance).select(RotationHold::as_select()).first(conn).optional()
    }

    /// Records that `node` has drained these instances (once per node).
    pub fn confirm(conn: &mut PgConnection, instances: &[InstanceId], node: &str) -> QueryResult<usize> {
        diesel::sql_query(
            "UPDATE rotation_holds SET drained_by = array_append(drained_by, $1) \
             WHERE instance_id = ANY($2) AND NOT ($1 = ANY(drained_by))",
        )
        .bind::<diesel::sql_types::Text, _>(node)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(
            instances.iter().map(|i| i.0).collect::<Vec<_>>(),
        )
        .execute(conn)
    }
}

impl RotationHold {
    /// Whether `node` confirmed the drain.
    pub fn drained_by(&self, node: &str) -> bool {
        self.drained_by.iter().flatten().any(|n| n == node)
    }
}

/// A load balancer node's heartbeat.
pub struct RoutingNode;

impl RoutingNode {
    /// Records that `node` is alive and reconciling.
    pub fn beat(conn: &mut PgConnection, node: &str) -> QueryResult<()> {
        diesel::insert_into(routing_nodes::table)
            .values((routing_nodes::name.eq(node), routing_nodes::heartbeat_at.eq(diesel::dsl::now)))
            .on_conflict(routing_nodes::name)
            .do_update()
            .set(routing_nodes::heartbeat_at.eq(diesel::dsl::now))
            .execute(conn)
            .map(drop)
    }

    /// Nodes whose heartbeat is younger than `secs` seconds: the ones a drain waits for.
    pub fn live(conn: &mut PgConnection, secs: f64) -> QueryResult<Vec<String>> {
        routing_nodes::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("heartbeat_at > now() - make_interval(secs => ")
                    .bind::<diesel::sql_types::Double, _>(secs)
                    .sql(")"),
            )
            .select(routing_nodes::name)
            .load(conn)
    }

    /// Removes a node (its Mosaic stops routing, or is gone for good).
    pub fn forget(conn: &mut PgConnection, node: &str) -> QueryResult<()> {
        diesel::delete(routing_nodes::table.find(node)).execute(conn).map(drop)
    }
}
