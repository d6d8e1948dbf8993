//! The embedded default: a private PostgreSQL cluster in Mosaic's data directory.
//!
//! With no database configured, `mosaic` runs its own cluster with the machine's PostgreSQL
//! binaries (`initdb`, `pg_ctl`): created on first start, started on every start, listening only on
//! a unix socket inside the data directory (no TCP port at all), and stopped when Mosaic exits.
//!
//! Only Mosaic may connect, by two locks: the socket lives in a directory only the cluster's owner
//! can enter (0700, the socket itself 0700), and the server lets in nobody but the one operating
//! system user Mosaic runs as (`peer` authentication with a map; never `trust`). Any other local
//! account is refused at both.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// A running private cluster; stopped on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    pg_ctl: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    url: String,
}

impl EmbeddedPostgres {
    /// Creates (first time) and starts the cluster in `dir`, and makes sure database `mosaic` exists.
    pub fn start(dir: &Path, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        let bin = match bin_dir {
            Some(b) => b.to_owned(),
            None => find_bin_dir()?,
        };
        std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
        let dir = dir.canonicalize().context("Failed to resolve the PostgreSQL directory")?;
        let data = dir.join("data");
        // initdb refuses to run as root: the cluster then belongs to the `postgres` user.
        let as_postgres = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        if as_postgres {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown")?;
        }
        let this = |cmd: &str| -> Command {
            if as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(cmd));
                c
            } else {
                Command::new(bin.join(cmd))
            }
        };
        if !data.join("PG_VERSION").exists() {
            tracing::info!(dir = %data.display(), "creating the embedded PostgreSQL cluster");
            run(
                // `reject` until `seal` writes the real rules below: never a moment of `trust`.
                this("initdb").arg("-D").arg(&data).args(["-A", "reject", "-U", "postgres", "-E", "UTF8"]),
                "initdb",
            )
            .with_context(|| {
                format!(
                    "the postgres user must be able to reach {}; choose a data directory it can",
                    dir.display()
                )
            })?;
        }
        // A cluster left running by a crashed Mosaic is stopped first, so its settings are ours.
        let _ = this("pg_ctl").arg("-D").arg(&data).args(["-m", "fast", "stop"]).output();
        seal(&data, as_postgres)?;
        private_dir(&dir, as_postgres)?;
        let socket_dir = dir.join("socket");
        private_dir(&socket_dir, as_postgres)?;
        let options = format!(
            "-c listen_addresses='' -k {} -p 5432 -c unix_socket_permissions=0700",
            socket_dir.display()
        );
        run(
            this("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(dir.join("server.log"))
                .args(["-w", "start"]),
            "pg_ctl start",
        )?;
        let url = format!("postgresql:///mosaic?host={}&port=5432&user=postgres", socket_dir.display());
        let pg = EmbeddedPostgres { pg_ctl: bin.join("pg_ctl"), data, as_postgres, url };
        pg.create_database(&socket_dir)?;
        Ok(pg)
    }

    /// The URL to connect with (over the cluster's unix socket).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn create_database(&self, dir: &Path) -> anyhow::Result<()> {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        let admin = format!("postgresql:///postgres?host={}&port=5432&user=postgres", dir.display());
        let mut conn =
            PgConnection::establish(&admin).context("Failed to connect to the embedded PostgreSQL")?;
        match diesel::sql_query("CREATE DATABASE mosaic").execute(&mut conn) {
            Ok(_) => Ok(()),
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("already exists") =>
            {
                Ok(())
            }
            Err(e) => Err(e).context("Failed to create database mosaic"),
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&self.pg_ctl);
            c
        } else {
            Command::new(&self.pg_ctl)
        };
        match cmd.arg("-D").arg(&self.data).args(["-m", "fast", "-w", "stop"]).output() {
            Ok(out) if out.status.success() => tracing::info!("embedded PostgreSQL stopped"),
            Ok(out) => tracing::warn!(stderr = %String::from_utf8_lossy(&out.stderr), "pg_ctl stop failed"),
            Err(e) => tracing::warn!(error = %e, "pg_ctl stop failed"),
        }
    }
}

/// Writes the cluster's client authentication: local connections only, by `peer` (the
/// connecting process's operating system user), and only for the user Mosaic runs as, mapped to
/// the database user `postgres`. It replaces whatever `initdb` wrote (`trust` for everyone).
fn seal(data: &Path, as_postgres: bool) -> anyhow::Result<()> {
    let me = current_user()?;
    let hba = "# Written by Mosaic on every start: only Mosaic's own user, over the socket.\n\
               local all postgres peer map=mosaic\n";
    let ident = format!("# Written by Mosaic on every start.\nmosaic {me} postgres\n");
    for (file, text) in [("pg_hba.conf", hba.to_owned()), ("pg_ident.conf", ident)] {
        let path = data.join(file);
        std::fs::write(&path, text).with_context(|| format!("Failed to write {}", path.display()))?;
        if as_postgres {
            run(Command::new("chown").args(["postgres:postgres"]).arg(&path), "chown")?;
        }
    }
    Ok(())
}

/// Creates `dir` (if needed) readable and enterable by its owner only — the cluster's owner.
fn private_dir(dir: &Path, as_postgres: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("Failed to restrict {}", dir.display()))?;
    if as_postgres {
        run(Command::new("chown").args(["postgres:postgres"]).arg(dir), "chown")?;
    }
    Ok(())
}

/// The name of the operating system user this process runs as (what `peer` authentication sees).
fn current_user() -> anyhow::Result<String> {
    let out = Command::new("id").arg("-un").output().context("Failed to run id -un")?;
    if !out.status.success() {
        bail!("id -un failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb` (Debian's layout).
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL server binaries not found in /usr/lib/postgresql (install postgresql)")?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql"),
    }
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("Failed to run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
