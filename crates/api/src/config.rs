//! Typed settings, read from `MOSAIC_*` environment variables.

use std::net::SocketAddr;

use anyhow::{Context, bail};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (the tests do this).
    pub listen: SocketAddr,
    /// Log line format.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), log_format: LogFormat::Pretty }
    }
}

impl Settings {
    /// Defaults overridden by `MOSAIC_LISTEN` and `MOSAIC_LOG_FORMAT` (`pretty` or `json`).
    pub fn from_env() -> anyhow::Result<Self> {
        let mut settings = Settings::default();
        if let Ok(listen) = std::env::var("MOSAIC_LISTEN") {
            settings.listen =
                listen.parse().with_context(|| format!("MOSAIC_LISTEN={listen:?} is not an address"))?;
        }
        if let Ok(format) = std::env::var("MOSAIC_LOG_FORMAT") {
            settings.log_format = match format.as_str() {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                other => bail!("MOSAIC_LOG_FORMAT={other:?}: expected pretty or json"),
            };
        }
        Ok(settings)
    }
}
