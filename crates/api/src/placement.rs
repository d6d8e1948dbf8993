//! Where a deploy puts its instances, and what it calls them.

use std::collections::HashMap;

use mosaic_types::HostId;
use mosaic_types::deployments::{DeployCloudConfig, Placement};

/// Where an instance lives and is worked on: a host and, on a cluster, the member
/// (`?target=`). Also the key of the concurrency bound, which is per member on a cluster: each
/// member is a machine of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The host.
    pub host: HostId,
    /// The cluster member (`None` on a standalone host).
    pub member: Option<String>,
}

/// One slot per instance to create, in order. `members` names, for each clustered host, the
/// members to place on (online ones, in order); a host not in it is standalone.
///
/// `spread`: `count` instances in all, in turn over every slot — each standalone host and each
/// member of each cluster — so load spreads over machines. `per_host`: `count` on each host, in
/// turn over its members.
pub fn slots(request: &DeployCloudConfig, members: &HashMap<HostId, Vec<String>>) -> Vec<Slot> {
    let count = usize::try_from(request.count).unwrap_or(0);
    let of_host = |host: HostId| -> Vec<Slot> {
        match members.get(&host) {
            Some(names) if !names.is_empty() => {
                names.iter().map(|m| Slot { host, member: Some(m.clone()) }).collect()
            }
            _ => vec![Slot { host, member: None }],
        }
    };
    match request.placement {
        Placement::Spread => {
            let all: Vec<Slot> = request.hosts.iter().flat_map(|h| of_host(*h)).collect();
            (0..count).map(|i| all[i % all.len()].clone()).collect()
        }
        Placement::PerHost => request
            .hosts
            .iter()
            .flat_map(|h| {
                let here = of_host(*h);
                (0..count).map(move |i| here[i % here.len()].clone())
            })
            .collect(),
    }
}

/// A readable, LXD-valid name prefix: `my-site-webservers` for deployment `My_Site` and
/// namespace `Webservers` (plus the cloud-config's name when two members share a namespace).
pub fn name_prefix(deployment: &str, namespace: &str, name: &str, with_name: bool) -> String {
    let mut parts = vec![slug(deployment), slug(namespace)];
    if with_name {
        parts.push(slug(name));
    }
    let mut prefix = parts.join("-");
    // Leave room for "-NNNN" within LXD's 63 characters.
    prefix.truncate(57);
    prefix.trim_end_matches('-').to_owned()
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use mosaic_types::CloudConfigId;

    use super::*;

    #[test]
    fn names_are_readable_and_valid() {
        assert_eq!(name_prefix("My_Site", "Webservers", "My_Site", false), "my-site-webservers");
        assert_eq!(name_prefix("My_Site", "Web", "Front_End", true), "my-site-web-front-end");
        let long = name_prefix(&"a".repeat(64), &"b".repeat(64), "c", false);
        assert!(lxd::InstanceName::parse(&format!("{long}-9999")).is_ok());
    }

    fn on(host: HostId, member: Option<&str>) -> Slot {
        Slot { host, member: member.map(str::to_owned) }
    }

    #[test]
    fn spread_and_per_host_placement() {
        let (a, b) = (HostId::new(), HostId::new());
        let mut req = DeployCloudConfig {
            cloud_config_id: CloudConfigId::new(),
            count: 3,
            hosts: vec![a, b],
            members: Default::default(),
            placement: Placement::Spread,
            profiles: vec![],
        };
        let standalone = HashMap::new();
        assert_eq!(slots(&req, &standalone), vec![on(a, None), on(b, None), on(a, None)]);
        req.placement = Placement::PerHost;
        assert_eq!(
            slots(&req, &standalone),
            vec![on(a, None), on(a, None), on(a, None), on(b, None), on(b, None), on(b, None)]
        );
    }

    #[test]
    fn a_cluster_spreads_over_its_members() {
        let (a, cluster) = (HostId::new(), HostId::new());
        let members = HashMap::from([(cluster, vec!["m1".to_owned(), "m2".to_owned()])]);
        let mut req = DeployCloudConfig {
            cloud_config_id: CloudConfigId::new(),
            count: 4,
            hosts: vec![cluster],
            members: Default::default(),
            placement: Placement::Spread,
            profiles: vec![],
        };
        let placed = slots(&req, &members);
        let m1 = on(cluster, Some("m1"));
        let m2 = on(cluster, Some("m2"));
        assert_eq!(placed, vec![m1.clone(), m2.clone(), m1.clone(), m2.clone()]);
        // Spread over machines: a standalone host and two members take turns.
        req.hosts = vec![a, cluster];
        req.count = 3;
        assert_eq!(slots(&req, &members), vec![on(a, None), m1.clone(), m2.clone()]);
        // per_host: the count on each host, the cluster's over its members.
        req.placement = Placement::PerHost;
        req.count = 2;
        assert_eq!(slots(&req, &members), vec![on(a, None), on(a, None), m1, m2]);
    }
}
