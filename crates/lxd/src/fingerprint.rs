//! SHA-256 certificate fingerprints, the way LXD prints them.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The SHA-256 of a certificate's DER encoding, as 32 bytes.
///
/// LXD shows it as 64 lowercase hex digits (`environment.certificate_fingerprint`); operators
/// often paste it with colons or in upper case, so parsing accepts both.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }

    /// Lowercase hex, LXD's spelling.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let cleaned: String = s.trim().chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&cleaned)
            .map_err(|e| Error::invalid("certificate fingerprint", format!("{s:?} is not hex: {e}")))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            Error::invalid(
                "certificate fingerprint",
                format!("expected 32 bytes (64 hex digits), got {}", b.len()),
            )
        })?;
        Ok(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_colon_and_upper_case_hex() {
        let hex = "ab".repeat(32);
        let plain: Fingerprint = hex.parse().unwrap();
        let colons: Fingerprint = vec!["AB"; 32].join(":").parse().unwrap();
        assert_eq!(plain, colons);
        assert_eq!(plain.to_string(), hex);
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        assert!("abcd".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn of_der_is_sha256() {
        // SHA-256 of the empty input, a well-known constant.
        assert_eq!(
            Fingerprint::of_der(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
