//! A tiny HTTP server on loopback (HTTPS with a fresh self-signed certificate, or plain HTTP on a
//! unix socket) that answers what a test tells it to: a hostile or broken "LXD" (redirects,
//! absolute operation URLs, oversized bodies) or a static image server.
//!
//! Deliberately minimal and blocking (one thread per connection, `Connection: close`): it only
//! has to speak enough HTTP/1.1 for reqwest and LXD's Go client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lxd::Fingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use url::Url;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What to send back.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// A response body.
pub enum Body {
    Bytes(Vec<u8>),
    /// `len` copies of one byte, written in chunks (a big body without holding it in memory);
    /// `declare_length: false` sends it chunked, without a Content-Length.
    Repeat {
        byte: u8,
        len: usize,
        declare_length: bool,
    },
    /// Sends the headers, then nothing until the client goes away.
    Stall,
    /// Sends `bytes` in `chunk`-sized pieces with `pause` between them (a slow download).
    Throttled {
        bytes: Arc<Vec<u8>>,
        chunk: usize,
        pause: Duration,
    },
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(value.to_string().into_bytes()),
        }
    }

    pub fn bytes(status: u16, body: Vec<u8>) -> Response {
        Response { status, headers: Vec::new(), body: Body::Bytes(body) }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A running server; stops accepting when dropped.
pub struct FakeServer {
    /// `https://127.0.0.1:PORT` or `http://lxd` (unix socket).
    pub url: Url,
    /// The certificate's fingerprint (HTTPS only).
    pub fingerprint: Option<Fingerprint>,
    /// The certificate as PEM (HTTPS only), to hand to LXD as an image server's certificate.
    pub cert_pem: String,
    /// The unix socket (unix only).
    pub socket: Option<PathBuf>,
    /// Every request seen so far.
    pub seen: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    wake: WakeBy,
}

enum WakeBy {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

impl FakeServer {
    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// An HTTPS server on `127.0.0.1` with a fresh self-signed P-384 certificate for
    /// `127.0.0.1`/`localhost`.
    pub fn https(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> FakeServer {
        let (cert_pem, key_pem) = self_signed();
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key PEM");
        let fingerprint = Fingerprint::of_der(&cert);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = conn else { continue };
                    let (config, handler, seen) = (config.clone(), handler.clone(), seen.clone());
                    std::thread::spawn(move || {
                        let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
                        let Ok(tls) = rustls::ServerConnection::new(config) else { return };
                        let stream = rustls::StreamOwned::new(tls, tcp);
                        serve(stream, &*handler, &seen);
                    });
                }
            });
        }
        FakeServer {
            url: format!("https://{address}").parse().unwrap(),
            fingerprint: Some(fingerprint),
            cert_pem,
            socket: None,
            seen,
            stop,
            wake: WakeBy::Tcp(address),
        }
    }

    /// A plain HTTP server on a fresh unix socket (what a local LXD daemon looks like).
    pub fn unix(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> FakeServer {
        let dir = std::env::temp_dir().join(format!("mosaic-fake-{}", mosaic_testkit::unique_name("sock")));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unix.socket");
        let listener = UnixListener::bind(&path).unwrap();
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let (handler, seen) = (handler.clone(), seen.clone());
                    std::thread::spawn(move || serve(stream, &*handler, &seen));
                }
            });
        }
        FakeServer {
            url: "http://lxd".parse().unwrap(),
            fingerprint: None,
            cert_pem: String::new(),
            socket: Some(path.clone()),
            seen,
            stop,
            wake: WakeBy::Unix(path),
        }
    }

    /// An LXD client for this server (pinned to its certificate, or over its socket).
    pub fn client(&self) -> lxd::Client {
        match (&self.socket, self.fingerprint) {
            (Some(socket), _) => lxd::Client::unix(socket).unwrap(),
            (None, Some(fp)) => lxd::Client::https(&self.url, fp, None).unwrap(),
            (None, None) => unreachable!("a server is either HTTPS or unix"),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        match &self.wake {
            WakeBy::Tcp(address) => drop(TcpStream::connect(address)),
            WakeBy::Unix(path) => {
                drop(std::os::unix::net::UnixStream::connect(path));
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
    }
}

/// A self-signed certificate (PEM) and key (PKCS#8 PEM) for 127.0.0.1, made with openssl.
fn self_signed() -> (String, String) {
    let dir = std::env::temp_dir().join(format!("mosaic-cert-{}", mosaic_testkit::unique_name("cert")));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-days",
            "2",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl could not make a certificate");
    let pems = (std::fs::read_to_string(&cert).unwrap(), std::fs::read_to_string(&key).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    pems
}

fn serve<S: Read + Write>(stream: S, handler: &Handler, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else { return };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let request = Request { method, target, headers };
    let length: usize = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    seen.lock().unwrap().push(request.clone());
    let response = handler(&request);
    let mut stream = reader.into_inner();
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", response.status);
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match &response.body {
        Body::Bytes(b) => head.push_str(&format!("Content-Length: {}\r\n", b.len())),
        Body::Repeat { len, declare_length: true, .. } => {
            head.push_str(&format!("Content-Length: {len}\r\n"))
        }
        Body::Repeat { declare_length: false, .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
        Body::Stall => head.push_str("Content-Length: 1000000\r\n"),
        Body::Throttled { bytes, .. } => head.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let _ = match response.body {
        Body::Bytes(b) => stream.write_all(&b),
        Body::Repeat { byte, len, declare_length } => {
            let chunk = vec![byte; 64 * 1024];
            let mut left = len;
            let mut result = Ok(());
            while left > 0 && result.is_ok() {
                let n = left.min(chunk.len());
                result = if declare_length {
                    stream.write_all(&chunk[..n])
                } else {
                    write!(stream, "{n:x}\r\n")
                        .and_then(|_| stream.write_all(&chunk[..n]))
                        .and_then(|_| stream.write_all(b"\r\n"))
                };
                left -= n;
            }
            if !declare_length && result.is_ok() {
                result = stream.write_all(b"0\r\n\r\n");
            }
            result
        }
        Body::Throttled { bytes, chunk, pause } => {
            let mut result = Ok(());
            for piece in bytes.chunks(chunk.max(1)) {
                result = stream.write_all(piece).and_then(|_| stream.flush());
                if result.is_err() {
                    break;
                }
                std::thread::sleep(pause);
            }
            result
        }
        Body::Stall => {
            let _ = stream.flush();
            // Wait for the client to give up: reads fail or return 0 once it closes.
            let mut buf = [0u8; 1];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            Ok(())
        }
    };
    let _ = stream.flush();
}
