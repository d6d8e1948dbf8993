//! A TCP service checked with send/expect: a port that accepts but never answers is DOWN.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use haproxy::{Haproxy, HealthCheck, Mode, ServerStatus, TcpCheck};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::{DataDir, TIMING, config, free_port, http_service, loopback, name, wait_for_row};

/// A line server: `PING` → `PONG`, `WHO` → its name; or, `silent`, one that accepts and reads
/// but never answers (what a connect-only check would call healthy).
struct LineServer {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl LineServer {
    async fn start(name: &'static str, silent: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let answer = match line.trim() {
                            _ if silent => continue,
                            "PING" => "PONG\n".to_owned(),
                            "WHO" => format!("{name}\n"),
                            _ => "ERR\n".to_owned(),
                        };
                        if write.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, accepted, task }
    }
}

impl Drop for LineServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn a_tcp_check_marks_a_server_that_accepts_but_never_answers_down() {
    let dir = DataDir::new("tcp");
    let ok = LineServer::start("ok", false).await;
    let silent = LineServer::start("silent", true).await;
    let port = free_port();
    let mut svc = http_service("lines", port);
    svc.mode = Mode::Tcp;
    svc.check = HealthCheck::Tcp(TcpCheck { send: b"PING\n".to_vec(), expect: b"PONG".to_vec() });
    let mut cfg = config(vec![svc]);
    cfg.timeouts.check = Duration::from_millis(500);
    let hx = Haproxy::start(dir.settings(), &cfg).await.unwrap();
    let rt = hx.runtime();
    let lines = name("lines");

    // Both put in rotation straight away: the check alone has to tell them apart.
    for (server, addr) in [("ok", ok.addr), ("silent", silent.addr)] {
        rt.add_server(&lines, &name(server), addr, &TIMING).await.unwrap();
        rt.enable_server(&lines, &name(server)).await.unwrap();
    }
    let down = wait_for_row(rt, "lines", "silent", "DOWN", |r| r.status == ServerStatus::Down).await;
    assert_eq!(down.check_status.as_deref(), Some("L7TOUT"), "{down:?}");
    assert!(silent.accepted.load(Ordering::SeqCst) > 0, "the silent server never saw a check connection");
    let up = wait_for_row(rt, "lines", "ok", "UP", |r| r.status == ServerStatus::Up).await;
    assert_eq!(up.check_status.as_deref(), Some("L7OK"), "{up:?}");
    assert_eq!(up.req_tot, None, "TCP mode counts no requests");

    let silent_before = silent.accepted.load(Ordering::SeqCst);
    for _ in 0..10 {
        let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(loopback(port)))
            .await
            .unwrap()
            .unwrap();
        let (read, mut write) = stream.into_split();
        write.write_all(b"WHO\n").await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), BufReader::new(read).read_line(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer, "ok\n");
    }
    // Only check connections reached the silent server (they continue every interval).
    let sessions = rt.server_stat(&lines, &name("silent")).await.unwrap().unwrap();
    assert_eq!(sessions.stot, 0, "traffic reached the silent server: {sessions:?}");
    assert!(silent.accepted.load(Ordering::SeqCst) >= silent_before);
    assert!(rt.server_stat(&lines, &name("ok")).await.unwrap().unwrap().stot >= 10);
}
