//! Choosing ports: frontend ports on Mosaic's machine, and the host-side ports of proxy devices on
//! LXD hosts.
//!
//! The search starts at a random place in the range and walks it once, so concurrent allocations
//! (several Mosaic processes, or several databases on one test machine) rarely try the same port,
//! and a full range is reported rather than searched forever. The database's unique constraints
//! decide between two allocations that still collide; a port something else holds on a host is
//! found out when LXD refuses to listen, and the allocation is then made again.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, TcpListener};

use super::PortRange;

/// Whether something could listen on `addr` now (nothing else holds it). HAProxy's own
/// listeners count as holding their ports.
pub fn bindable(addr: SocketAddr) -> std::io::Result<()> {
    TcpListener::bind(addr).map(drop)
}

/// A free port of `range`: not in `taken`, and — when `probe` names an address on this machine —
/// one nothing listens on there. `None` when every port of the range is in use.
pub fn free_port(range: PortRange, taken: &HashSet<u16>, probe: Option<IpAddr>) -> Option<u16> {
    let len = range.len();
    let start = u32::try_from(uuid::Uuid::new_v4().as_u128() % u128::from(len)).unwrap_or(0);
    (0..len)
        .map(|i| range.first + u16::try_from((start + i) % len).unwrap_or(0))
        .filter(|p| !taken.contains(p))
        .find(|p| probe.is_none_or(|ip| bindable(SocketAddr::new(ip, *p)).is_ok()))
}

/// Whether an address belongs to this machine, so a bind there tells whether a port is free on
/// the LXD host listening at it (the local daemon, or the test environment's daemons).
pub fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || TcpListener::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_avoids_taken_and_bound_ones() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let range = PortRange::new(port, port.saturating_add(1));
        let loopback = Some(IpAddr::from([127, 0, 0, 1]));
        // The first is bound here; only the second can come out.
        for _ in 0..10 {
            let got = free_port(range, &HashSet::new(), loopback);
            assert!(got.is_none() || got == Some(port + 1), "{got:?}");
        }
        assert_eq!(free_port(range, &HashSet::from([port + 1]), loopback), None);
        assert_eq!(free_port(PortRange::new(port, port), &HashSet::new(), None), Some(port), "no probe");
        assert!(is_local(IpAddr::from([127, 0, 0, 1])));
        assert!(!is_local("192.0.2.1".parse().unwrap()), "TEST-NET-1 is nobody's address here");
    }
}
