//! Images from image servers: one test daemon pulls from the other over the `lxd` protocol, and
//! from a static simplestreams tree this test serves over HTTPS on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lxd::{
    Client, ExecRequest, ImageProtocol, ImageRef, ImagesPost, InstanceSource, InstancesPost, Progress,
    RemoteImage,
};
use mosaic_testkit::{OP_TIMEOUT, TestHost, env, remove_instance, unique_name};
use serde_json::json;

use super::fake_server::{Body, FakeServer, Response};

/// Deletes images (by fingerprint, on the given hosts) when dropped, also when the test fails.
struct ImageCleanup(Vec<(Client, String)>);

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        let images = std::mem::take(&mut self.0);
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                for (client, fingerprint) in images {
                    if let Ok(op) = client.delete_image(&fingerprint).await {
                        let _ = op.wait(OP_TIMEOUT).await;
                    }
                }
            })
        })
        .join()
        .unwrap();
    }
}

/// Publishes a fresh busybox container on `host`, with a file naming it, as a new image (a new
/// fingerprint); returns the fingerprint.
async fn publish_copy_of_busybox(host: &TestHost) -> String {
    let client = host.client();
    let name = unique_name("publish");
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_busybox));
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let mark = ExecRequest::new(["sh", "-c", &format!("echo {name} > /etc/mosaic-image")]);
    assert_eq!(client.exec(&name, &mark, OP_TIMEOUT).await.unwrap().exit_code, 0);
    client.stop_instance(&name, None).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let published =
        client.create_image(&ImagesPost::from_instance(&name).property("description", "mosaic test")).await;
    let done = match published {
        Ok(op) => op.wait(OP_TIMEOUT).await,
        Err(e) => Err(e),
    };
    remove_instance(&host.admin(), &name).await;
    let done = done.expect("publish");
    done.image_fingerprint().expect("the publish names its image").to_owned()
}

