//! A bounded request loop through a load-balancer frontend, for tests that change what serves
//! while traffic flows (a drain, a stop, a rollout) and then ask whether any request failed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// When a request completed, and `None` for a 200 or what went wrong.
pub type Outcome = (Instant, Option<String>);

/// `workers` clients with kept-alive connections, each sending `GET /` one after the other until
/// stopped, `max_requests` in all, or `max_time`: the bounds keep a forgotten loop from running on.
pub struct FrontendLoad {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    workers: Vec<JoinHandle<()>>,
}

impl FrontendLoad {
    /// Starts the loop on `addr` (`host:port`), with `pause` between two requests of a client.
    pub fn start(addr: &str, workers: usize, max_requests: u64, max_time: Duration, pause: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let deadline = Instant::now() + max_time;
        let workers = (0..workers)
            .map(|_| {
                let (stop, sent, outcomes, url) =
                    (stop.clone(), sent.clone(), outcomes.clone(), format!("http://{addr}/"));
                tokio::spawn(async move {
                    let client = reqwest::Client::builder()
                        .no_proxy()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .expect("an HTTP client");
                    while !stop.load(Ordering::SeqCst)
                        && Instant::now() < deadline
                        && sent.fetch_add(1, Ordering::SeqCst) < max_requests
                    {
                        let outcome = match client.get(&url).send().await {
                            Ok(r) if r.status() == 200 => match r.text().await {
                                Ok(_) => None,
                                Err(e) => Some(format!("body: {e}")),
                            },
                            Ok(r) => Some(format!("status {}", r.status())),
                            Err(e) => Some(format!("{e:?}")),
                        };
                        outcomes.lock().expect("outcomes").push((Instant::now(), outcome));
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        FrontendLoad { stop, sent, outcomes, workers }
    }

    /// Requests completed so far.
    pub fn count(&self) -> usize {
        self.outcomes.lock().expect("outcomes").len()
    }

    /// What went wrong with the requests completed before `until`.
    pub fn failures_before(&self, until: Instant) -> Vec<String> {
        self.outcomes
            .lock()
            .expect("outcomes")
            .iter()
            .filter(|(at, outcome)| *at < until && outcome.is_some())
            .map(|(_, o)| o.clone().unwrap_or_default())
            .collect()
    }

    /// Stops the loop; returns every outcome, in completion order.
    pub async fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            w.await.expect("a load worker");
        }
        let outcomes = self.outcomes.lock().expect("outcomes").clone();
        assert!(self.sent.load(Ordering::SeqCst) as usize >= outcomes.len());
        outcomes
    }
}
