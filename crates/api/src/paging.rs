//! Cursor pagination, shared by every list endpoint.
//!
//! A list is read in a stable order over (sort key…, ID) and a page ends where the next one
//! starts: the cursor names the last row's key and ID, so the database seeks there through an
//! index (`WHERE (key, id) > (…) ORDER BY key, id LIMIT n + 1`) and a page costs the same at 10
//! rows or 100,000. One more row than asked is read to know whether a next page exists.
//!
//! Cursors are opaque to callers (URL-safe base64); inside they are the key's parts separated by
//! NUL, which no PostgreSQL text value can hold, so any name round-trips.

use std::str::FromStr;

use base64::Engine;
use mosaic_types::page::{DEFAULT_LIMIT, MAX_LIMIT, Page};

use crate::error::ApiError;

/// The page size asked for, checked: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
pub fn limit(limit: Option<u32>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    Ok(i64::from(limit))
}

/// A cursor naming where a page ended: the last row's sort key parts, then its ID.
pub fn encode(parts: &[&str]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(parts.join("\0"))
}

/// The `N` parts of a cursor [`encode`] gave out; anything else is a 400.
pub fn decode<const N: usize>(text: &str) -> Result<[String; N], ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    let parts: Vec<String> = text.split('\0').map(str::to_owned).collect();
    parts.try_into().map_err(|_| bad_cursor())
}

/// One part of a decoded cursor, parsed (an ID, a number, a time).
pub fn parse<T: FromStr>(part: &str) -> Result<T, ApiError> {
    part.parse().map_err(|_| bad_cursor())
}

/// Decodes an optional cursor of `N` parts.
pub fn after<const N: usize>(cursor: Option<&str>) -> Result<Option<[String; N]>, ApiError> {
    cursor.map(decode::<N>).transpose()
}

fn bad_cursor() -> ApiError {
    ApiError::validation("cursor is not one this server gave out")
}

/// Makes a page of `rows` read with `LIMIT limit + 1`: at most `limit` items, and a cursor after
/// the last of them when there was one more row.
pub fn finish<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(&cursor_of) } else { None };
    Page { items: rows, next_cursor }
}

/// Converts a page's items, keeping its cursor.
pub fn map<T, U>(page: Page<T>, f: impl FnMut(T) -> U) -> Page<U> {
    Page { items: page.items.into_iter().map(f).collect(), next_cursor: page.next_cursor }
}

/// A timestamp as a cursor part: RFC 3339 with every digit PostgreSQL keeps (microseconds).
pub fn time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_any_text_and_refuses_the_wrong_shape() {
        let cursor = encode(&["a:b/c d", "42"]);
        let [name, id] = decode::<2>(&cursor).unwrap();
        assert_eq!((name.as_str(), parse::<i64>(&id).unwrap()), ("a:b/c d", 42));
        assert!(decode::<3>(&cursor).is_err(), "a cursor of another list");
        assert!(decode::<2>("not base64!").is_err());
        assert!(parse::<i64>("x").is_err());
    }

    #[test]
    fn a_page_has_a_cursor_only_when_a_row_was_left() {
        let page = finish(vec![1, 2, 3], 2, ToString::to_string);
        assert_eq!((page.items, page.next_cursor), (vec![1, 2], Some("2".to_owned())));
        let last = finish(vec![1, 2], 2, ToString::to_string);
        assert_eq!(last.next_cursor, None);
        assert!(limit(Some(0)).is_err() && limit(Some(MAX_LIMIT + 1)).is_err());
        assert_eq!(limit(None).unwrap(), i64::from(DEFAULT_LIMIT));
    }
}
