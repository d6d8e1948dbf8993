//! Prometheus metrics: what operators watch to know, before users do, that a host is slow, a job
//! is stuck or the load balancer lost a backend.
//!
//! One [`Metrics`] per server process, held in the shared state and encoded by `GET /metrics` on a
//! listener of its own (`metrics_listen`, loopback by default, no token: it names hosts and
//! routes, never secrets). Built on `prometheus-client`, the official client: the registry is
//! ours (no process-global one, so several servers in one test process do not mix their counts)
//! and every label set is a type.
//!
//! Two kinds of figures:
//! - **events**, counted where they happen: HTTP requests (by route *pattern*, so
//!   `/api/v1/deployments/{id}` is one series whatever the ID), jobs and their items, LXD requests
//!   (through the LXD client's observer hook, [`lxd::RequestObserver`]);
//! - **levels**, read from the live state at each scrape ([`Metrics::render`]): the host cache's
//!   data age per host, whether each host's event stream is up, database connections in use and
//!   callers waiting, job event streams open, and load-balancer servers by state from whatever
//!   registered a [`BackendSource`] (the routing module; [`backends::HaproxyBackends`] reads
//!   HAProxy's runtime API).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::state::AppState;

pub mod backends;
pub mod http;

pub use backends::{BackendServer, BackendSource};

