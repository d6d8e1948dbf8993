//! Images from image servers, through deploys: daemon a serves public images over the `lxd`
//! protocol, and this test serves a simplestreams tree over HTTPS on loopback; daemon b pulls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lxd::{Client, ExecRequest, ImagesPost, InstanceName, InstanceSource, InstancesPost};
use mosaic_testkit::{
    OP_TIMEOUT, TestApp, env, expect_error, expect_json, remove_instance, spawn_app, unique_name,
};
use serde_json::{Value, json};

use super::{LxdCleanup, On, detail, follow_all, instances};
use crate::lxd_client::fake_server::{Body, FakeServer, Response};

const USER_DATA: &str = "#cloud-config\nruncmd: []\n";

/// Publishes a busybox container of `client`'s daemon twice, with a different file in each, as two
/// public images (two fingerprints); returns them.
async fn two_public_images(client: &Client, on: &On, cleanup: &LxdCleanup) -> [String; 2] {
    let name = unique_name("publish");
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let mut published = Vec::new();
    for mark in ["first", "second"] {
        client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
        let write = ExecRequest::new(["sh", "-c", &format!("echo {mark} > /etc/mosaic-image")]);
        assert_eq!(client.exec(&name, &write, OP_TIMEOUT).await.unwrap().exit_code, 0);
        client.stop_instance(&name, None).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
        let post =
            ImagesPost::from_instance(&name).public(true).property("description", format!("mosaic {mark}"));
        let done = client.create_image(&post).await.unwrap().wait(OP_TIMEOUT).await.expect("publish");
        let fingerprint = done.image_fingerprint().expect("the publish names its image").to_owned();
        cleanup.image(on, &fingerprint);
        published.push(fingerprint);
    }
    remove_instance(client, &name).await;
    assert_ne!(published[0], published[1]);
    [published[0].clone(), published[1].clone()]
}

/// Exports an image's unified tarball with the lxc CLI of the test environment.
async fn export_image(socket: &std::path::Path, fingerprint: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("mosaic-export-{}", unique_name("exp")));
    std::fs::create_dir_all(&dir).unwrap();
    let status = tokio::process::Command::new("lxc")
        .args(["image", "export", fingerprint])
        .arg(dir.join("image"))
        .env("LXD_DIR", socket.parent().unwrap())
        .env("LXD_CONF", "/var/lib/mosaic-testenv/lxc-cli")
        .status()
        .await
        .expect("lxc");
    assert!(status.success(), "lxc image export failed");
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// A simplestreams tree offering one unified tarball under `alias`: its index and product list.
fn simplestreams_tree(path: &str, alias: &str, fingerprint: &str, size: usize) -> (String, String) {
    let product = format!("mosaic:{alias}:amd64:default");
    let index = json!({"format": "index:1.0", "index": {"images": {
        "datatype": "image-downloads", "path": "streams/v1/images.json", "format": "products:1.0",
        "products": [product],
    }}});
    let images = json!({"content_id": "images", "datatype": "image-downloads", "format": "products:1.0",
        "products": {product: {
            "aliases": alias, "arch": "amd64", "os": "busybox", "release": "test", "release_title": "test",
            "versions": {"20261205_0000": {"items": {"lxd_combined.tar.gz": {
                "ftype": "lxd_combined.tar.gz", "path": path, "sha256": fingerprint, "size": size,
            }}}},
        }},
    });
    (index.to_string(), images.to_string())
}

/// Deploys `count` instances of `cc` onto `host` (not started); returns the finished job and
/// what its event stream showed.
async fn deploy(app: &TestApp, deployment: &str, cc: &str, host: &str, count: u32) -> (Value, Vec<Value>) {
    let body = json!({"cloud_configs": [{"cloud_config_id": cc, "count": count, "hosts": [host]}]});
    let job: Value =
        expect_json(app.post(&format!("/api/v1/deployments/{deployment}/deploy"), &body).await, 202).await;
    follow_all(app, &job).await
}

/// The image fingerprint of each instance of a deployment, from the API and from LXD.
async fn made_from(app: &TestApp, deployment: &str, lxd: &Client) -> Vec<String> {
    let mut fingerprints = Vec::new();
    for instance in instances(&detail(app, deployment).await) {
        let api = instance["image_fingerprint"].as_str().expect("a recorded fingerprint").to_owned();
        let name = InstanceName::parse(instance["name"].as_str().unwrap()).unwrap();
        let base = lxd.instance_config(&name).await.unwrap().config["volatile.base_image"].clone();
        assert_eq!(api, base, "Mosaic records the image LXD made {name} from");
        fingerprints.push(api);
    }
    fingerprints
}

