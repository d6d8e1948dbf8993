//! Instance names are checked against LXD's rules before anything is sent.

use lxd::{Error, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, env, remove_instance};

#[test]
fn invalid_names_are_rejected_before_any_request() {
    for bad in ["", "1abc", "-abc", "abc-", "a_b", "a.b", "a b", "ä", &"a".repeat(64)] {
        match InstanceName::parse(bad) {
            Err(Error::Invalid { what: "instance name", .. }) => {}
            other => panic!("{bad:?} should be refused locally, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_longest_valid_name_is_accepted_by_lxd() {
    // Our rules must not be stricter than LXD's at the boundary: 63 characters work.
    let client = env().hosts[0].client();
    let name = InstanceName::parse(&format!("t-{}", "x".repeat(61))).unwrap();
    remove_instance(&client, &name).await;
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    let created = client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await;
    remove_instance(&client, &name).await;
    created.expect("a 63-character name is valid in LXD");
}
