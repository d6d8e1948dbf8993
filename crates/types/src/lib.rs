//! Mosaic's wire types: every JSON body the API accepts or returns.
//!
//! One crate for the server and the Yew app, so the two can never disagree about a field. Every
//! type derives `utoipa::ToSchema`, which is how the OpenAPI document describes them. Request
//! bodies refuse unknown fields: a misspelt field is an error, not silently ignored.

pub mod stored;

pub mod audit;
pub mod cloud_configs;
pub mod deployments;
pub mod error;
pub mod health;
pub mod hosts;
pub mod ids;
pub mod instances;
pub mod jobs;
pub mod lenient;
pub mod page;
pub mod routing;
pub mod schemas;
pub mod users;
pub mod validate;

pub use error::{ErrorBody, ErrorDetail};
pub use ids::{CloudConfigId, DeploymentId, ExposedPortId, HostId, InstanceId, JobId, TokenId, UserId};
pub use stored::UnknownValue;