/// The content type of what [`Metrics::render`] returns (Prometheus' text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// How long a scrape waits for one load-balancer source before leaving it out.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(2);

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ItemLabels {
    kind: String,
    step: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LxdLabels {
    host: String,
    method: String,
    path: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LxdRouteLabels {
    host: String,
    method: String,
    path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabels {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    host: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
    state: String,
}

/// HTTP handling: 0.5 ms to 16 s.
fn http_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// LXD requests: 1 ms to 65 s (an operation's `/wait` lasts as long as the operation).
fn lxd_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Jobs: 0.1 s to 27 min.
fn job_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.1, 2.0, 15))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    jobs: Family<JobLabels, Counter>,
    job_duration: HistogramFamily<JobLabels>,
    items: Family<ItemLabels, Counter>,
    lxd_requests: Family<LxdLabels, Counter>,
    lxd_duration: HistogramFamily<LxdRouteLabels>,
    host_events: Family<EventLabels, Counter>,
    cache_age: Family<HostLabels, Gauge<f64, AtomicU64>>,
    state_age: Family<HostLabels, Gauge<f64, AtomicU64>>,
    host_online: Family<HostLabels, Gauge>,
    events_connected: Family<HostLabels, Gauge>,
    db_connections: Family<PoolLabels, Gauge>,
    db_waiting: Gauge,
    job_streams: Gauge,
    lb_servers: Family<BackendLabels, Gauge>,
    lb_errors: Counter,
    backends: Mutex<Vec<Arc<dyn BackendSource>>>,
    /// One scrape at a time: the level gauges are cleared and refilled by each.
    scrape: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mosaic");
        let metrics = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_buckets),
            jobs: Family::default(),
            job_duration: Family::new_with_constructor(job_buckets),
            items: Family::default(),
            lxd_requests: Family::default(),
            lxd_duration: Family::new_with_constructor(lxd_buckets),
            host_events: Family::default(),
            cache_age: Family::default(),
            state_age: Family::default(),
            host_online: Family::default(),
            events_connected: Family::default(),
            db_connections: Family::default(),
            db_waiting: Gauge::default(),
            job_streams: Gauge::default(),
            lb_servers: Family::default(),
            lb_errors: Counter::default(),
            backends: Mutex::default(),
            scrape: tokio::sync::Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            metrics.http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (to the response head; a stream's life is not counted)",
            Unit::Seconds,
            metrics.http_duration.clone(),
        );
        registry.register(
            "jobs",
            "Jobs run to an end by this process, by kind and outcome",
            metrics.jobs.clone(),
        );
        registry.register_with_unit(
            "job_duration",
            "Time from claiming a job to its end, by kind and outcome",
            Unit::Seconds,
            metrics.job_duration.clone(),
        );
        registry.register(
            "job_items",
            "Job items (one instance each) finished, by job kind and final step (done or failed)",
            metrics.items.clone(),
        );
        registry.register(
            "lxd_requests",
            "Requests to LXD hosts, by host, method, path template and outcome (ok, http_4xx, http_5xx, unreachable)",
            metrics.lxd_requests.clone(),
        );
        registry.register_with_unit(
            "lxd_request_duration",
            "Time for an LXD host to answer a request (an operation wait lasts as long as the operation)",
            Unit::Seconds,
            metrics.lxd_duration.clone(),
        );
        registry.register(
            "host_events",
            "Lifecycle events from hosts' event streams that changed the host cache, by host and action",
            metrics.host_events.clone(),
        );
        registry.register_with_unit(
            "host_cache_age",
            "Age of each host's last listing in the host cache (status and config; events keep status younger)",
            Unit::Seconds,
            metrics.cache_age.clone(),
        );
        registry.register_with_unit(
            "host_state_age",
            "Age of the oldest memory and address reading among each host's running containers",
            Unit::Seconds,
            metrics.state_age.clone(),
        );
        registry.register(
            "host_online",
            "Whether the host answered its last poll (1) or not (0)",
            metrics.host_online.clone(),
        );
        registry.register(
            "host_events_connected",
            "Whether the host's event stream is open (1), or status falls back to polling (0)",
            metrics.events_connected.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections by pool and state (in_use, idle)",
            metrics.db_connections.clone(),
        );
        registry.register(
            "db_pool_waiting",
            "Callers waiting for a database connection in this process",
            metrics.db_waiting.clone(),
        );
        registry.register("job_event_streams", "Job event streams open", metrics.job_streams.clone());
        registry.register(
            "lb_servers",
            "Load-balancer servers by backend and state (UP, DOWN, DRAIN, MAINT, ...)",
            metrics.lb_servers.clone(),
        );
        registry.register(
            "lb_scrape_errors",
            "Load-balancer sources that could not be read at a scrape",
            metrics.lb_errors.clone(),
        );
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// Counts one answered HTTP request. `route` is the matched pattern (or `unmatched`).
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = known_method(method);
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.into(),
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels { method: method.into(), route: route.into() })
            .observe(took.as_secs_f64());
    }

    /// Counts one job that ran to an end here: `outcome` is `succeeded`, `failed`, `lost` (taken
    /// over by another process) or `interrupted` (given back at shutdown).
    pub fn job_finished(&self, kind: &str, outcome: &str, took: Duration) {
        let labels = JobLabels { kind: kind.into(), outcome: outcome.into() };
        self.jobs.get_or_create(&labels).inc();
        self.job_duration.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// Counts one finished job item: `step` is its final step (`done` or `failed`).
    pub fn item_finished(&self, kind: &str, step: &str) {
        self.items.get_or_create(&ItemLabels { kind: kind.into(), step: step.into() }).inc();
    }

    /// Counts a lifecycle event that changed the host cache.
    pub fn host_event(&self, host: &str, action: &str) {
        self.host_events.get_or_create(&EventLabels { host: host.into(), action: action.into() }).inc();
    }

    /// An observer for the LXD client of host `host` (its name in Mosaic).
    pub fn lxd_observer(self: &Arc<Self>, host: &str) -> Arc<dyn lxd::RequestObserver> {
        Arc::new(LxdObserver { metrics: self.clone(), host: host.to_owned() })
    }

    /// Adds a source of load-balancer servers, read at every scrape. The routing module calls
    /// this once when it starts (with [`backends::HaproxyBackends`] for HAProxy's runtime API).
    pub fn register_backends(&self, source: Arc<dyn BackendSource>) {
        self.backends.lock().unwrap_or_else(|e| e.into_inner()).push(source);
    }

    /// Everything, in Prometheus' text format: the levels are read from `state` now.
    pub async fn render(&self, state: &AppState) -> String {
        let _one_at_a_time = self.scrape.lock().await;
        self.read_levels(state);
        self.read_backends().await;
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        text
    }

    fn read_levels(&self, state: &AppState) {
        let names = state.hosts.names();
        let live = state.cache.event_streams();
        self.cache_age.clear();
        self.state_age.clear();
        self.host_online.clear();
        self.events_connected.clear();
        for (id, snapshot) in state.cache.all() {
            let host = HostLabels { host: names.get(&id).cloned().unwrap_or_else(|| id.to_string()) };
            self.cache_age.get_or_create(&host).set(snapshot.age().as_secs_f64());
            if let Some(age) = snapshot.state_age() {
                self.state_age.get_or_create(&host).set(age.as_secs_f64());
            }
            self.host_online.get_or_create(&host).set(i64::from(snapshot.instances.is_ok()));
            let connected = live.get(&id).is_some_and(|s| s.connected);
            self.events_connected.get_or_create(&host).set(i64::from(connected));
        }
        for (name, pool) in [("requests", &state.pool), ("control", &state.control_pool)] {
            let pool_state = pool.state();
            let idle = i64::from(pool_state.idle_connections);
            let in_use = i64::from(pool_state.connections) - idle;
            for (which, value) in [("in_use", in_use), ("idle", idle)] {
                self.db_connections
                    .get_or_create(&PoolLabels { pool: name.into(), state: which.into() })
                    .set(value);
            }
        }
        self.db_waiting.set(i64::try_from(crate::db::waiting()).unwrap_or(i64::MAX));
        self.job_streams.set(i64::try_from(state.streams.total()).unwrap_or(i64::MAX));
    }

    async fn read_backends(&self) {
        let sources: Vec<Arc<dyn BackendSource>> =
            self.backends.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.lb_servers.clear();
        for source in sources {
            match tokio::time::timeout(BACKEND_TIMEOUT, source.servers()).await {
                Ok(Ok(servers)) => {
                    for server in servers {
                        self.lb_servers
                            .get_or_create(&BackendLabels { backend: server.backend, state: server.state })
                            .inc();
                    }
                }
                Ok(Err(e)) => {
                    self.lb_errors.inc();
                    tracing::warn!(error = %e, "metrics: cannot read the load balancer's servers");
                }
                Err(_) => {
                    self.lb_errors.inc();
                    tracing::warn!("metrics: the load balancer did not say within {BACKEND_TIMEOUT:?}");
                }
            }
        }
    }
}

