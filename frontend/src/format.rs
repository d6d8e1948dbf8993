//! Formatting for people: bytes, times, job steps.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// `1536` → `1.5 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// A time as `YYYY-MM-DD HH:MM:SS`, or a dash.
pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "—".into())
}

/// A job item's step as the API spells it (`creating`, `checking`, …): the one place the app
/// turns a step into text, for its label and its CSS class. It takes whatever type the wire
/// carries the step as (a `String` today, the `JobStep` enum with snake_case names later) and
/// yields the same word for both, so that change needs nothing here.
pub fn job_step(step: &impl Serialize) -> String {
    match serde_json::to_value(step) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_reads_the_same_as_a_string_or_an_enum() {
        #[derive(Serialize)]
        #[serde(rename_all = "snake_case")]
        enum Step {
            Creating,
        }
        assert_eq!(job_step(&"creating".to_owned()), "creating");
        assert_eq!(job_step(&Step::Creating), "creating");
    }

    #[test]
    fn bytes_in_human_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(15_544_320), "14.8 MiB");
    }
}
