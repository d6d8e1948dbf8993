//! Instance names, validated the way LXD validates them.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A valid LXD instance name.
///
/// LXD's rules (5.0.2): 1 to 63 characters of ASCII letters, digits and `-`, not starting with a
/// digit or `-`, not ending with `-` (the name doubles as a hostname). Checking before any request
/// means a bad name never reaches a host, and never fails half-way through a fan-out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct InstanceName(String);

impl InstanceName {
    /// Validates `name`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::invalid("instance name", format!("{name:?} {reason}"));
        if name.is_empty() || name.len() > 63 {
            return Err(invalid("must be 1 to 63 characters long"));
        }
        if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(invalid(&format!("contains {c:?}; only letters, digits and '-' are allowed")));
        }
        if name.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return Err(invalid("must not start with a digit or '-'"));
        }
        if name.ends_with('-') {
            return Err(invalid("must not end with '-'"));
        }
        Ok(InstanceName(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for InstanceName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InstanceName::parse(s)
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for InstanceName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for InstanceName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        InstanceName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in ["a", "web-1", "my-site-webservers-3", "A1b2", &"x".repeat(63)] {
            assert!(InstanceName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_lxd_rejects() {
        for bad in ["", "1web", "-web", "web-", "web_1", "web.1", "wéb", "a b", &"x".repeat(64)] {
            assert!(InstanceName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