/// A method as a label: the standard ones verbatim, anything else `other` (a client may send any
/// token as a method, and every label value is a series).
fn known_method(method: &str) -> &str {
    match method {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "other",
    }
}

/// Counts one host's LXD requests.
struct LxdObserver {
    metrics: Arc<Metrics>,
    host: String,
}

impl lxd::RequestObserver for LxdObserver {
    fn observe(&self, request: &lxd::ObservedRequest<'_>) {
        let outcome = match request.outcome {
            lxd::RequestOutcome::Answered(status) if status < 400 => "ok",
            lxd::RequestOutcome::Answered(status) if status < 500 => "http_4xx",
            lxd::RequestOutcome::Answered(_) => "http_5xx",
            lxd::RequestOutcome::Failed => "unreachable",
        };
        let (host, method, path) = (self.host.clone(), request.method.to_owned(), request.path.to_owned());
        self.metrics
            .lxd_duration
            .get_or_create(&LxdRouteLabels { host: host.clone(), method: method.clone(), path: path.clone() })
            .observe(request.duration.as_secs_f64());
        self.metrics
            .lxd_requests
            .get_or_create(&LxdLabels { host, method, path, outcome: outcome.into() })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn encoded(metrics: &Metrics) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &metrics.registry).unwrap();
        text
    }

    #[test]
    fn counts_are_labelled_by_type() {
        let metrics = Arc::new(Metrics::default());
        metrics.http_request("GET", "/api/v1/deployments/{id}", 200, Duration::from_millis(3));
        metrics.http_request("BREW", "/api/v1/deployments/{id}", 405, Duration::from_millis(1));
        metrics.job_finished("deploy", "succeeded", Duration::from_secs(2));
        metrics.item_finished("deploy", "done");
        let observer = metrics.lxd_observer("lxd-a");
        observer.observe(&lxd::ObservedRequest {
            method: "GET",
            path: "/1.0/instances",
            outcome: lxd::RequestOutcome::Answered(200),
            duration: Duration::from_millis(40),
        });
        observer.observe(&lxd::ObservedRequest {
            method: "GET",
            path: "/1.0/instances/{name}",
            outcome: lxd::RequestOutcome::Failed,
            duration: Duration::from_millis(5),
        });
        let text = encoded(&metrics);
        for line in [
            r#"mosaic_http_requests_total{method="GET",route="/api/v1/deployments/{id}",status="200"} 1"#,
            r#"mosaic_http_requests_total{method="other",route="/api/v1/deployments/{id}",status="405"} 1"#,
            r#"mosaic_jobs_total{kind="deploy",outcome="succeeded"} 1"#,
            r#"mosaic_job_duration_seconds_count{kind="deploy",outcome="succeeded"} 1"#,
            r#"mosaic_job_items_total{kind="deploy",step="done"} 1"#,
            r#"mosaic_lxd_requests_total{host="lxd-a",method="GET",path="/1.0/instances",outcome="ok"} 1"#,
            r#"mosaic_lxd_requests_total{host="lxd-a",method="GET",path="/1.0/instances/{name}",outcome="unreachable"} 1"#,
            r#"mosaic_lxd_request_duration_seconds_sum{host="lxd-a",method="GET",path="/1.0/instances"} 0.04"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