#[tokio::test]
async fn images_from_image_servers_are_pulled_once_per_host_and_kept_per_deployment() {
    let [a, b] = &env().hosts;
    let cleanup = LxdCleanup::default();
    let (on_a, on_b) = (On::daemon(&a.socket), On::daemon(&b.socket));
    let source = a.admin();
    let [first, second] = two_public_images(&source, &on_a, &cleanup).await;
    let alias = unique_name("img").to_string();
    source.create_image_alias(&alias, &first).await.unwrap();
    cleanup.alias(&on_a, &alias);
    let target = b.client();
    for fingerprint in [&first, &second] {
        assert!(target.image_opt(fingerprint).await.unwrap().is_none(), "b must not have it yet");
        cleanup.image(&on_b, fingerprint);
    }

    let app = spawn_app().await;
    cleanup.trust(&on_b, &app);
    let host = app.register_host_at("lxd-b", b.url.as_str(), 1).await;

    // The lxd protocol: daemon a's public image by alias, with a's certificate.
    let certificate = a.client().server().await.unwrap().environment.certificate;
    let server = json!({"url": a.url.as_str(), "protocol": "lxd", "certificate": certificate});
    let body = json!({"namespace": "Images", "name": "Lxd", "image": alias, "image_server": server,
                      "user_data": USER_DATA});
    let cc: Value = expect_json(app.post("/api/v1/cloud-configs", &body).await, 201).await;
    assert_eq!(cc["image_server"]["protocol"], "lxd");
    let cc = cc["id"].as_str().unwrap().to_owned();
    let id = app.deployment("Pulled", &[&cc]).await;
    cleanup.deployment(&on_b, &id);

    let (done, _) = deploy(&app, &id, &cc, &host, 2).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(made_from(&app, &id, &target).await, [first.clone(), first.clone()]);
    assert!(target.image_opt(&first).await.unwrap().is_some(), "b keeps the pulled image");

    // The alias moves on the server; the deployment keeps to the image its instances are made of.
    source.delete_image_alias(&alias).await.unwrap();
    source.create_image_alias(&alias, &second).await.unwrap();
    let (done, _) = deploy(&app, &id, &cc, &host, 1).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(made_from(&app, &id, &target).await, [first.clone(), first.clone(), first.clone()]);
    assert!(target.image_opt(&second).await.unwrap().is_none(), "nothing else was pulled");

    // Simplestreams: the second image as a static tree on loopback, downloaded slowly enough for
    // its progress to show.
    let tarball = Arc::new(export_image(&a.socket, &second).await);
    let path = format!("images/{}/lxd.tar.gz", unique_name("ss"));
    let stream_alias = format!("mosaic/{}", unique_name("ss"));
    let (index, products) = simplestreams_tree(&path, &stream_alias, &second, tarball.len());
    let downloads = Arc::new(AtomicUsize::new(0));
    let tree = {
        let (tarball, downloads, path) = (tarball.clone(), downloads.clone(), format!("/{path}"));
        FakeServer::https(move |req| match req.path() {
            "/streams/v1/index.json" => Response::bytes(200, index.clone().into_bytes()),
            "/streams/v1/images.json" => Response::bytes(200, products.clone().into_bytes()),
            p if p == path => {
                downloads.fetch_add(1, Ordering::SeqCst);
                let body = Body::Throttled {
                    bytes: tarball.clone(),
                    chunk: 16 * 1024,
                    pause: Duration::from_millis(60),
                };
                Response { status: 200, headers: Vec::new(), body }
            }
            _ => Response::bytes(404, b"not here".to_vec()),
        })
    };
    let server = json!({"url": tree.url.as_str(), "protocol": "simplestreams", "certificate": tree.cert_pem});
    let body = json!({"namespace": "Images", "name": "Streams", "image": stream_alias, "image_server": server,
                      "user_data": USER_DATA});
    let streamed: Value = expect_json(app.post("/api/v1/cloud-configs", &body).await, 201).await;
    let streamed = streamed["id"].as_str().unwrap().to_owned();
    let id2 = app.deployment("Streamed", &[&streamed]).await;
    cleanup.deployment(&on_b, &id2);
    let (done, seen) = deploy(&app, &id2, &streamed, &host, 3).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert_eq!(downloads.load(Ordering::SeqCst), 1, "three instances, one download");
    assert_eq!(made_from(&app, &id2, &target).await, [second.clone(), second.clone(), second.clone()]);
    let progress: Vec<String> = seen
        .iter()
        .flat_map(|job| job["items"].as_array().unwrap().clone())
        .filter(|item| item["step"] == "downloading")
        .filter_map(|item| item["progress"].as_str().map(str::to_owned))
        .collect();
    assert!(progress.iter().any(|p| p.contains('%')), "the download's progress was shown: {progress:?}");
    eprintln!("download progress shown: {progress:?}");

    // A pull that fails fails its items with LXD's words, once for the host.
    let body = json!({"namespace": "Images", "name": "Missing", "image": unique_name("nope").to_string(),
                      "image_server": {"url": a.url.as_str(), "protocol": "lxd", "certificate": certificate},
                      "user_data": USER_DATA});
    let missing: Value = expect_json(app.post("/api/v1/cloud-configs", &body).await, 201).await;
    let missing = missing["id"].as_str().unwrap().to_owned();
    let id3 = app.deployment("Unpullable", &[&missing]).await;
    cleanup.deployment(&on_b, &id3);
    let (done, _) = deploy(&app, &id3, &missing, &host, 2).await;
    assert_eq!(done["state"], "failed", "{done:#}");
    assert_eq!(done["failed"], 2);
    let errors: Vec<&str> =
        done["items"].as_array().unwrap().iter().map(|i| i["error"].as_str().unwrap()).collect();
    assert!(errors[0].starts_with("pulling image "), "{errors:?}");
    assert_eq!(errors[0], errors[1], "one pull, one answer for both");
    eprintln!("a failed pull: {}", errors[0]);
    let failed = detail(&app, &id3).await;
    assert!(instances(&failed).iter().all(|i| i["lifecycle"] == "failed" && i["last_error"] == errors[0]));

    for id in [&id, &id2, &id3] {
        assert_eq!(app.delete_deployment(id).await["state"], "succeeded");
    }
    expect_error(app.get(&format!("/api/v1/deployments/{id}")).await, 404, "deployment_not_found").await;
}

