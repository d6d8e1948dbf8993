//! Where Mosaic connects: what the client refuses from an LXD host (or something posing as one).
//!
//! A fake LXD on loopback answers with a redirect, operation paths that point elsewhere and
//! oversized bodies, over HTTPS (pinned to its own certificate) and over a unix socket; a real
//! exec that writes megabytes shows the output cap.

use std::time::Duration;

use lxd::{Error, ExecRequest, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, env, remove_instance, unique_name};
use serde_json::json;

use super::fake_server::{Body, FakeServer, Request, Response};

/// What the fake LXD answers: every trap at its own path.
fn hostile(req: &Request) -> Response {
    let operation = |path: &str| {
        json!({"type": "async", "status": "Operation created", "status_code": 100, "operation": path,
               "metadata": {"id": "x1", "status": "Running", "status_code": 103}})
    };
    match (req.method.as_str(), req.path()) {
        // GET /1.0 is answered with a redirect to a "trusted" place.
        ("GET", "/1.0") => Response::bytes(302, Vec::new()).header("Location", "https://127.0.0.1:1/1.0"),
        // An operation whose path is an absolute URL.
        ("POST", "/1.0/instances") => {
            Response::json(202, &operation("https://evil.example/1.0/operations/x1"))
        }
        // A relative operation path, but a Location header to elsewhere.
        ("PUT", p) if p.ends_with("/state") => Response::json(202, &operation("/1.0/operations/x1"))
            .header("Location", "//evil.example/1.0/operations/x1"),
        // An exec whose finished operation names log files on another host.
        ("POST", p) if p.ends_with("/exec") => Response::json(202, &operation("/1.0/operations/x2")),
        ("GET", "/1.0/operations/x2/wait") => Response::json(
            200,
            &json!({"type": "sync", "status": "Success", "status_code": 200, "metadata": {
                "id": "x2", "status": "Success", "status_code": 200,
                "metadata": {"return": 0, "output": {"1": "https://evil.example/1.0/logs/out", "2": "/1.0/../../etc/shadow"}}}}),
        ),
        // 40 MiB with a Content-Length, and 40 MiB chunked.
        ("GET", "/1.0/instances") => Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Repeat { byte: b' ', len: 40 << 20, declare_length: !req.target.contains("filter") },
        },
        ("GET", "/1.0/profiles") => Response::json(200, &json!({"type": "sync", "metadata": []})),
        _ => Response::json(404, &json!({"type": "error", "error": "not found", "error_code": 404})),
    }
}

async fn assert_refuses_everything(server: &FakeServer) {
    let client = server.client();
    let name = InstanceName::parse("c1").unwrap();

    match client.server().await {
        Err(Error::Redirect { location, .. }) => assert_eq!(location, "https://127.0.0.1:1/1.0"),
        other => panic!("a redirect must be refused, got {other:?}"),
    }

    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias("busybox"));
    match client.create_instance(&post).await {
        Err(Error::UnsafePath { what, path }) => {
            assert_eq!(what, "operation path");
            assert_eq!(path, "https://evil.example/1.0/operations/x1");
        }
        other => panic!("an absolute operation URL must be refused, got {other:?}"),
    }

    match client.start_instance(&name).await {
        Err(Error::UnsafePath { what: "Location header", .. }) => {}
        other => panic!("a Location to another host must be refused, got {other:?}"),
    }

    match client.exec(&name, &ExecRequest::new(["true"]), Duration::from_secs(5)).await {
        Err(Error::UnsafePath { what: "exec log path", .. }) => {}
        other => panic!("an exec log on another host must be refused, got {other:?}"),
    }

    // 40 MiB against the 32 MiB default, declared up front and streamed chunked.
    let filter = lxd::InstanceFilter::config_eq("user.x", "y").unwrap();
    for answer in [client.instances(None).await, client.instances(Some(&filter)).await] {
        match answer {
            Err(Error::TooLarge { limit, .. }) => assert_eq!(limit, lxd::DEFAULT_BODY_LIMIT as u64),
            other => panic!("an oversized body must be refused, got {:?}", other.map(|v| v.len())),
        }
    }
    // A lower cap applies per client; a small answer still passes under it.
    let tight = client.clone().with_body_limit(1024);
    assert!(matches!(tight.instances(Some(&filter)).await, Err(Error::TooLarge { limit: 1024, .. })));
    assert!(tight.profiles().await.unwrap().is_empty());

    // None of the places LXD pointed at was ever asked for.
    for seen in server.requests() {
        assert!(seen.path().starts_with("/1.0"), "followed {}", seen.target);
        assert!(!seen.path().contains("logs") && !seen.path().contains(".."), "followed {}", seen.target);
    }
}

#[tokio::test]
async fn a_hostile_https_host_is_refused_at_every_turn() {
    let server = FakeServer::https(hostile);
    assert_refuses_everything(&server).await;
}

#[tokio::test]
async fn a_hostile_unix_socket_is_refused_at_every_turn() {
    let server = FakeServer::unix(hostile);
    assert_refuses_everything(&server).await;
}

#[tokio::test]
async fn plain_http_is_refused_for_remote_hosts() {
    let host = &env().hosts[0];
    let url = "http://127.0.0.1:18443".parse().unwrap();
    let err = lxd::Client::https(&url, host.fingerprint, None).unwrap_err();
    assert!(matches!(err, Error::Invalid { what: "LXD URL", .. }), "{err:?}");
}

/// Removes a container when dropped, also when the test fails.
pub struct Cleanup(pub lxd::Client, pub InstanceName);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (client, name) = (self.0.clone(), self.1.clone());
        let done = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(remove_instance(&client, &name));
        })
        .join();
        // A cleanup failure fails the test, unless it is failing already (a second panic aborts).
        if done.is_err() && !std::thread::panicking() {
            panic!("cleanup of {} failed", self.1);
        }
    }
}

#[tokio::test]
async fn a_guest_that_writes_megabytes_costs_the_cap() {
    let client = env().hosts[0].client();
    let name = unique_name("flood");
    let _cleanup = Cleanup(env().hosts[0].admin(), name.clone());
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();

    // 8 MiB of noise on stderr (16-byte lines), then a last line; a short stdout.
    let flood = "yes 0123456789abcde | head -c 8388608 >&2; echo the-end >&2; echo short";
    let out = client.exec(&name, &ExecRequest::new(["sh", "-c", flood]), OP_TIMEOUT).await.unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(out.stderr.len() <= lxd::DEFAULT_EXEC_OUTPUT_LIMIT, "kept {} bytes", out.stderr.len());
    assert_eq!(out.stderr.len(), lxd::DEFAULT_EXEC_OUTPUT_LIMIT, "the whole tail is kept");
    assert!(out.stderr_truncated);
    assert!(
        out.stderr.ends_with("0123456789abcde\nthe-end\n"),
        "the tail is kept: {:?}",
        &out.stderr[out.stderr.len() - 40..]
    );
    assert_eq!((out.stdout.as_str(), out.stdout_truncated), ("short\n", false));

    // A tighter per-request cap.
    let small = ExecRequest::new(["sh", "-c", "echo 0123456789"]).output_limit(4);
    let out = client.exec(&name, &small, OP_TIMEOUT).await.unwrap();
    assert_eq!((out.stdout.as_str(), out.stdout_truncated), ("789\n", true));
    // Empty output is empty, not truncated.
    let out = client.exec(&name, &ExecRequest::new(["true"]), OP_TIMEOUT).await.unwrap();
    assert_eq!((out.stdout.as_str(), out.stdout_truncated, out.stderr.as_str()), ("", false, ""));
}
