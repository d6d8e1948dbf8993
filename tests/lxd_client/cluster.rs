//! A clustered host: its members, placing an instance on one, and failing over between member
//! URLs when the one in use stops answering.

use futures::StreamExt;
use lxd::{Client, EventType, InstanceSource, InstancesPost, MemberStatus};
use mosaic_testkit::{OP_TIMEOUT, Relay, cluster, env, unique_name};
use url::Url;

use super::hardening::Cleanup;

/// An `https://` URL on loopback where nothing listens.
fn dead_url() -> Url {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("https://127.0.0.1:{port}").parse().unwrap()
}

#[tokio::test]
async fn the_members_are_listed_with_their_status() {
    let _steady = mosaic_testkit::cluster_steady().await;
    let cluster = cluster();
    let server = cluster.client().server().await.unwrap();
    assert!(server.environment.server_clustered);
    let members = cluster.client().cluster_members().await.expect("GET /1.0/cluster/members");
    let mut names: Vec<&str> = members.iter().map(|m| m.server_name.as_str()).collect();
    names.sort();
    assert_eq!(names, cluster.members.iter().map(String::as_str).collect::<Vec<_>>());
    for member in &members {
        assert_eq!(member.status, MemberStatus::Online, "{member:?}");
        assert!(!member.message.is_empty());
        let index = cluster.members.iter().position(|m| *m == member.server_name).unwrap();
        assert_eq!(member.url.trim_end_matches('/'), cluster.urls[index].as_str().trim_end_matches('/'));
    }
}

#[tokio::test]
async fn an_instance_launched_with_a_target_lives_on_that_member() {
    let _steady = mosaic_testkit::cluster_steady().await;
    let cluster = cluster();
    let target = &cluster.members[1];
    let client = cluster.client();
    let name = unique_name("target");
    let _cleanup = Cleanup(cluster.admin(), name.clone());
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance_on(&post, target).await.unwrap().wait(OP_TIMEOUT).await.expect("create on m2");
    client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.expect("start");
    let instance = client.instance(&name).await.unwrap();
    assert_eq!(&instance.location, target);
    assert!(instance.is_running());
    let listed = client.instances(None).await.unwrap();
    let found = listed.iter().find(|i| i.name == name.as_str()).expect("listed");
    assert_eq!(&found.location, target);
    assert!(
        client.create_instance_on(&post, "no such/member").await.is_err(),
        "a bad member name is refused"
    );
}

#[tokio::test]
async fn a_cluster_client_skips_a_member_that_does_not_answer() {
    let _steady = mosaic_testkit::cluster_steady().await;
    let cluster = cluster();
    let mut urls = vec![dead_url()];
    urls.extend(cluster.urls.iter().cloned());
    let client = Client::https_cluster(&urls, cluster.fingerprint, Some(&env().identity)).unwrap();
    assert_eq!(client.base_url(), &urls[0]);
    assert!(client.server().await.expect("answered by a live member").environment.server_clustered);
    assert_eq!(client.base_url(), &urls[1], "the member that answered is kept");
    // Clones share it, and events go there too.
    let clone = client.clone();
    assert_eq!(clone.base_url(), &urls[1]);
    assert!(clone.cluster_members().await.is_ok());
    let events = client.events(&[EventType::Lifecycle]).await.unwrap();
    assert_eq!(events.url().port(), urls[1].port());
}

#[tokio::test]
async fn a_cluster_client_moves_on_when_its_member_stops_answering() {
    let _steady = mosaic_testkit::cluster_steady().await;
    let cluster = cluster();
    let m1 = &cluster.urls[0];
    let relay = Relay::start(format!("127.0.0.1:{}", m1.port().unwrap()).parse().unwrap()).await;
    let urls = [relay.url().parse().unwrap(), cluster.urls[1].clone()];
    let client = Client::https_cluster(&urls, cluster.fingerprint, Some(&env().identity)).unwrap();
    client.server().await.expect("through the relay");
    assert_eq!(client.base_url(), &urls[0]);
    relay.cut();
    client.server().await.expect("the next member answers");
    assert_eq!(client.base_url(), &urls[1]);
    // An answer that is an HTTP error is an answer: no failover for a 404.
    let missing = unique_name("ghost");
    assert!(client.instance(&missing).await.unwrap_err().is_not_found());
    assert_eq!(client.base_url(), &urls[1]);
}

#[tokio::test]
async fn failover_in_front_of_a_standalone_host() {
    // Runs without the cluster: a dead port first, then daemon a, one pinned fingerprint.
    let host = &env().hosts[0];
    let urls = [dead_url(), host.url.clone()];
    let client = Client::https_cluster(&urls, host.fingerprint, Some(&env().identity)).unwrap();
    assert!(client.server().await.unwrap().is_trusted());
    assert_eq!(client.base_url(), &urls[1]);
    let mut events = Client::https_cluster(&urls, host.fingerprint, Some(&env().identity))
        .unwrap()
        .events(&[EventType::Lifecycle])
        .await
        .expect("the events websocket fails over too");
    assert_eq!(events.url().port(), host.url.port());
    drop(events.next());
    // Every URL dead: the connection error comes back.
    let dead = Client::https_cluster(&[dead_url(), dead_url()], host.fingerprint, None).unwrap();
    assert!(dead.server().await.unwrap_err().is_unreachable());
}
