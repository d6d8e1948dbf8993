//! What the signed-in token may do, as `GET /api/v1/me` said: the app offers only those actions.
//!
//! The server decides: its policy table, published as `x-required-role` on every operation of the
//! OpenAPI document, is checked before any handler runs. This mirrors it so that a viewer is not
//! offered buttons that can only fail (a test checks each action's role against the document).
//! When the mirror is out of date (the user's role changed since sign-in), the server's 403 is
//! shown like any other error.

use mosaic_types::DeploymentId;
use mosaic_types::users::{Me, Role};
use yew::prelude::*;

use crate::session::use_session;

/// Something the app may offer, named by what the user would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Can {
    /// Register, change or remove hosts (and read an address's certificate to register one):
    /// they make Mosaic connect somewhere.
    ManageHosts,
    /// Create, change and delete cloud-configs, restore their revisions.
    EditCloudConfigs,
    /// Create a deployment.
    CreateDeployments,
    /// Deploy, start, stop or delete this deployment.
    ChangeDeployment(DeploymentId),
    /// Make new tokens for yourself.
    CreateTokens,
    /// See the users and anyone's tokens (and revoke them).
    SeeUsers,
    /// Create users, change their role, disable or enable them.
    ManageUsers,
}

/// What an action acts on, for tokens limited to named deployments (the server's `Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Nothing of one deployment: allowed to limited tokens too.
    Shared,
    /// Changes outside any deployment: refused to limited tokens.
    Outside,
    /// This deployment: a limited token only its own.
    Deployment(DeploymentId),
}

impl Can {
    /// The least role and the reach of the operations behind the action.
    fn needs(self) -> (Role, Reach) {
        match self {
            Can::ManageHosts => (Role::Admin, Reach::Outside),
            Can::EditCloudConfigs | Can::CreateDeployments => (Role::Operator, Reach::Outside),
            Can::ChangeDeployment(id) => (Role::Operator, Reach::Deployment(id)),
            Can::CreateTokens => (Role::Viewer, Reach::Outside),
            Can::SeeUsers => (Role::Admin, Reach::Shared),
            Can::ManageUsers => (Role::Admin, Reach::Outside),
        }
    }
}

/// The signed-in token's powers: its role (the token's limit, or its user's role if lower) and
/// the deployments it is limited to.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// What the token may do.
    pub role: Role,
    /// The only deployments it may act on (`None`: all).
    pub deployments: Option<Vec<DeploymentId>>,
}

impl Access {
    /// What `/me` says the token may do.
    pub fn of(me: &Me) -> Self {
        Access { role: me.role, deployments: me.token.deployments.clone() }
    }

    /// Nothing but reading (before `/me` has answered).
    pub fn none() -> Self {
        Access { role: Role::Viewer, deployments: Some(Vec::new()) }
    }

    /// Whether the app should offer `what`.
    pub fn can(&self, what: Can) -> bool {
        let (role, reach) = what.needs();
        self.role >= role
            && match reach {
                Reach::Shared => true,
                Reach::Outside => self.deployments.is_none(),
                Reach::Deployment(id) => self.deployments.as_ref().is_none_or(|ids| ids.contains(&id)),
            }
    }
}

/// Who is signed in and what the token allows, in a few words for the top bar.
pub fn describe(me: &Me) -> String {
    let mut text = format!("{} · {}", me.user.name, me.role);
    if me.role < me.user.role {
        text.push_str(&format!(" (token limited; the user is {})", me.user.role));
    }
    match me.token.deployments.as_ref().map(Vec::len) {
        Some(1) => text.push_str(" · 1 deployment only"),
        Some(n) => text.push_str(&format!(" · {n} deployments only")),
        None => {}
    }
    text
}

/// What the signed-in token may do (pages are shown only once `/me` has answered).
#[hook]
pub fn use_access() -> Access {
    use_session().me.as_deref().map(Access::of).unwrap_or_else(Access::none)
}

#[cfg(test)]
mod tests {
    use mosaic_types::users::{ApiToken, User};

    use super::*;

