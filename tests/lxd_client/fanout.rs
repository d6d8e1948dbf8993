//! Fan-out over both hosts: many containers at once, each with its own result.

use lxd::{Client, HostLimiter, InstanceFilter, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, env, remove_instance, unique_name};

/// One unit of fan-out work: a client for the host and what to create there.
struct Item {
    client: Client,
    name: InstanceName,
    image: String,
    label: String,
}

async fn create_and_start(item: &Item) -> lxd::Result<()> {
    let post = InstancesPost::new(item.name.clone(), InstanceSource::image_alias(&item.image))
        .config("user.mosaic.test", &item.label);
    item.client.create_instance(&post).await?.wait(OP_TIMEOUT).await?;
    item.client.start_instance(&item.name).await?.wait(OP_TIMEOUT).await?;
    Ok(())
}

#[tokio::test]
async fn ten_containers_over_two_hosts_and_failures_stay_with_their_items() {
    let [a, b] = &env().hosts;
    let label = unique_name("fan").to_string();
    let filter = InstanceFilter::config_eq("user.mosaic.test", &label).unwrap();

    // A container whose name one item will try to take again.
    let taken = unique_name("taken");
    let post = InstancesPost::new(taken.clone(), InstanceSource::image_alias(&env().image_busybox));
    b.client().create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();

    let mut items: Vec<(&str, Item)> = (0..10)
        .map(|i| {
            let host = if i % 2 == 0 { a } else { b };
            let item = Item {
                client: host.client(),
                name: unique_name("fan"),
                image: env().image_busybox.clone(),
                label: label.clone(),
            };
            (host.label, item)
        })
        .collect();
    let taken_item = Item {
        client: b.client(),
        name: taken.clone(),
        image: env().image_busybox.clone(),
        label: label.clone(),
    };
    let missing_image = Item {
        client: a.client(),
        name: unique_name("noimg"),
        image: "no-such-image".into(),
        label: label.clone(),
    };
    items.push((b.label, taken_item));
    items.push((a.label, missing_image));

    let limiter = HostLimiter::new(4);
    let names: Vec<InstanceName> = items.iter().map(|(_, i)| i.name.clone()).collect();
    let clients: Vec<Client> = items.iter().map(|(_, i)| i.client.clone()).collect();
    let results = limiter.run(items.iter().map(|(h, i)| (*h, i)), create_and_start).await;

    // The ten good items all succeeded; the two bad ones failed alone, with LXD's words.
    for (i, result) in results.iter().take(10).enumerate() {
        assert!(result.is_ok(), "item {i} ({}) failed: {result:?}", names[i]);
    }
    let taken_err = results[10].as_ref().expect_err("a taken name fails");
    assert!(taken_err.to_string().contains("already exists"), "{taken_err}");
    let image_err = results[11].as_ref().expect_err("a missing image fails");
    assert!(image_err.to_string().to_lowercase().contains("not found"), "{image_err}");

    // Each host lists its five, running.
    for host in [a, b] {
        let listed = host.client().instances(Some(&filter)).await.unwrap();
        assert_eq!(listed.len(), 5, "host {}", host.label);
        assert!(listed.iter().all(|i| i.is_running()), "host {}", host.label);
    }

    // Stop and delete the ten through the fan-out. Killed, not shut down cleanly: a clean stop
    // waits on the guest's init, which right after its start may not handle SIGPWR yet on a
    // loaded machine (LXD then gives up after the timeout, as a cold CI run saw) — and what is
    // tested here is the fan-out, not the guest.
    let good: Vec<(&str, (Client, InstanceName))> =
        items.iter().take(10).map(|(h, i)| (*h, (i.client.clone(), i.name.clone()))).collect();
    let stopped = limiter
        .run(good.iter().map(|(h, x)| (*h, x)), |(client, name)| async move {
            // Even a kill can outlast LXD's own 30 s operation lock on a loaded machine (a cold CI
            // run saw "Instance \"stop\" operation timed out after 30s"); one that did not stop
            // the instance is tried once more, and a second failure fails the item.
            if client.kill_instance(name, OP_TIMEOUT).await.is_err() {
                client.kill_instance(name, OP_TIMEOUT).await?;
            }
            client.delete_instance(name).await?.wait(OP_TIMEOUT).await
        })
        .await;
    remove_instance(&b.client(), &taken).await;
    remove_instance(&clients[11], &names[11]).await;
    for (i, r) in stopped.iter().enumerate() {
        assert!(r.is_ok(), "stop+delete of {} failed: {r:?}", names[i]);
    }
    for host in [a, b] {
        assert!(host.client().instances(Some(&filter)).await.unwrap().is_empty());
    }
}
