//! A cloud-init image applies `user.user-data`, and LXD exec can tell.

use lxd::{ExecRequest, InstanceSource, InstancesPost};
use mosaic_testkit::{OP_TIMEOUT, env, remove_instance, unique_name};

const USER_DATA: &str = r#"#cloud-config
write_files:
  - path: /etc/mosaic-marker
    content: "written by cloud-init\n"
runcmd:
  - [sh, -c, "echo ran > /var/tmp/mosaic-runcmd"]
"#;

#[tokio::test]
async fn user_data_is_applied_and_cloud_init_reports_done() {
    let client = env().hosts[1].client();
    let name = unique_name("ci");
    let post = InstancesPost::new(name.clone(), InstanceSource::image_alias(&env().image_cloudinit))
        .config("user.user-data", USER_DATA);
    client.create_instance(&post).await.unwrap().wait(OP_TIMEOUT).await.unwrap();
    client.start_instance(&name).await.unwrap().wait(OP_TIMEOUT).await.unwrap();

    let status = client
        .exec(&name, &ExecRequest::new(["cloud-init", "status", "--wait", "--format", "json"]), OP_TIMEOUT)
        .await;
    let marker = client.exec(&name, &ExecRequest::new(["cat", "/etc/mosaic-marker"]), OP_TIMEOUT).await;
    let runcmd = client.exec(&name, &ExecRequest::new(["cat", "/var/tmp/mosaic-runcmd"]), OP_TIMEOUT).await;
    remove_instance(&client, &name).await;

    let status = status.unwrap();
    assert_eq!(status.exit_code, 0, "cloud-init status: {status:?}");
    let report: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON status");
    assert_eq!(report["status"], "done", "{report}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert_eq!(marker.unwrap().stdout, "written by cloud-init\n");
    assert_eq!(runcmd.unwrap().stdout, "ran\n");
}
