//! What the benchmarks share: their knobs and the machine-wide figures they print.

/// A size from the environment (`MOSAIC_BENCH_*`), or its default.
pub fn var(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU seconds the whole machine has been busy (user + system, all cores), from /proc/stat:
/// LXD's forked helpers and the kernel's work for containers count too.
pub fn busy_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .map(|l| l.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    let busy: f64 =
        fields.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
    busy / 100.0
}

/// Brings the machine to the same state before every timed run: writes dirty pages out and drops
/// the page cache, which frees the memory cgroups of containers deleted by earlier runs.
///
/// Why: the kernel keeps a deleted container's memory cgroup ("dying") until the page cache
/// charged to it is reclaimed, and with most of the memory free nothing reclaims it. Measured
/// here, each run of 24 containers leaves ~24 of them and the next run of the same work gets
/// slower (2.25, 3.09, 3.73, 4.51 s over four direct runs; dropping only dentries and inodes does
/// not help, dropping the page cache does: 2.05-2.53 s). Without this, whichever side ran later
/// paid for the containers of every run before it. Returns the number of memory cgroups left
/// (`num_cgroups` of `/proc/cgroups`), printed with each run. Needs root; without it runs drift.
pub fn settle() -> Option<usize> {
    let _ = std::process::Command::new("sync").status();
    if let Err(e) = std::fs::write("/proc/sys/vm/drop_caches", "1") {
        eprintln!("  (cannot drop the page cache: {e}; figures will drift with each run)");
    }
    let cgroups = std::fs::read_to_string("/proc/cgroups").ok()?;
    let memory = cgroups.lines().find(|l| l.starts_with("memory\t"))?;
    memory.split_whitespace().nth(2)?.parse().ok()
}

/// The figure printed for [`settle`]'s answer.
pub fn cgroups(n: Option<usize>) -> String {
    n.map_or_else(|| "?".to_owned(), |n| n.to_string())
}
