//! A headless Chromium session through chromedriver, and screenshots as test artifacts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use mosaic_testkit::eventually;

/// Chromium's flags that work here as root, with the background networking that would try the
/// closed network turned off.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// chromedriver and a browser session; both end when dropped.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: tokio::process::Child,
    profile: PathBuf,
}

impl Drop for Browser {
    /// Killing chromedriver leaves the Chromium it started running (it is not chromedriver's
    /// child for the kernel's purposes once chromedriver dies), whether the test passed or
    /// panicked: end every process using this session's own profile directory, then remove it.
    fn drop(&mut self) {
        let flag = format!("--user-data-dir={}", self.profile.display());
        // `--` first: the pattern itself starts with dashes.
        match std::process::Command::new("pkill").args(["-KILL", "-f", "--", &flag]).status() {
            // 0: killed, 1: nothing left to kill.
            Ok(s) if matches!(s.code(), Some(0 | 1)) => {}
            other => eprintln!("could not end Chromium ({flag}): {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver) starts");
        let profile = std::env::temp_dir().join(format!("mosaic-chromium-{}", uuid::Uuid::new_v4().simple()));
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }))
        .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = eventually(Duration::from_secs(30), "chromedriver to accept a session", || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .ok()
            }
        })
        .await;
        Browser { client, _driver: driver, profile }
    }

    /// Waits (up to `secs`) for an element matching `css`.
    pub async fn wait(&self, css: &str, secs: u64) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// Waits for an element whose text contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str, secs: u64) {
        eventually(Duration::from_secs(secs), &format!("{css} to say {text:?}"), || async {
            let elements = self.client.find_all(Locator::Css(css)).await.ok()?;
            for e in elements {
                if e.text().await.ok()?.contains(text) {
                    return Some(());
                }
            }
            None
        })
        .await
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait(css, 30).await.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Replaces the value of the input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.wait(css, 30).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Clicks the link whose text is `text` (the top bar's).
    pub async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("finding the link {text:?}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking the link {text:?}: {e}"));
    }

    /// Picks the option with value `value` in the select matching `css` (as a click would, so
    /// the page hears the change).
    pub async fn select(&self, css: &str, value: &str) {
        self.wait(css, 30)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("selecting {value} in {css}: {e}"));
    }

    /// The current value of the input or select matching `css`.
    pub async fn value(&self, css: &str) -> String {
        let element = self.wait(css, 30).await;
        element.prop("value").await.unwrap_or_else(|e| panic!("reading {css}: {e}")).unwrap_or_default()
    }

    /// Checks that nothing matches `css` now: call it once the page has shown what decides
    /// (elements render together with the data that decides whether they are offered).
    pub async fn assert_absent(&self, css: &str) {
        let found = self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("looking for {css}: {e}"));
        assert!(found.is_empty(), "{css} is offered, and should not be");
    }

    /// Waits (up to `secs`) until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str, secs: u64) {
        eventually(Duration::from_secs(secs), &format!("{css} to go"), || async {
            self.client.find_all(Locator::Css(css)).await.ok()?.is_empty().then_some(())
        })
        .await
    }

    /// Saves a screenshot as a test artifact (`target/e2e-screenshots/<name>.png`).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}
