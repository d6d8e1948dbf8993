//! The master CLI (`-S master.sock`): which processes run (`show proc`) and `reload`.

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::socket::exchange;

/// One process listed by `show proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// How many reloads it has lived through.
    pub reloads: u32,
}

/// The answer to `show proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processes {
    /// The master's pid: the process to signal, and the one that must survive Mosaic.
    pub master_pid: u32,
    /// Reloads the master performed.
    pub reloads: u32,
    /// Reloads that failed (the new worker never started; the old ones kept serving).
    pub failed_reloads: u32,
    /// Current workers (normally one) serving the current configuration.
    pub workers: Vec<Process>,
    /// Workers of earlier configurations still finishing their connections.
    pub old_workers: Vec<Process>,
}

impl Processes {
    /// Parses `show proc` as HAProxy 2.6 prints it:
    ///
    /// ```text
    /// #<PID>          <type>          <reloads>       <uptime>        <version>
    /// 28965           master          8 [failed: 1]   0d00h25m36s     2.6.12-1+deb12u4
    /// # workers
    /// 21691           worker          1               0d00h10m31s     2.6.12-1+deb12u4
    /// # old workers
    /// 20120           worker          2               0d00h11m02s     2.6.12-1+deb12u4
    /// # programs
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(PartialEq)]
        enum Section {
            Master,
            Workers,
            OldWorkers,
            Other,
        }
        let mut section = Section::Master;
        let mut master = None;
        let mut workers = Vec::new();
        let mut old_workers = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line {
                "# workers" => section = Section::Workers,
                "# old workers" => section = Section::OldWorkers,
                l if l.starts_with('#') => {
                    if !l.starts_with("#<PID>") {
                        section = Section::Other;
                    }
                }
                l => {
                    let fields: Vec<&str> = l.split_whitespace().collect();
                    let number = |i: usize| -> Result<u32, String> {
                        fields
                            .get(i)
                            .and_then(|f| f.parse().ok())
                            .ok_or_else(|| format!("unreadable show proc line {l:?}"))
                    };
                    match section {
                        Section::Master if fields.get(1) == Some(&"master") => {
                            let failed = l
                                .split_once("[failed: ")
                                .and_then(|(_, rest)| rest.split(']').next())
                                .and_then(|n| n.trim().parse().ok())
                                .unwrap_or(0);
                            master = Some((number(0)?, number(2)?, failed));
                        }
                        Section::Workers => workers.push(Process { pid: number(0)?, reloads: number(2)? }),
                        Section::OldWorkers => {
                            old_workers.push(Process { pid: number(0)?, reloads: number(2)? })
                        }
                        _ => {}
                    }
                }
            }
        }
        let (master_pid, reloads, failed_reloads) =
            master.ok_or_else(|| format!("no master line in {:?}", text.lines().next().unwrap_or("")))?;
        Ok(Self { master_pid, reloads, failed_reloads, workers, old_workers })
    }
}

/// A client of the master CLI socket.
#[derive(Debug, Clone)]
pub(crate) struct MasterCli {
    socket: PathBuf,
    timeout: Duration,
}

impl MasterCli {
    pub(crate) fn new(socket: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self { socket: socket.into(), timeout }
    }

    /// `show proc`. A master that has just started or re-executed sometimes resets a
    /// connection it accepted (seen with 2.6.12 right after start and reload); the question is
    /// harmless to repeat, so a reset is retried a few times.
    pub(crate) async fn processes(&self) -> Result<Processes, Error> {
        let mut attempt = 0;
        let answer = loop {
            match exchange(&self.socket, "show proc", self.timeout).await {
                Err(Error::Io { source, .. }) if attempt < 5 && transient(&source) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => break other?,
            }
        };
        Processes::parse(&answer).map_err(|detail| Error::Unexpected { command: "show proc".into(), detail })
    }

    /// `reload`: the master re-executes itself with the same arguments, reads the file again and
    /// starts a new worker; the connection closes without an answer.
    pub(crate) async fn reload(&self) -> Result<(), Error> {
        match exchange(&self.socket, "reload", self.timeout).await {
            Ok(_) => Ok(()),
            // The master may drop the connection while re-executing: the reload was taken.
            Err(Error::Io { source, .. })
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Errors of a connection the master dropped while starting or re-executing.
fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_show_proc_with_old_workers_and_failures() {
        let text = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
                    28965           master          8 [failed: 1]   0d00h25m36s     2.6.12-1+deb12u4\n\
                    # workers\n\
                    21691           worker          1               0d00h10m31s     2.6.12-1+deb12u4\n\
                    # old workers\n\
                    20120           worker          2               0d00h11m02s     2.6.12-1+deb12u4\n\
                    # programs\n\n";
        let p = Processes::parse(text).unwrap();
        assert_eq!((p.master_pid, p.reloads, p.failed_reloads), (28965, 8, 1));
        assert_eq!(p.workers, vec![Process { pid: 21691, reloads: 1 }]);
        assert_eq!(p.old_workers, vec![Process { pid: 20120, reloads: 2 }]);
    }

    #[test]
    fn parses_a_fresh_master() {
        let text = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
                    28965           master          0 [failed: 0]   0d00h10m16s     2.6.12-1+deb12u4\n\
                    # workers\n\
                    28966           worker          0               0d00h10m16s     2.6.12-1+deb12u4\n\
                    # programs\n\n";
        let p = Processes::parse(text).unwrap();
        assert_eq!((p.master_pid, p.reloads, p.failed_reloads), (28965, 0, 0));
        assert_eq!(p.workers.len(), 1);
        assert!(p.old_workers.is_empty());
        assert!(Processes::parse("Unknown command.\n").is_err());
    }
}
