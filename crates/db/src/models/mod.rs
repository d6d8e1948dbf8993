//! One module per table: read structs (`Queryable + Selectable`), insert structs (`NewX`) and the
//! queries that belong to the table.

pub mod audit;
pub mod cloud_configs;
pub mod deployments;
pub mod hosts;
pub mod instances;
pub mod jobs;
pub mod keyset;
pub mod rollouts;
pub mod routing;
pub mod tokens;
pub mod users;
