//! Typed IDs: a `HostId` can never be passed where a `DeploymentId` is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[cfg_attr(feature = "diesel", derive(diesel_derive_newtype::DieselNewType))]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        #[cfg(feature = "v4")]
        impl $name {
            /// A new random ID.
            pub fn new() -> Self {
                $name(Uuid::new_v4())
            }
        }

        #[cfg(feature = "v4")]
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

typed_id!(
    /// Identifies a user.
    UserId
);
typed_id!(
    /// Identifies an API token.
    TokenId
);
typed_id!(
    /// Identifies a registered LXD host.
    HostId
);
typed_id!(
    /// Identifies a cloud-config.
    CloudConfigId
);
typed_id!(
    /// Identifies a deployment.
    DeploymentId
);
typed_id!(
    /// Identifies an instance (a container Mosaic created).
    InstanceId
);
typed_id!(
    /// Identifies a job.
    JobId
);
typed_id!(
    /// Identifies an exposed port of a deployment member.
    ExposedPortId
);