/// Waits for an operation while reading its progress every 100 ms; returns what was seen.
async fn wait_watching(op: &lxd::Operation) -> (lxd::Result<lxd::OperationMetadata>, Vec<Progress>) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + OP_TIMEOUT;
    loop {
        match op.refresh().await {
            Ok(now) if now.status_code.is_final() => break,
            Ok(now) => seen.extend(now.progress()),
            Err(e) if e.is_not_found() => break,
            Err(e) => return (Err(e), seen),
        }
        assert!(tokio::time::Instant::now() < deadline, "the operation did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (op.wait(OP_TIMEOUT).await, seen)
}

#[tokio::test]
async fn a_host_pulls_a_public_image_from_another_over_the_lxd_protocol() {
    let [a, b] = &env().hosts;
    let fingerprint = publish_copy_of_busybox(a).await;
    let _cleanup = ImageCleanup(vec![(a.admin(), fingerprint.clone()), (b.admin(), fingerprint.clone())]);
    let alias = unique_name("img").to_string();
    let source = a.client();
    source.create_image_alias(&alias, &fingerprint).await.unwrap();
    source.set_image_public(&fingerprint, true).await.unwrap();
    assert!(source.image(&fingerprint).await.unwrap().public);
    assert!(b.client().image_opt(&fingerprint).await.unwrap().is_none(), "b must not have it yet");

    let certificate = source.server().await.unwrap().environment.certificate;
    let remote = RemoteImage::new(a.url.clone(), ImageProtocol::Lxd, ImageRef::Alias(alias.clone()))
        .with_certificate(certificate);
    let op = b.client().copy_image_from(&remote).await.expect("pull");
    let (done, _progress) = wait_watching(&op).await;
    let done = done.expect("the pull succeeds");
    assert_eq!(done.image_fingerprint(), Some(fingerprint.as_str()));
    let pulled = b.client().image(&fingerprint).await.expect("b has the image by fingerprint");
    assert_eq!(pulled.properties.get("description").map(String::as_str), Some("mosaic test"));

    // A private image is not handed out: the alias no longer resolves for b.
    source.set_image_public(&fingerprint, false).await.unwrap();
    b.admin().delete_image(&fingerprint).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    let refused = match b.client().copy_image_from(&remote).await {
        Ok(op) => op.wait(OP_TIMEOUT).await.map(drop),
        Err(e) => Err(e),
    };
    assert!(refused.is_err(), "a private image must not be pulled");
    source.delete_image_alias(&alias).await.unwrap();
}

/// A minimal simplestreams tree offering one unified image tarball under `alias`.
fn simplestreams_tree(prefix: &str, alias: &str, fingerprint: &str, size: usize) -> (String, String) {
    let product = format!("mosaic:{alias}:amd64:default");
    let index = json!({
        "format": "index:1.0",
        "index": {"images": {
            "datatype": "image-downloads",
            "path": "streams/v1/images.json",
            "format": "products:1.0",
            "products": [product],
        }},
    });
    let images = json!({
        "content_id": "images",
        "datatype": "image-downloads",
        "format": "products:1.0",
        "products": {product: {
            "aliases": alias,
            "arch": "amd64",
            "os": "busybox",
            "release": "test",
            "release_title": "test",
            "versions": {"20261205_0000": {"items": {"lxd_combined.tar.gz": {
                "ftype": "lxd_combined.tar.gz",
                "path": format!("images/{prefix}/lxd.tar.gz"),
                "sha256": fingerprint,
                "size": size,
            }}}},
        }},
    });
    (index.to_string(), images.to_string())
}

/// Exports an image's unified tarball with the lxc CLI of the test environment.
async fn export_image(host: &TestHost, fingerprint: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("mosaic-export-{}", unique_name("exp")));
    std::fs::create_dir_all(&dir).unwrap();
    let lxd_dir = host.socket.parent().unwrap();
    let status = tokio::process::Command::new("lxc")
        .args(["image", "export", fingerprint])
        .arg(dir.join("image"))
        .env("LXD_DIR", lxd_dir)
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

#[tokio::test]
async fn a_host_pulls_from_a_simplestreams_server_with_progress_and_a_pull_can_be_cancelled() {
    let [a, b] = &env().hosts;
    let fingerprint = publish_copy_of_busybox(a).await;
    let _cleanup = ImageCleanup(vec![(a.admin(), fingerprint.clone()), (b.admin(), fingerprint.clone())]);
    let tarball = Arc::new(export_image(a, &fingerprint).await);
    let prefix = unique_name("ss").to_string();
    let alias = format!("mosaic/{prefix}");
    let (index, images) = simplestreams_tree(&prefix, &alias, &fingerprint, tarball.len());

    // The first download of the tarball stalls (to be cancelled), the next one is slow enough
    // (~2 s) for its progress to be read.
    let downloads = Arc::new(AtomicUsize::new(0));
    let server = {
        let (tarball, downloads, prefix) = (tarball.clone(), downloads.clone(), prefix.clone());
        FakeServer::https(move |req| match req.path() {
            "/streams/v1/index.json" => Response::bytes(200, index.clone().into_bytes()),
            "/streams/v1/images.json" => Response::bytes(200, images.clone().into_bytes()),
            p if p == format!("/images/{prefix}/lxd.tar.gz") => {
                let body = if downloads.fetch_add(1, Ordering::SeqCst) == 0 {
                    Body::Stall
                } else {
                    Body::Throttled {
                        bytes: tarball.clone(),
                        chunk: 16 * 1024,
                        pause: Duration::from_millis(30),
                    }
                };
                Response { status: 200, headers: Vec::new(), body }
            }
            _ => Response::bytes(404, b"not here".to_vec()),
        })
    };
    let remote =
        RemoteImage::new(server.url.clone(), ImageProtocol::SimpleStreams, ImageRef::Alias(alias.clone()))
            .with_certificate(server.cert_pem.clone());
    let client = b.client();

    // Cancel a pull whose download hangs.
    let op = client.copy_image_from(&remote).await.expect("pull");
    mosaic_testkit::eventually(Duration::from_secs(30), "the tarball download to start", || async {
        (downloads.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    assert!(op.refresh().await.unwrap().may_cancel, "an image download can be cancelled");
    op.cancel().await.expect("cancel");
    let err = op.wait(OP_TIMEOUT).await.expect_err("a cancelled pull fails");
    assert!(matches!(err, lxd::Error::Operation { .. }), "{err:?}");
    assert!(client.image_opt(&fingerprint).await.unwrap().is_none());

    // Pull again: the slow download reports progress, then b has the image.
    let op = client.copy_image_from(&remote).await.expect("pull");
    let (done, progress) = wait_watching(&op).await;
    let done = done.expect("the simplestreams pull succeeds");
    assert_eq!(done.image_fingerprint(), Some(fingerprint.as_str()));
    assert!(client.image(&fingerprint).await.is_ok());
    let percents: Vec<u8> = progress.iter().filter_map(|p| p.percent).collect();
    assert!(!percents.is_empty(), "no download progress seen: {progress:?}");
    assert!(percents.iter().any(|p| *p > 0 && *p < 100), "progress did not move: {progress:?}");
    eprintln!("progress seen: {:?}", progress.iter().map(|p| p.text.as_str()).collect::<Vec<_>>());
}
