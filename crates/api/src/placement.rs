//! Where a deploy puts its instances, and what it calls them.

use mosaic_types::HostId;
use mosaic_types::deployments::{DeployCloudConfig, Placement};

/// One host per instance to create, in order.
pub fn hosts(request: &DeployCloudConfig) -> Vec<HostId> {
    let count = usize::try_from(request.count).unwrap_or(0);
    match request.placement {
        Placement::Spread => (0..count).map(|i| request.hosts[i % request.hosts.len()]).collect(),
        Placement::PerHost => request.hosts.iter().flat_map(|h| std::iter::repeat_n(*h, count)).collect(),
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

    #[test]
    fn spread_and_per_host_placement() {
        let (a, b) = (HostId::new(), HostId::new());
        let mut req = DeployCloudConfig {
            cloud_config_id: CloudConfigId::new(),
            count: 3,
            hosts: vec![a, b],
            placement: Placement::Spread,
            profiles: vec![],
        };
        assert_eq!(hosts(&req), vec![a, b, a]);
        req.placement = Placement::PerHost;
        assert_eq!(hosts(&req), vec![a, a, a, b, b, b]);
    }
}
