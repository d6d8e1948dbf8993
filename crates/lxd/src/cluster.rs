//! LXD clusters: the members of a clustered host, and placing instances on one of them.

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Deserializer};

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::instances::InstancesPost;
use crate::operation::Operation;

/// How a cluster member is doing, as LXD reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    /// Answering and taking part.
    Online,
    /// Not answering its peers' heartbeats: its instances' state is unknown.
    Offline,
    /// Emptied by an operator for maintenance: no new instances go there.
    Evacuated,
    /// A status this client does not know (kept as LXD wrote it).
    Other(String),
}

impl MemberStatus {
    /// LXD's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            MemberStatus::Online => "Online",
            MemberStatus::Offline => "Offline",
            MemberStatus::Evacuated => "Evacuated",
            MemberStatus::Other(s) => s,
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MemberStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(match text.to_ascii_lowercase().as_str() {
            "online" => MemberStatus::Online,
            "offline" => MemberStatus::Offline,
            "evacuated" => MemberStatus::Evacuated,
            _ => MemberStatus::Other(text),
        })
    }
}

/// One member of an LXD cluster (`GET /1.0/cluster/members/{name}`).
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterMember {
    /// Its name, what `?target=` and an instance's `location` say.
    pub server_name: String,
    /// Its API address, e.g. `https://10.0.0.2:8443`.
    #[serde(default)]
    pub url: String,
    /// How it is doing.
    pub status: MemberStatus,
    /// LXD's words about the status ("Fully operational", or why not).
    #[serde(default)]
    pub message: String,
    /// Its roles (`database`, `database-leader`, ...).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Its architecture.
    #[serde(default)]
    pub architecture: String,
    /// Its failure domain.
    #[serde(default)]
    pub failure_domain: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
}

impl ClusterMember {
    /// Whether it is online (new instances may be placed there).
    pub fn is_online(&self) -> bool {
        self.status == MemberStatus::Online
    }
}

impl Client {
    /// The members of the cluster this host belongs to, with their status (one call). A host
    /// that is not clustered answers with an error; check `ServerEnvironment::server_clustered`.
    pub async fn cluster_members(&self) -> Result<Vec<ClusterMember>> {
        let call = Call::new(Method::GET, "/1.0/cluster/members").query(&[("recursion", "1")]).unscoped();
        crate::response::decode(self.call(call).await?.0.into_sync()?)
    }

    /// Starts creating an instance on cluster member `member` (`?target=`); otherwise like
    /// [`Client::create_instance`], where the cluster chooses.
    pub async fn create_instance_on(&self, post: &InstancesPost, member: &str) -> Result<Operation> {
        if member.is_empty() || !member.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(Error::invalid("cluster member", format!("{member:?}")));
        }
        let query = [("target", member)];
        self.operation_call(Call::new(Method::POST, "/1.0/instances").query(&query).json(Some(post))?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_with_known_and_unknown_statuses() {
        let members: Vec<ClusterMember> = serde_json::from_str(
            r#"[{"server_name":"m1","url":"https://127.0.0.1:18445","database":true,"status":"Online",
                 "message":"Fully operational","roles":["database-leader","database"],"architecture":"x86_64"},
                {"server_name":"m2","url":"https://127.0.0.1:18446","status":"Offline","message":"No heartbeat"},
                {"server_name":"m3","status":"Evacuated"},{"server_name":"m4","status":"Blocked"}]"#,
        )
        .unwrap();
        let statuses: Vec<&MemberStatus> = members.iter().map(|m| &m.status).collect();
        assert_eq!(
            statuses,
            [
                &MemberStatus::Online,
                &MemberStatus::Offline,
                &MemberStatus::Evacuated,
                &MemberStatus::Other("Blocked".into())
            ]
        );
        assert!(members[0].is_online() && !members[1].is_online());
        assert_eq!(members[1].message, "No heartbeat");
    }
}
