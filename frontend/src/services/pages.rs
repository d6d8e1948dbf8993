//! Reading lists a page at a time: every list endpoint answers `{items, next_cursor}`.
//!
//! Screens show the first pages and a "More" button ([`first_pages`]); pickers that need a whole
//! list (hosts to deploy on, cloud-configs to add) follow the cursor to the end ([`every`]).

use mosaic_types::page::{MAX_LIMIT, Page};
use serde::de::DeserializeOwned;

use super::{Api, ApiError};

/// Most pages read for one list: a server that kept answering with a next page (a bug) cannot
/// keep a screen loading forever.
pub const MAX_PAGES: usize = 100;

/// `path` with `name=value` added to its query for each value given (escaped), skipping empty
/// ones.
pub fn with_query(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = path.to_owned();
    for (name, value) in params {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(name);
            out.push('=');
            out.push_str(&query_escape(value));
        }
    }
    out
}

/// Percent-encodes everything but the characters a query value may carry as they are.
pub fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The items of a list's first `pages` pages (at least one) of the server's default size, in
/// order, and the cursor after them (`None` when nothing is left): what a screen showing "More"
/// reads on each refresh.
pub async fn first_pages<T: DeserializeOwned>(
    api: &Api,
    path: &str,
    pages: usize,
) -> Result<Page<T>, ApiError> {
    let mut all = Page { items: Vec::new(), next_cursor: None };
    let mut cursor: Option<String> = None;
    for _ in 0..pages.clamp(1, MAX_PAGES) {
        let page: Page<T> = api.get(&with_query(path, &[("cursor", cursor.as_deref())])).await?;
        all.items.extend(page.items);
        all.next_cursor = page.next_cursor;
        match &all.next_cursor {
            Some(next) => cursor = Some(next.clone()),
            None => break,
        }
    }
    Ok(all)
}

/// Every item of a list, the largest pages at a time, following `next_cursor` to the last.
pub async fn every<T: DeserializeOwned>(api: &Api, path: &str) -> Result<Vec<T>, ApiError> {
    let limit = MAX_LIMIT.to_string();
    let path = with_query(path, &[("limit", Some(&limit))]);
    let page = first_pages(api, &path, MAX_PAGES).await?;
    if page.next_cursor.is_some() {
        return Err(ApiError {
            status: 0,
            code: "too_many_pages".into(),
            message: format!("the list did not end after {MAX_PAGES} pages"),
        });
    }
    Ok(page.items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_added_escaped_and_empty_ones_left_out() {
        assert_eq!(
            with_query("/api/v1/hosts", &[("q", Some("a b&c")), ("cursor", None)]),
            "/api/v1/hosts?q=a%20b%26c"
        );
        assert_eq!(
            with_query("/x?limit=5", &[("q", Some("")), ("cursor", Some("YWJj-_"))]),
            "/x?limit=5&cursor=YWJj-_"
        );
        assert_eq!(query_escape("a+b/c=&d"), "a%2Bb%2Fc%3D%26d");
    }
}
