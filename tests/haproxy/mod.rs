//! The HAProxy crate against the real HAProxy (Debian's 2.6.12 at `/usr/sbin/haproxy`, or
//! `MOSAIC_HAPROXY_BIN`): each test starts its own supervised HAProxy in a private temporary
//! directory, backs it with tiny servers started here, and stops it through a guard even when
//! the test fails. Loopback only; request loops are bounded in count and time.

mod config;
mod errors;
mod reload;
mod routing;
mod tcp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use haproxy::{
    CheckTiming, Config, HealthCheck, HttpCheck, HttpMethod, Mode, Name, RuntimeApi, Service, StatRow,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The HAProxy binary under test.
pub fn binary() -> PathBuf {
    let bin = std::env::var_os("MOSAIC_HAPROXY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy"));
    assert!(
        bin.is_file(),
        "{} is missing: install HAProxy (`apt-get install -y haproxy`) or set MOSAIC_HAPROXY_BIN",
        bin.display()
    );
    bin
}

pub fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// A private data directory for one HAProxy; dropping it stops any HAProxy started in it (by the
/// pidfile, waiting until the master is gone) and removes the directory.
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    pub fn new(what: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        // Short: unix socket paths are limited to 107 bytes.
        let path = std::env::temp_dir().join(format!("mh-{what}-{}-{nanos:x}-{n}", std::process::id()));
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn settings(&self) -> haproxy::Settings {
        haproxy::Settings::new(binary(), &self.path)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Ok(Some(pid)) = haproxy::terminate(&self.path) {
            let start = Instant::now();
            while haproxy::alive(pid) && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if haproxy::alive(pid) {
                eprintln!("haproxy master {pid} did not exit after SIGTERM");
            }
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A free loopback port (bound and released; nothing else on this machine allocates from the
/// ephemeral range on purpose).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Fast checks so tests wait on check results, not on defaults.
pub const TIMING: CheckTiming = CheckTiming { interval: Duration::from_millis(200), rise: 2, fall: 2 };

/// An HTTP service checked with `GET /health` expecting 200.
pub fn http_service(service: &str, port: u16) -> Service {
    Service {
        name: name(service),
        bind: loopback(port),
        mode: Mode::Http,
        check: HealthCheck::Http(HttpCheck {
            method: HttpMethod::Get,
            path: "/health".into(),
            expect_status: 200,
        }),
        timing: TIMING,
        servers: vec![],
    }
}

pub fn config(services: Vec<Service>) -> Config {
    Config { services, ..Config::default() }
}

/// How long `/slow` takes: long enough to still be in flight when a drain begins.
pub const SLOW: Duration = Duration::from_millis(1500);

/// A tiny HTTP/1.1 server answering every request with its own name, `/health` with
/// `health_status`, and `/slow` after [`SLOW`]; it counts the requests that are not health checks.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Backend {
    pub async fn start(name: &str, health_status: u16) -> Self {
        Self::start_on(name, health_status, loopback(0)).await
    }

    /// The same on a chosen address (a port HAProxy already checks, for a service that comes up
    /// late).
    pub async fn start_on(name: &str, health_status: u16, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let (body, counter) = (name.to_owned(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (body, counter) = (body.clone(), counter.clone());
                tokio::spawn(async move {
                    let _ = serve_http(stream, &body, health_status, &counter).await;
                });
            }
        });
        Self { name: name.to_owned(), addr, requests, task }
    }

    /// Requests other than health checks answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn server(&self) -> haproxy::Server {
        haproxy::Server { name: name(&self.name), addr: self.addr }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_http(
    stream: TcpStream,
    body: &str,
    health_status: u16,
    counter: &AtomicU64,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut keep_alive = request_line.trim_end().ends_with("HTTP/1.1");
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 {
                return Ok(());
            }
            if header.to_ascii_lowercase().starts_with("connection: close") {
                keep_alive = false;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let (status, text) = if path == "/health" {
            (health_status, if health_status == 200 { "OK" } else { "Internal Server Error" })
        } else {
            if path == "/slow" {
                tokio::time::sleep(SLOW).await;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            (200, "OK")
        };
        let payload = if path == "/health" { "health" } else { body };
        let connection = if keep_alive { "keep-alive" } else { "close" };
        write
            .write_all(
                format!(
                    "HTTP/1.1 {status} {text}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{payload}",
                    payload.len()
                )
                .as_bytes(),
            )
            .await?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// A minimal HTTP/1.1 client on one connection (kept alive), so a test controls exactly which
/// connection a request uses.
pub struct HttpConn {
    reader: BufReader<TcpStream>,
}

impl HttpConn {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self { reader: BufReader::new(TcpStream::connect(addr).await?) })
    }

    /// `GET path`: the status and body.
    pub async fn get(&mut self, path: &str) -> std::io::Result<(u16, String)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        self.reader.get_mut().write_all(request.as_bytes()).await?;
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before a response"));
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
        let mut length = 0;
        loop {
            let mut header = String::new();
            self.reader.read_line(&mut header).await?;
            if header == "\r\n" || header.is_empty() {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// One request on a fresh connection, with a bound.
pub async fn get_once(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let work = async {
        let mut conn = HttpConn::open(addr).await.map_err(|e| format!("connect: {e}"))?;
        conn.get(path).await.map_err(|e| format!("request: {e}"))
    };
    tokio::time::timeout(Duration::from_secs(5), work).await.map_err(|_| "timed out".to_owned())?
}

/// One HTTP/1.0 request read to the end of the connection (for answers without a length, such
/// as the Prometheus exporter's chunked ones): the whole response, headers included.
pub async fn get_raw(addr: SocketAddr, path: &str) -> String {
    let work = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    };
    tokio::time::timeout(Duration::from_secs(5), work).await.unwrap()
}

/// What a request loop saw.
#[derive(Debug, Default)]
pub struct LoopResult {
    /// 200 answers by body (the backend's name).
    pub ok: HashMap<String, u64>,
    /// Every other outcome: a status, a connection error.
    pub failures: Vec<String>,
}

impl LoopResult {
    pub fn total_ok(&self) -> u64 {
        self.ok.values().sum()
    }
}

/// A request loop through `addr` (a fresh connection per request, as a stream of independent
/// clients), running until `stop` is set, `max_requests` were sent or `max_time` passed.
pub struct RequestLoop {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    task: JoinHandle<LoopResult>,
}

impl RequestLoop {
    pub fn start(addr: SocketAddr, max_requests: u64, max_time: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let task = tokio::spawn(async move {
            let mut result = LoopResult::default();
            let start = Instant::now();
            while !stop2.load(Ordering::SeqCst)
                && sent2.load(Ordering::SeqCst) < max_requests
                && start.elapsed() < max_time
            {
                sent2.fetch_add(1, Ordering::SeqCst);
                match get_once(addr, "/").await {
                    Ok((200, body)) => *result.ok.entry(body).or_default() += 1,
                    Ok((status, body)) => result.failures.push(format!("{status} {body:.60}")),
                    Err(e) => result.failures.push(e),
                }
            }
            result
        });
        Self { stop, sent, task }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Waits until the loop has sent at least `n` requests (bounded).
    pub async fn wait_sent(&self, n: u64) {
        let start = Instant::now();
        while self.sent.load(Ordering::SeqCst) < n {
            assert!(start.elapsed() < Duration::from_secs(10), "the request loop stalled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn finish(self) -> LoopResult {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// Polls `show stat` until `pred` holds for the row of `backend/server` (a check interval is
/// the signal; the bound is generous for a loaded 2-core machine).
pub async fn wait_for_row(
    runtime: &RuntimeApi,
    backend: &str,
    server: &str,
    what: &str,
    pred: impl Fn(&StatRow) -> bool,
) -> StatRow {
    let start = Instant::now();
    loop {
        let row = runtime.server_stat(&name(backend), &name(server)).await.unwrap();
        if let Some(row) = row.filter(|r| pred(r)) {
            return row;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{backend}/{server} never became {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
