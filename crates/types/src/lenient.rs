//! Integers as JSON Schema defines them: `2.0` is the integer 2.
//!
//! Generated SDKs and fuzzers (schemathesis) legitimately send integral floats for `integer`
//! fields; serde alone rejects them.

use serde::{Deserialize, Deserializer, de::Error};

#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
}

fn to_i32<E: Error>(n: Number) -> Result<i32, E> {
    let wide = match n {
        Number::Int(i) => i,
        Number::Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 1e15 => f as i64,
        Number::Float(f) => return Err(E::custom(format!("{f} is not an integer"))),
    };
    i32::try_from(wide).map_err(|_| E::custom(format!("{wide} is out of range")))
}

/// A required `i32`.
pub fn i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    to_i32(Number::deserialize(d)?)
}

/// An optional `i32` (`null` or absent is `None`).
pub fn opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    Option::<Number>::deserialize(d)?.map(to_i32).transpose()
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::i32")]
        n: i32,
    }

    #[test]
    fn integral_floats_are_integers() {
        let t: T = serde_json::from_str(r#"{"n": 3.0}"#).unwrap();
        assert_eq!(t.n, 3);
        assert!(serde_json::from_str::<T>(r#"{"n": 3.5}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n": 1e12}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n": "3"}"#).is_err());
    }
}
