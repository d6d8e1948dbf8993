//! States stored as text: one definition gives the wire name, the stored name and the parser.
//!
//! Every state Mosaic keeps (an instance's lifecycle and readiness, a job's kind, state and step,
//! a deployment's status, a host's transport, an image server's protocol) is an enum from the
//! database to the wire. The database holds the same lower-case word the JSON uses, and refuses
//! any other with a `CHECK` constraint; reading back a word this build does not know is an error,
//! never a guess.

use std::fmt;

/// A stored or wire word that names no variant of the expected enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The enum's name.
    pub kind: &'static str,
    /// The word read.
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a known {}", self.value, self.kind)
    }
}

impl std::error::Error for UnknownValue {}

/// Defines an enum whose variants each have one lower-case name, used for JSON (serde), the
/// OpenAPI schema and the database column (a diesel `Text` conversion, behind the `diesel`
/// feature). `as_str`, `FromStr`, `Display` and `ALL` come with it.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
        // The OpenAPI derive does not see a `rename` whose word comes from a macro argument, so
        // the words are also snake_case by rule (a test checks the schema names each word).
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::stored::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::stored::UnknownValue {
                        kind: stringify!($name),
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = ::std::str::from_utf8(value.as_bytes())?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use stored_enum;

#[cfg(test)]
mod tests {
    use crate::audit::Outcome;
    use crate::cloud_configs::ImageProtocol;
    use crate::deployments::DeploymentStatus;
    use crate::hosts::HostTransport;
    use crate::instances::{Lifecycle, Readiness};
    use crate::jobs::{JobKind, JobState, JobStep};
    use crate::users::Role;

    /// The JSON word, the stored word, the parser and the OpenAPI schema agree for every variant
    /// (generated clients build their enums from the schema).
    fn round_trips<T>(all: &[T])
    where
        T: Copy
            + PartialEq
            + std::fmt::Debug
            + serde::Serialize
            + std::str::FromStr
            + std::fmt::Display
            + utoipa::PartialSchema,
        <T as std::str::FromStr>::Err: std::fmt::Debug,
    {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        let words: Vec<String> = all.iter().map(|v| v.to_string()).collect();
        assert_eq!(schema["enum"], serde_json::json!(words), "{schema}");
        for v in all {
            let json = serde_json::to_string(v).unwrap_or_default();
            assert_eq!(json, format!("\"{v}\""));
            assert_eq!(v.to_string().parse::<T>().ok(), Some(*v));
        }
    }

    #[test]
    fn every_state_round_trips_and_unknown_words_are_errors() {
        round_trips(Lifecycle::ALL);
        round_trips(Readiness::ALL);
        round_trips(JobKind::ALL);
        round_trips(JobState::ALL);
        round_trips(JobStep::ALL);
        round_trips(crate::jobs::RolloutPhase::ALL);
        round_trips(DeploymentStatus::ALL);
        round_trips(HostTransport::ALL);
        round_trips(Outcome::ALL);
        round_trips(ImageProtocol::ALL);
        round_trips(Role::ALL);
        let err = "finished".parse::<JobState>().err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("\"finished\" is not a known JobState"));
    }
}