#[tokio::test]
async fn an_image_server_is_part_of_a_revision_and_checked() {
    let app = spawn_app().await;
    let server = json!({"url": "https://127.0.0.1:8443/releases", "protocol": "simplestreams"});
    let body = json!({"namespace": "Images", "name": "Rev", "image": "debian/12", "image_server": server,
                      "user_data": USER_DATA});
    let created: Value = expect_json(app.post("/api/v1/cloud-configs", &body).await, 201).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["image_server"],
        json!({"url": "https://127.0.0.1:8443/releases", "protocol": "simplestreams", "certificate": null})
    );

    // Another protocol is a new revision; a name change is not; `null` makes the image local.
    let lxd = json!({"url": "https://127.0.0.1:8443/releases", "protocol": "lxd"});
    let changed: Value = expect_json(
        app.patch(&format!("/api/v1/cloud-configs/{id}"), &json!({"image_server": lxd})).await,
        200,
    )
    .await;
    assert_eq!(changed["revision"], 2);
    let renamed: Value =
        expect_json(app.patch(&format!("/api/v1/cloud-configs/{id}"), &json!({"name": "Rev2"})).await, 200)
            .await;
    assert_eq!(renamed["revision"], 2);
    assert_eq!(renamed["image_server"]["protocol"], "lxd", "omitted keeps the server");
    let local = json!({"image": "busybox", "image_server": null});
    let local: Value =
        expect_json(app.patch(&format!("/api/v1/cloud-configs/{id}"), &local).await, 200).await;
    assert_eq!(local["revision"], 3);
    assert_eq!(local["image_server"], Value::Null);

    let diff: Value =
        expect_json(app.get(&format!("/api/v1/cloud-configs/{id}/diff?from=1&to=2")).await, 200).await;
    assert_eq!(diff["image"], Value::Null);
    assert_eq!(diff["image_server"][0]["protocol"], "simplestreams");
    assert_eq!(diff["image_server"][1]["protocol"], "lxd");
    let diff: Value =
        expect_json(app.get(&format!("/api/v1/cloud-configs/{id}/diff?from=2&to=3")).await, 200).await;
    assert_eq!(diff["image"], json!(["debian/12", "busybox"]));
    assert_eq!(diff["image_server"][1], Value::Null);
    let first: Value =
        expect_json(app.get(&format!("/api/v1/cloud-configs/{id}/revisions/1")).await, 200).await;
    assert_eq!(first["image_server"]["protocol"], "simplestreams");
    // Restoring revision 1 brings its server back.
    let restored: Value = expect_json(
        app.post(&format!("/api/v1/cloud-configs/{id}/revisions/1/restore"), &json!({})).await,
        201,
    )
    .await;
    assert_eq!(restored["revision"], 4);
    assert_eq!(restored["image_server"]["protocol"], "simplestreams");

    for bad in [
        json!({"url": "http://127.0.0.1:8443", "protocol": "lxd"}),
        json!({"url": "https://user:secret@127.0.0.1:8443", "protocol": "lxd"}),
        json!({"url": "https://127.0.0.1:8443", "protocol": "lxd", "certificate": "not a certificate"}),
    ] {
        let body = json!({"namespace": "Images", "name": "Bad", "image": "x", "image_server": bad,
                          "user_data": USER_DATA});
        expect_error(app.post("/api/v1/cloud-configs", &body).await, 400, "validation_failed").await;
        expect_error(
            app.patch(&format!("/api/v1/cloud-configs/{id}"), &json!({"image_server": bad})).await,
            400,
            "validation_failed",
        )
        .await;
    }
    let unknown = json!({"namespace": "Images", "name": "Bad", "image": "x", "user_data": USER_DATA,
                         "image_server": {"url": "https://127.0.0.1:1", "protocol": "ftp"}});
    assert_eq!(app.post("/api/v1/cloud-configs", &unknown).await.status(), 400);
}
