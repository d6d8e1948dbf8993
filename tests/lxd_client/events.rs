//! LXD's event stream over the pinned mutual TLS and over the unix socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use lxd::{Client, EventStream, EventType, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, Relay, env, unique_name};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Reads events until the instance's lifecycle actions include every one of `wanted`, in order.
async fn expect_actions(events: &mut EventStream, name: &InstanceName, wanted: &[&str]) {
    let mut seen: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + OP_TIMEOUT;
    while !wanted.iter().all(|w| seen.iter().any(|s| s == w)) {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("only saw {seen:?} for {name}"))
            .expect("the stream ended early")
            .expect("an event");
        let lifecycle = event.lifecycle().expect("only lifecycle events were asked for");
        if lifecycle.instance_name() == Some(name.as_str()) {
            seen.push(lifecycle.action);
        }
    }
    let order: Vec<usize> = wanted.iter().map(|w| seen.iter().position(|s| s == w).expect("seen")).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "out of order: {seen:?}");
}

async fn lifecycle_is_seen_through(client: &Client) {
    let mut events = client.events(&[EventType::Lifecycle]).await.expect("subscribe");
    let name = unique_name("events");
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.stop_instance(&name, None).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.delete_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    expect_actions(
        &mut events,
        &name,
        &["instance-created", "instance-started", "instance-stopped", "instance-deleted"],
    )
    .await;
}

#[tokio::test]
async fn lifecycle_events_arrive_over_https() {
    lifecycle_is_seen_through(&env().hosts[0].client()).await;
}

#[tokio::test]
async fn lifecycle_events_arrive_over_the_socket() {
    lifecycle_is_seen_through(&env().hosts[1].admin()).await;
}

#[tokio::test]
async fn operation_events_carry_the_operation() {
    let client = env().hosts[1].client();
    let mut events = client.events(&[EventType::Operation]).await.unwrap();
    let name = unique_name("opevents");
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    let op = client.create_instance(&post).await.unwrap();
    op.wait(OP_TIMEOUT).await.unwrap();
    client.delete_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    loop {
        let event = tokio::time::timeout(OP_TIMEOUT, events.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(event.kind, "operation");
        let seen = event.operation().expect("an operation event describes the operation");
        if seen.id == op.id() && seen.status_code.is_final() {
            assert_eq!(seen.status_code, lxd::StatusCode::SUCCESS);
            break;
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_ends_the_stream_promptly() {
    let host = &env().hosts[0];
    let relay = Relay::start(
        format!("{}:{}", host.url.host_str().unwrap(), host.url.port().unwrap()).parse().unwrap(),
    )
    .await;
    let client =
        Client::https(&relay.url().parse().unwrap(), host.fingerprint, Some(&env().identity)).unwrap();
    let mut events = client.events(&[EventType::Lifecycle]).await.expect("subscribe through the relay");
    relay.cut();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        // Whatever arrives, the stream must end (possibly after an error saying why).
        while let Some(item) = events.next().await {
            if item.is_err() {
                assert!(events.next().await.is_none(), "nothing after the error");
                return;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the stream did not end within 5 s of the connection dropping");
}

#[tokio::test]
async fn an_untrusted_client_is_refused_with_lxds_words() {
    let (stranger, _key) = lxd::Identity::generate("mosaic-test-events-stranger").unwrap();
    let err = env().hosts[0].client_as(&stranger).events(&[EventType::Lifecycle]).await.unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
}

#[tokio::test]
async fn a_wrong_fingerprint_never_opens_the_stream() {
    let [a, b] = &env().hosts;
    let client = Client::https(&a.url, b.fingerprint, Some(&env().identity)).unwrap();
    let err = client.events(&[EventType::Lifecycle]).await.unwrap_err();
    assert!(matches!(err, lxd::Error::FingerprintMismatch { .. }), "{err:?}");
}

/// A TCP relay on loopback that can be frozen: it keeps both connections open but silently drops
/// every byte, as a host that lost power or a cut cable looks (no FIN, no RST).
async fn freezable_relay(target: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicBool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let frozen = Arc::new(AtomicBool::new(false));
    let flag = frozen.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = tokio::net::TcpStream::connect(target).await else { continue };
            let (from_client, to_client) = inbound.into_split();
            let (from_host, to_host) = outbound.into_split();
            tokio::spawn(pump(from_client, to_host, flag.clone()));
            tokio::spawn(pump(from_host, to_client, flag.clone()));
        }
    });
    (address, frozen)
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, frozen: Arc<AtomicBool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        if !frozen.load(Ordering::SeqCst) && to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
}

#[tokio::test]
async fn a_connection_that_goes_silent_is_found_by_pings() {
    let host = &env().hosts[0];
    let target = format!("127.0.0.1:{}", host.url.port().unwrap()).parse().unwrap();
    let (address, frozen) = freezable_relay(target).await;
    let url = format!("https://{address}").parse().unwrap();
    let client = Client::https(&url, host.fingerprint, Some(&env().identity)).unwrap();
    let ping = Duration::from_millis(300);
    let mut events = client.events_with_ping(&[EventType::Lifecycle], ping).await.unwrap();

    // Alive and answering pings: a consumer that does not poll for a while is not misled either.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alive = tokio::time::timeout(Duration::from_millis(1500), async {
        // Other tests' lifecycle events may arrive; only an error or the end would be wrong.
        while let Some(item) = events.next().await {
            item.expect("a healthy stream yields events, not errors");
        }
    })
    .await;
    assert!(alive.is_err(), "a healthy stream must not end");

    frozen.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.next().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Some(e),
                None => return None,
            }
        }
    })
    .await
    .expect("a silent connection must be noticed within a few ping intervals");
    let err = outcome.expect("the stream says why it ended");
    assert!(err.to_string().contains("ping"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(events.next().await.is_none(), "nothing after the error");
}
