//! Reading the end of a file inside an instance, bounded however large the file is.

use lxd::{ExecRequest, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, env, unique_name};

use super::fake_server::{Body, FakeServer, Response};
use super::hardening::Cleanup;

#[tokio::test]
async fn the_tail_of_a_large_file_and_all_of_a_small_one() {
    let host = &env().hosts[0];
    let client = host.client();
    let name = unique_name("files");
    let _cleanup = Cleanup(host.admin(), name.clone());
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    // 4 MiB of 16-byte lines and a last line; a small file.
    let script = "yes 0123456789abcde | head -c 4194304 > /tmp/big.log; echo last-line >> /tmp/big.log; \
                  printf 'small\\n' > /tmp/small.log";
    let out = client.exec(&name, &ExecRequest::new(["sh", "-c", script]), OP_TIMEOUT).await.unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.stderr);

    let tail = client.read_file_tail(&name, "/tmp/big.log", 4096).await.unwrap();
    assert_eq!(tail.content.len(), 4096);
    assert!(tail.truncated);
    assert_eq!(tail.size, Some(4194304 + 10));
    assert!(tail.text().ends_with("0123456789abcde\nlast-line\n"), "{:?}", tail.text());

    let small = client.read_file_tail(&name, "/tmp/small.log", 4096).await.unwrap();
    assert_eq!((small.text().as_str(), small.truncated, small.size), ("small\n", false, Some(6)));

    let empty = client.read_file_tail(&name, "/dev/null", 4096).await;
    assert!(empty.is_ok_and(|e| e.content.is_empty() && !e.truncated));
    assert!(client.read_file_tail(&name, "/tmp/none.log", 4096).await.unwrap_err().is_not_found());
    assert!(client.read_file_tail(&name, "/tmp", 4096).await.is_err(), "a directory is not a file");
    assert!(client.read_file_tail(&name, "tmp/small.log", 4096).await.is_err(), "relative paths are refused");
}

#[tokio::test]
async fn a_server_that_ignores_the_range_is_read_only_up_to_the_body_limit() {
    // 40 MiB with no range support: the client stops at its 1 MiB limit and keeps a tail.
    let server = FakeServer::https(|_| Response {
        status: 200,
        headers: vec![("X-Lxd-Type".into(), "file".into())],
        body: Body::Repeat { byte: b'x', len: 40 << 20, declare_length: false },
    });
    let client = server.client().with_body_limit(1 << 20);
    let name = lxd::InstanceName::parse("c1").unwrap();
    let tail = client.read_file_tail(&name, "/var/log/huge.log", 1000).await.unwrap();
    assert_eq!(tail.content.len(), 1000);
    assert!(tail.truncated);
    assert_eq!(server.requests()[0].header("range"), Some("bytes=-1000"));
}
