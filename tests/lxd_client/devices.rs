//! Devices on a running instance: a proxy device that puts a guest's web server on the host's
//! loopback, and taking it away again.

use std::net::SocketAddr;
use std::time::Duration;

use lxd::{ExecRequest, InstanceName, InstanceSource, InstancesPost, ProxyDevice};
use mosaic_testkit::{OP_TIMEOUT, env, eventually, unique_name};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hardening::Cleanup;

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /` over plain TCP; the whole answer, or the connection error.
async fn get(address: SocketAddr) -> std::io::Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(address).await?;
    tcp.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").await?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut answer)).await??;
    Ok(answer)
}

/// Starts a busybox container serving a page naming it on `port` inside.
pub async fn serving_container(client: &lxd::Client, name: &InstanceName, port: u16) {
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.start_instance(name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let script = format!(
        "ip link set lo up; mkdir -p /www && echo hello-from-{name} > /www/index.html && busybox httpd -p 127.0.0.1:{port} -h /www"
    );
    let out = client.exec(name, &ExecRequest::new(["sh", "-c", &script]), OP_TIMEOUT).await.unwrap();
    assert_eq!(out.exit_code, 0, "httpd did not start: {}", out.stderr);
}

#[tokio::test]
async fn a_proxy_device_exposes_a_guest_port_until_it_is_removed() {
    let host = &env().hosts[1];
    let client = host.client();
    let name = unique_name("proxy");
    let _cleanup = Cleanup(host.admin(), name.clone());
    serving_container(&client, &name, 8080).await;

    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let device = ProxyDevice::tcp_to_instance(listen, "127.0.0.1:8080".parse().unwrap());
    client.add_device(&name, "web", &device.to_device()).await.expect("add the proxy device");
    let instance = client.instance_config(&name).await.unwrap();
    assert_eq!(instance.devices["web"]["listen"], format!("tcp:{listen}"));
    assert_eq!(instance.devices["web"]["bind"], "host");

    let page = eventually(Duration::from_secs(10), "the page through the proxy device", || async {
        get(listen).await.ok().filter(|a| a.contains("200 OK"))
    })
    .await;
    assert!(page.contains(&format!("hello-from-{name}")), "{page}");

    client
        .remove_device(&name, "web")
        .await
        .unwrap()
        .expect("the device existed")
        .wait(OP_TIMEOUT)
        .await
        .unwrap();
    assert!(!client.instance_config(&name).await.unwrap().devices.contains_key("web"));
    // Removing it again finds nothing to do.
    assert!(client.remove_device(&name, "web").await.unwrap().is_none());
    eventually(Duration::from_secs(10), "the host port to close", || async {
        get(listen).await.is_err().then_some(())
    })
    .await;
    // The instance kept everything else (its profile's root disk, its config).
    let after = client.instance(&name).await.unwrap();
    assert!(after.is_running());
    assert_eq!(after.profiles, ["default"]);
}