    /// The OpenAPI operations behind each action.
    fn operations(what: Can) -> &'static [&'static str] {
        match what {
            Can::ManageHosts => &["fetch_host_fingerprint", "create_host", "update_host", "delete_host"],
            Can::EditCloudConfigs => &[
                "create_cloud_config",
                "update_cloud_config",
                "delete_cloud_config",
                "restore_cloud_config_revision",
            ],
            Can::CreateDeployments => &["create_deployment"],
            Can::ChangeDeployment(_) => {
                &["deploy_deployment", "start_deployment", "stop_deployment", "delete_deployment"]
            }
            Can::CreateTokens => &["create_token"],
            Can::SeeUsers => &["list_users", "list_user_tokens"],
            Can::ManageUsers => &["create_user", "update_user"],
        }
    }

    fn deployment(n: u8) -> DeploymentId {
        format!("0b6f8c1e-0000-4000-8000-0000000000{n:02}").parse().unwrap()
    }

    /// One of each action.
    fn all() -> [Can; 7] {
        [
            Can::ManageHosts,
            Can::EditCloudConfigs,
            Can::CreateDeployments,
            Can::ChangeDeployment(deployment(0)),
            Can::CreateTokens,
            Can::SeeUsers,
            Can::ManageUsers,
        ]
    }

    #[test]
    fn each_action_needs_the_role_the_openapi_document_publishes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut published = std::collections::HashMap::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let (Some(id), Some(role)) = (op["operationId"].as_str(), op["x-required-role"].as_str()) {
                    published.insert(id.to_owned(), role.parse::<Role>().unwrap());
                }
            }
        }
        for what in all() {
            for op in operations(what) {
                assert_eq!(published.get(*op), Some(&what.needs().0), "{what:?}: {op}");
            }
        }
    }

    #[test]
    fn roles_and_deployment_limits_decide_what_is_offered() {
        let viewer = Access { role: Role::Viewer, deployments: None };
        assert!(viewer.can(Can::CreateTokens));
        assert!(!viewer.can(Can::EditCloudConfigs));
        assert!(!viewer.can(Can::ChangeDeployment(deployment(1))));

        let operator = Access { role: Role::Operator, deployments: None };
        assert!(operator.can(Can::EditCloudConfigs) && operator.can(Can::ChangeDeployment(deployment(1))));
        assert!(!operator.can(Can::ManageHosts) && !operator.can(Can::SeeUsers));

        let ci = Access { role: Role::Operator, deployments: Some(vec![deployment(1)]) };
        assert!(ci.can(Can::ChangeDeployment(deployment(1))));
        assert!(!ci.can(Can::ChangeDeployment(deployment(2))));
        assert!(!ci.can(Can::CreateDeployments) && !ci.can(Can::CreateTokens));

        let limited_admin = Access { role: Role::Admin, deployments: Some(vec![deployment(1)]) };
        assert!(limited_admin.can(Can::SeeUsers));
        assert!(!limited_admin.can(Can::ManageUsers) && !limited_admin.can(Can::ManageHosts));

        let admin = Access { role: Role::Admin, deployments: None };
        assert!(all().iter().all(|what| admin.can(*what)));
        assert!(!all().iter().any(|what| Access::none().can(*what)));
    }

    #[test]
    fn the_top_bar_says_who_and_what_the_token_allows() {
        let now = chrono::Utc::now();
        let user = User {
            id: "0b6f8c1e-0000-4000-8000-000000000101".parse().unwrap(),
            name: "ops".into(),
            role: Role::Admin,
            disabled_at: None,
            created_at: now,
        };
        let token = ApiToken {
            id: "0b6f8c1e-0000-4000-8000-000000000102".parse().unwrap(),
            user_id: user.id,
            user_name: "ops".into(),
            name: "ci".into(),
            role: Some(Role::Operator),
            deployments: Some(vec![deployment(1), deployment(2)]),
            expires_at: None,
            created_at: now,
            last_used_at: None,
        };
        let me = Me { user, token, role: Role::Operator };
        assert_eq!(describe(&me), "ops · operator (token limited; the user is admin) · 2 deployments only");
        let access = Access::of(&me);
        assert_eq!((access.role, access.deployments.map(|d| d.len())), (Role::Operator, Some(2)));
    }
}
