//! Where the load balancer's servers come from: a registration point for the routing module.
//!
//! Routing (HAProxy in front of deployments' containers) owns its HAProxy; the metrics only read.
//! Whatever runs a load balancer registers a [`BackendSource`] with
//! [`Metrics::register_backends`](super::Metrics::register_backends), and every scrape asks each
//! source for its servers (bounded in time) and publishes `mosaic_lb_servers{backend, state}`.
//! [`HaproxyBackends`] is the source for HAProxy's runtime API (`show stat`), so routing plugs in
//! with one line once it has its `haproxy::RuntimeApi`.

use futures::future::BoxFuture;

/// One load-balancer server and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendServer {
    /// The backend (HAProxy's proxy name) it serves.
    pub backend: String,
    /// The server's name.
    pub server: String,
    /// Its state as the load balancer words it (`UP`, `DOWN`, `DRAIN`, `MAINT`, `no check`, ...).
    pub state: String,
}

/// Something that can list the load balancer's servers, read at each scrape.
pub trait BackendSource: Send + Sync {
    /// The servers now.
    fn servers(&self) -> BoxFuture<'_, anyhow::Result<Vec<BackendServer>>>;
}

/// HAProxy's servers through its runtime API (`show stat`): every server row, by backend and the
/// first word of its status (`UP 1/3` counts as `UP`).
#[derive(Debug, Clone)]
pub struct HaproxyBackends(pub haproxy::RuntimeApi);

impl BackendSource for HaproxyBackends {
    fn servers(&self) -> BoxFuture<'_, anyhow::Result<Vec<BackendServer>>> {
        Box::pin(async move {
            let rows = self.0.show_stat().await?;
            Ok(rows
                .into_iter()
                .filter(|row| row.kind == haproxy::RowKind::Server)
                .map(|row| BackendServer {
                    state: state_word(&row.status_raw),
                    backend: row.proxy,
                    server: row.server,
                })
                .collect())
        })
    }
}

/// `UP 1/3` → `UP`, `MAINT(via)` → `MAINT`, `no check` stays: the state without its detail, so
/// the label has a handful of values.
fn state_word(raw: &str) -> String {
    let raw = raw.trim();
    if raw == "no check" {
        return raw.to_owned();
    }
    raw.split([' ', '(']).next().unwrap_or(raw).to_owned()
}

#[cfg(test)]
mod tests {
    use super::state_word;

    #[test]
    fn states_lose_their_detail() {
        assert_eq!(state_word("UP 1/3"), "UP");
        assert_eq!(state_word("MAINT(via)"), "MAINT");
        assert_eq!(state_word("MAINT (resolution)"), "MAINT");
        assert_eq!(state_word("DRAIN"), "DRAIN");
        assert_eq!(state_word("no check"), "no check");
    }
}
