//! An optional hook told about every request a [`Client`](crate::Client) sends, for metrics.
//!
//! The client calls its observer once per HTTP request (and once per event-stream connection),
//! after the answer's headers arrived or the request failed, with the method, the path as a
//! template (`/1.0/instances/{name}/state`: names and IDs replaced, so a metric keyed by it stays
//! small), the outcome and the time taken. One hook in the client instead of a wrapper at every
//! call site: every request, including operation waits and exec log reads, passes through it.

use std::time::Duration;

/// How a request ended, as far as the transport can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// LXD answered with this HTTP status (an error status is still an answer: LXD's error
    /// envelope). `101` is an event stream's accepted upgrade.
    Answered(u16),
    /// No answer: the connection could not be made, broke, timed out, failed its TLS handshake
    /// (a certificate that is not the pinned one), or LXD tried to redirect.
    Failed,
}

impl RequestOutcome {
    /// Whether the request got an answer that is not an error (status below 400).
    pub fn is_success(self) -> bool {
        matches!(self, RequestOutcome::Answered(status) if status < 400)
    }
}

/// One request as the observer sees it.
#[derive(Debug, Clone, Copy)]
pub struct ObservedRequest<'a> {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: &'a str,
    /// The path with names and IDs replaced by `{name}` (see [`path_template`]), no query.
    pub path: &'a str,
    /// How it ended.
    pub outcome: RequestOutcome,
    /// From sending to the answer's headers (or the failure); an operation's `/wait` lasts as
    /// long as the operation.
    pub duration: Duration,
}

/// Told about every request a client (and its clones) sends; set with
/// [`Client::with_observer`](crate::Client::with_observer). Called on the request's task, so it
/// must be quick (count, not write to disk).
pub trait RequestObserver: Send + Sync {
    /// One request ended.
    fn observe(&self, request: &ObservedRequest<'_>);
}

/// Path segments after which LXD puts a name or an ID.
const COLLECTIONS: &[&str] = &[
    "instances",
    "operations",
    "images",
    "aliases",
    "profiles",
    "projects",
    "certificates",
    "members",
    "logs",
    "snapshots",
    "backups",
    "networks",
    "storage-pools",
    "volumes",
];

/// Segments that follow a collection but are not names (`/1.0/images/aliases`).
const NOT_NAMES: &[(&str, &str)] = &[("images", "aliases")];

/// `path` (query dropped) with every name or ID after a collection replaced by `{name}`:
/// `/1.0/instances/web-1/state` becomes `/1.0/instances/{name}/state`, `/1.0/operations/<uuid>/wait`
/// becomes `/1.0/operations/{name}/wait`. The other segments are the API's own words, so the
/// number of templates is bounded by what the client asks, not by how many instances exist.
pub fn path_template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let mut out = String::with_capacity(path.len());
    let mut previous = "";
    for segment in path.split('/').skip(1) {
        out.push('/');
        let name_here = COLLECTIONS.contains(&previous) && !NOT_NAMES.contains(&(previous, segment));
        if name_here && !segment.is_empty() {
            out.push_str("{name}");
            previous = "";
        } else {
            out.push_str(segment);
            previous = segment;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::path_template;

    #[test]
    fn names_and_ids_become_placeholders() {
        for (path, template) in [
            ("/1.0", "/1.0"),
            ("/1.0/instances", "/1.0/instances"),
            ("/1.0/instances/web-1", "/1.0/instances/{name}"),
            ("/1.0/instances/web-1/state", "/1.0/instances/{name}/state"),
            ("/1.0/instances/state/state", "/1.0/instances/{name}/state"),
            ("/1.0/instances/c1/logs/exec_910c.stdout", "/1.0/instances/{name}/logs/{name}"),
            ("/1.0/instances/c1/files?path=/etc/hosts", "/1.0/instances/{name}/files"),
            ("/1.0/operations/910c3046-611e/wait?project=p", "/1.0/operations/{name}/wait"),
            ("/1.0/images/aliases", "/1.0/images/aliases"),
            ("/1.0/images/aliases/busybox", "/1.0/images/aliases/{name}"),
            ("/1.0/images/e70bda07", "/1.0/images/{name}"),
            ("/1.0/cluster/members/m1", "/1.0/cluster/members/{name}"),
            ("/1.0/events", "/1.0/events"),
        ] {
            assert_eq!(path_template(path), template, "{path}");
        }
    }
}
