//! Names of proxies (frontends, backends) and servers, checked before they reach HAProxy.
//!
//! HAProxy accepts `[A-Za-z0-9_.:-]` in proxy and server names (its `invalid_char` rule; the runtime
//! API answers `character '!' is not permitted in server name 'a!'.`). A name is also spliced into
//! config lines and runtime commands, so anything else — a space, `/`, `;`, `#`, a quote — could
//! change what a line or command means. Checking once, here, makes every later use safe.

use std::fmt;
use std::str::FromStr;

/// A proxy or server name HAProxy accepts and that is safe to splice into a config line or a
/// runtime command: 1–64 of `[A-Za-z0-9_.:-]`, starting with a letter or digit.
///
/// Names starting with `_` are HAProxy-legal but reserved here for sections Mosaic adds itself
/// (the metrics listener is `_metrics`), so a service can never collide with them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

/// Why a string is not a usable [`Name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty string names nothing.
    #[error("a name cannot be empty")]
    Empty,
    /// Longer than [`Name::MAX_LEN`]; HAProxy has no hard limit, but these names end up in CSV
    /// stats, metrics labels and log lines.
    #[error("name '{name}' is {len} characters long; at most {max} are allowed", max = Name::MAX_LEN)]
    TooLong {
        /// The rejected name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// The first character is not an ASCII letter or digit.
    #[error("name '{name}' must start with a letter or a digit")]
    BadStart {
        /// The rejected name.
        name: String,
    },
    /// A character outside `[A-Za-z0-9_.:-]`.
    #[error(
        "character '{ch}' is not permitted in name '{name}' (allowed: letters, digits, '_', '.', ':', '-')"
    )]
    BadChar {
        /// The rejected name.
        name: String,
        /// The first offending character.
        ch: char,
    },
}

impl Name {
    /// Longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// Checks `name` against HAProxy's rules (see the type's docs).
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        let len = name.chars().count();
        let Some(first) = name.chars().next() else {
            return Err(NameError::Empty);
        };
        if len > Self::MAX_LEN {
            return Err(NameError::TooLong { name, len });
        }
        if !first.is_ascii_alphanumeric() {
            return Err(NameError::BadStart { name });
        }
        if let Some(ch) =
            name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
        {
            return Err(NameError::BadChar { name, ch });
        }
        Ok(Self(name))
    }

    /// The name as HAProxy sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Name {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Name {
    type Error = NameError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_haproxy_accepts() {
        for ok in ["web", "My_Site", "dep-1.web:80", "a", "9lives", &"x".repeat(64)] {
            assert_eq!(Name::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_what_could_change_a_line_or_a_command() {
        assert_eq!(Name::new(""), Err(NameError::Empty));
        assert!(matches!(Name::new("x".repeat(65)), Err(NameError::TooLong { len: 65, .. })));
        assert!(matches!(Name::new("_metrics"), Err(NameError::BadStart { .. })));
        assert!(matches!(Name::new("-a"), Err(NameError::BadStart { .. })));
        for (bad, ch) in [
            ("be/srv", '/'),
            ("a b", ' '),
            ("a;show", ';'),
            ("a#b", '#'),
            ("a\"b", '"'),
            ("a'b", '\''),
            ("a\nb", '\n'),
            ("café", 'é'),
            ("a!", '!'),
        ] {
            assert_eq!(Name::new(bad), Err(NameError::BadChar { name: bad.to_owned(), ch }), "{bad:?}");
        }
    }

    #[test]
    fn error_text_names_the_character() {
        let err = Name::new("a b").unwrap_err().to_string();
        assert!(err.contains("character ' ' is not permitted in name 'a b'"), "{err}");
    }
}
