//! Reading a server's `/metrics` (Prometheus' text format) in tests.

use crate::TestApp;

impl TestApp {
    /// Scrapes the metrics listener, as Prometheus does: no token. Checks the status and the
    /// content type.
    pub async fn metrics(&self) -> Metrics {
        let response = self
            .http
            .get(format!("http://{}/metrics", self.metrics_address))
            .send()
            .await
            .expect("scrape the metrics listener");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().expect("content type").to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        Metrics(response.text().await.expect("metrics body"))
    }
}

/// A scrape's text.
#[derive(Debug, Clone)]
pub struct Metrics(pub String);

impl Metrics {
    /// Every series of metric `name` whose labels include all of `labels`, with its value.
    pub fn series(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(String, f64)> {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (metric, label_text) = match series.split_once('{') {
                    Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                if metric != name {
                    return None;
                }
                if !labels.iter().all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\""))) {
                    return None;
                }
                Some((label_text.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    /// The sum of every series of `name` whose labels include `labels`; `None` if there is none.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let series = self.series(name, labels);
        (!series.is_empty()).then(|| series.iter().map(|(_, v)| v).sum())
    }

    /// Like [`Metrics::value`], failing the test (with the scrape) when there is no such series.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no series {name} with {labels:?} in the scrape:\n{}", self.0))
    }
}
