//! Fan-out: one call per (host, item), concurrently, with a bound per host.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

/// Runs work on many hosts at once while never running more than `per_host` calls on any one.
///
/// LXD slows down, and is reported to hang, when one daemon gets many concurrent creates, so the
/// bound is per host, while different hosts proceed independently. A `HostLimiter` can be shared
/// (e.g. by every job of a server process) so that concurrent jobs respect the same bound.
///
/// Every item gets its own result, in input order: one failure never hides or cancels the others.
#[derive(Debug)]
pub struct HostLimiter<H> {
    per_host: usize,
    hosts: Mutex<HashMap<H, Arc<Semaphore>>>,
}

impl<H: Eq + Hash + Clone> HostLimiter<H> {
    /// A limiter allowing `per_host` concurrent calls per host (at least 1).
    pub fn new(per_host: usize) -> Self {
        HostLimiter { per_host: per_host.max(1), hosts: Mutex::new(HashMap::new()) }
    }

    fn semaphore(&self, host: &H) -> Arc<Semaphore> {
        // A poisoned lock only means another thread panicked while inserting; the map is intact.
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.entry(host.clone()).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone()
    }

    /// Runs `work(item)` for every `(host, item)`, at most `per_host` at a time on each host, and
    /// returns each item's output in input order.
    pub async fn run<I, T, F, Fut>(&self, items: impl IntoIterator<Item = (H, I)>, work: F) -> Vec<T>
    where
        F: Fn(I) -> Fut,
        Fut: Future<Output = T>,
    {
        let work = &work;
        let tasks = items.into_iter().map(|(host, item)| {
            let semaphore = self.semaphore(&host);
            async move {
                // The semaphore is never closed, so acquiring only waits.
                let _permit = semaphore.acquire_owned().await;
                work(item).await
            }
        });
        futures::future::join_all(tasks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bounds_each_host_and_keeps_every_result_in_order() {
        let limiter = HostLimiter::new(2);
        let running: HashMap<&str, Arc<AtomicUsize>> =
            [("a", Arc::default()), ("b", Arc::default())].into_iter().collect();
        let peak: HashMap<&str, Arc<AtomicUsize>> =
            [("a", Arc::default()), ("b", Arc::default())].into_iter().collect();
        let items = (0..10).map(|i| (if i % 2 == 0 { "a" } else { "b" }, i));
        let results = limiter
            .run(items, |i: i32| {
                let host = if i % 2 == 0 { "a" } else { "b" };
                let (running, peak) = (running[host].clone(), peak[host].clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    if i == 3 { Err(format!("item {i} failed")) } else { Ok(i) }
                }
            })
            .await;
        assert_eq!(results.len(), 10);
        assert_eq!(results[3], Err("item 3 failed".to_owned()));
        for (i, r) in results.iter().enumerate() {
            if i != 3 {
                assert_eq!(r, &Ok(i as i32));
            }
        }
        assert_eq!(peak["a"].load(Ordering::SeqCst), 2, "host a should use its full bound, no more");
        assert_eq!(peak["b"].load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_proceed_independently() {
        // With a bound of 1, five items on each of two hosts take five rounds, not ten.
        let limiter = HostLimiter::new(1);
        let start = tokio::time::Instant::now();
        let items = (0..10).map(|i| (i % 2, i));
        limiter.run(items, |_| tokio::time::sleep(Duration::from_secs(1))).await;
        assert_eq!(start.elapsed().as_secs(), 5);
    }
}
