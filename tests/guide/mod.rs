//! The operator's guide (`docs/GUIDE.md`) cannot rot: its Python snippet runs against a real
//! server and real LXD, through the client `scripts/python-client.sh` generates from the committed
//! OpenAPI document.

use std::path::{Path, PathBuf};

use mosaic_testkit::{env, spawn_app};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The guide's Python code block: the first ```python block after the Python heading.
fn snippet(guide: &str) -> String {
    let (_, python) = guide.split_once("## The same from Python").expect("the guide has a Python section");
    let (_, code) = python.split_once("```python\n").expect("a ```python block");
    let (code, _) = code.split_once("```").expect("the block ends");
    code.to_owned()
}

#[tokio::test]
async fn the_guides_python_snippet_runs() {
    let guide = std::fs::read_to_string(root().join("docs/GUIDE.md")).unwrap();
    let code = snippet(&guide);

    let out_dir = root().join("target/python-client");
    let generated = tokio::process::Command::new(root().join("scripts/python-client.sh"))
        .arg(&out_dir)
        .current_dir(root())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&generated.stderr);
    assert!(generated.status.success(), "scripts/python-client.sh failed: {stderr}");
    let said = String::from_utf8(generated.stdout).unwrap();
    let var = |name: &str| {
        said.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("python-client.sh printed no {name}: {said}"))
            .to_owned()
    };
    let (pythonpath, python) = (var("PYTHONPATH"), var("PYTHON"));

    let app = spawn_app().await;
    app.register_hosts().await;
    let ran = tokio::process::Command::new(python)
        .arg("-c")
        .arg(&code)
        .env("PYTHONPATH", pythonpath)
        .env("MOSAIC_URL", app.url(""))
        .env("MOSAIC_TOKEN", &app.token)
        .env("MOSAIC_IMAGE", &env().image_busybox)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "the snippet failed:\n{stdout}\n{stderr}");
    // What the jobs' items said, to show with a failure (the snippet prints only states).
    let items: Vec<(String, String, Option<String>)> = {
        use diesel::prelude::*;
        use mosaic_db::schema::job_items::dsl as i;
        let mut conn = app.state.pool.get().unwrap();
        i::job_items.select((i::instance_name, i::step, i::error)).load(&mut conn).unwrap()
    };
    // `Py_Site`, not `My_Site`: container names come from the deployment's name, and the browser
    // walkthrough makes `My_Site`'s on the same hosts (a CI run had this snippet stop them mid-deploy).
    for line in
        ["deploy: succeeded 2/2", "running: 2", "found: ['Py_Site']", "stop: succeeded", "delete: succeeded"]
    {
        assert!(stdout.lines().any(|l| l == line), "{line:?} missing from:\n{stdout}\njob items: {items:#?}");
    }
    // Two instances were listed by name, running (busybox has no cloud-init: readiness unknown).
    let listed = stdout.lines().filter(|l| l.ends_with(" running unknown")).count();
    assert_eq!(listed, 2, "{stdout}");

    // What the snippet did is what the server holds: the deployment is gone.
    let deployments: serde_json::Value = app.get("/api/v1/deployments").await.json().await.unwrap();
    assert_eq!(deployments["items"].as_array().map(Vec::len), Some(0), "{deployments}");
}
