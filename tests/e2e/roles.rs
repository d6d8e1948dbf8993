//! Roles and tokens in the browser: a revoked token signs the page out; an admin creates an
//! operator, who makes a viewer token limited to one deployment; signed in with it the app offers
//! no changes and shows only that deployment; a change the page still offers after a demotion is
//! refused with the server's words, and the page catches up with the new role; the admin revokes the token, changes the role, disables and
//! enables the user; a new cloud-config's image starts empty; and the overview shows a page at a
//! time with "More" and searches on the server. No LXD host is needed: nothing
//! here starts a container.

use mosaic_testkit::{TestApp, expect_json, frontend_dir, spawn_app};
use mosaic_types::deployments::Deployment;
use mosaic_types::users::{CreatedToken, User};
use serde_json::json;

use super::browser::Browser;

/// Signs in with `token` and waits until the top bar says who it is.
async fn sign_in(b: &Browser, token: &str, who: &str) {
    b.fill("#token", token).await;
    b.click("#sign-in").await;
    b.wait_text("#whoami", who, 30).await;
}

async fn sign_out(b: &Browser) {
    b.click("#sign-out").await;
    b.wait("#token", 10).await;
}

/// The status `GET /api/v1/me` answers to `secret`.
async fn me_status(app: &TestApp, secret: &str) -> u16 {
    app.http.get(app.url("/api/v1/me")).bearer_auth(secret).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn roles_and_tokens_in_a_browser() {
    assert!(
        frontend_dir().join("index.html").is_file(),
        "the web app is not built: run scripts/build-frontend.sh first"
    );
    let app = spawn_app().await;
    let mut sites = Vec::new();
    for name in ["Site_A", "Site_B"] {
        let d: Deployment =
            expect_json(app.post("/api/v1/deployments", &json!({ "name": name })).await, 201).await;
        sites.push(d);
    }
    let b = Browser::start().await;
    b.client.goto(&app.url("")).await.unwrap();
    b.wait("#token", 30).await;

    // A token revoked while in use: the next request signs the page out, saying why.
    sign_in(&b, &app.token, "admin · admin").await;
    let second: CreatedToken =
        expect_json(app.post("/api/v1/tokens", &json!({ "name": "second" })).await, 201).await;
    sign_out(&b).await;
    sign_in(&b, &second.secret, "admin · admin").await;
    let revoked = app.delete(&format!("/api/v1/tokens/{}", second.token.id)).await;
    assert_eq!(revoked.status().as_u16(), 204);
    b.click_link("Hosts").await;
    b.wait_text("#signed-out", "no longer accepts your token", 10).await;
    b.screenshot("r01-signed-out").await;
    sign_in(&b, &app.token, "admin · admin").await;

    // The admin creates an operator; its first token's secret is shown once.
    b.click_link("Users").await;
    b.fill("#user-name", "ops").await;
    b.select("#user-role", "operator").await;
    b.click("#create-user").await;
    b.wait_text("#secret-once h3", "First token of ops", 10).await;
    let ops_secret = b.value("#new-secret").await;
    assert!(ops_secret.starts_with("mosaic_"), "{ops_secret}");
    b.wait("tr[data-user=ops]", 10).await;
    assert_eq!(b.value("tr[data-user=ops] select.role").await, "operator");
    b.screenshot("r02-user-created").await;
    b.click("#secret-done").await;
    b.wait_gone("#new-secret", 5).await;
    // The last admin cannot be demoted: the server's 409 is shown, and the select shows the
    // role the admin still has.
    b.select("tr[data-user=admin] select.role", "viewer").await;
    b.wait_text(".banner.error", "last enabled admin", 10).await;
    assert_eq!(b.value("tr[data-user=admin] select.role").await, "admin");

    // The operator makes a viewer token for Site_A only, expiring in 7 days.
    sign_out(&b).await;
    sign_in(&b, &ops_secret, "ops · operator").await;
    b.click_link("Deployments").await;
    b.wait_text(".card .name", "Site_B", 10).await;
    b.wait("#create-deployment", 5).await;
    b.assert_absent("nav a[href='/users']").await;
    b.click_link("Tokens").await;
    b.wait("tr[data-token='first token']", 10).await;
    b.fill("#token-name", "read-only").await;
    b.select("#token-role", "viewer").await;
    b.click("input[data-deployment=Site_A]").await;
    b.select("#token-expiry", "7").await;
    b.click("#create-token").await;
    b.wait_text("#secret-once h3", "read-only", 10).await;
    let viewer_secret = b.value("#new-secret").await;
    b.wait_text("tr[data-token=read-only] td.role", "viewer at most", 10).await;
    b.wait_text("tr[data-token=read-only] td.deployments", "Site_A", 5).await;
    let expires = b.wait("tr[data-token=read-only] td.expires", 5).await.text().await.unwrap();
    assert_ne!(expires, "never");
    b.screenshot("r03-tokens").await;
    b.click("#secret-done").await;

    // Signed in with it: only Site_A, and nothing offered that it may not do.
    sign_out(&b).await;
    sign_in(&b, &viewer_secret, "ops · viewer").await;
    b.wait_text("#whoami", "1 deployment only", 5).await;
    b.click_link("Deployments").await;
    b.wait_text(".card .name", "Site_A", 10).await;
    let cards = b.client.find_all(fantoccini::Locator::Css(".card")).await.unwrap();
    assert_eq!(cards.len(), 1, "a token limited to Site_A sees only it");
    b.assert_absent("#create-deployment").await;
    b.click(".card").await;
    b.wait_text("#deployment-name", "Site_A", 10).await;
    b.wait("#read-only", 5).await;
    // Its instance list (limited to Site_A, which it may read) answers: no instances yet.
    b.wait("#no-instances", 10).await;
    for button in ["#deploy", "#start", "#stop", "#delete"] {
        b.assert_absent(button).await;
    }
    b.screenshot("r04-viewer-deployment").await;
    b.click_link("Cloud-configs").await;
    b.wait_text(".tree .empty", "No cloud-configs yet", 10).await;
    b.assert_absent("#new-cloud-config").await;
    b.click_link("Hosts").await;
    b.wait("#hosts-admins-only", 10).await;
    b.assert_absent("#host-url").await;
    b.click_link("Tokens").await;
    b.wait("#no-new-tokens", 10).await;
    b.assert_absent("#create-token").await;
    // What the page does not offer, the server refuses.
    let start = app
        .http
        .post(app.url(&format!("/api/v1/deployments/{}/start", sites[0].id)))
        .bearer_auth(&viewer_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status().as_u16(), 403);

    // A change the page offered before the user was demoted: the server's 403 is shown.
    sign_out(&b).await;
    sign_in(&b, &ops_secret, "ops · operator").await;
    b.click_link("Cloud-configs").await;
    b.click("#new-cloud-config").await;
    // A new cloud-config names no image: which images the hosts have is the operator's to say.
    assert_eq!(b.value("#cc-image").await, "", "a new cloud-config's image starts empty");
    let users: Vec<User> = app.list("/api/v1/users").await;
    let ops = users.iter().find(|u| u.name == "ops").expect("ops is listed");
    let demoted: User =
        expect_json(app.patch(&format!("/api/v1/users/{}", ops.id), &json!({ "role": "viewer" })).await, 200)
            .await;
    assert_eq!(demoted.role.as_str(), "viewer");
    b.fill("#cc-namespace", "Web").await;
    b.fill("#cc-name", "Site").await;
    b.fill("#cc-image", "debian-cloudinit").await;
    b.click("#save-cloud-config").await;
    b.wait_text(".banner.error", "needs the operator role", 10).await;
    // The refusal makes the app ask what the token may do now: it stops offering the change,
    // and the server's words stay on the page.
    b.wait_text("#whoami", "ops · viewer", 10).await;
    b.wait_gone("#new-cloud-config", 10).await;
    b.wait("#cc-read-only", 5).await;
    b.assert_absent("#save-cloud-config").await;
    b.wait_text(".banner.error", "needs the operator role", 1).await;
    b.screenshot("r05-refused").await;

    // The admin's view: the user's tokens; revoke the viewer token, promote, disable, enable.
    sign_out(&b).await;
    sign_in(&b, &app.token, "admin · admin").await;
    b.click_link("Users").await;
    b.click("tr[data-user=ops] .show-tokens").await;
    b.wait("#user-tokens tr[data-token=read-only]", 10).await;
    b.wait("#user-tokens tr[data-token='first token']", 5).await;
    b.screenshot("r06-user-tokens").await;
    b.click("#user-tokens tr[data-token=read-only] .revoke").await;
    b.wait_gone("#user-tokens tr[data-token=read-only]", 10).await;
    assert_eq!(me_status(&app, &viewer_secret).await, 401);
    assert_eq!(me_status(&app, &ops_secret).await, 200);

    b.select("tr[data-user=ops] select.role", "operator").await;
    mosaic_testkit::eventually(std::time::Duration::from_secs(10), "ops to be an operator again", || async {
        let users: Vec<User> = app.list("/api/v1/users").await;
        users.iter().any(|u| u.name == "ops" && u.role.as_str() == "operator").then_some(())
    })
    .await;
    b.click("tr[data-user=ops] .toggle").await;
    b.wait_text("tr[data-user=ops] td.state", "disabled since", 10).await;
    assert_eq!(me_status(&app, &ops_secret).await, 401);
    b.screenshot("r07-user-disabled").await;
    b.click("tr[data-user=ops] .toggle").await;
    b.wait_text("tr[data-user=ops] td.state", "enabled", 10).await;
    assert_eq!(me_status(&app, &ops_secret).await, 200);

    // More deployments than a page: the overview shows the first page and "More" for the rest,
    // and searching asks the server (the two sites come after the others by name).
    for n in 0..mosaic_types::page::DEFAULT_LIMIT {
        let made = app.post("/api/v1/deployments", &json!({ "name": format!("Many{n:03}") })).await;
        assert_eq!(made.status().as_u16(), 201);
    }
    let cards = |b: &Browser| {
        let client = b.client.clone();
        async move { client.find_all(fantoccini::Locator::Css(".card")).await.unwrap().len() }
    };
    b.click_link("Deployments").await;
    b.wait_text(".card .name", "Many099", 10).await;
    assert_eq!(cards(&b).await, 100, "one page");
    b.click("#more-deployments").await;
    b.wait_text(".card .name", "Site_B", 10).await;
    assert_eq!(cards(&b).await, 102);
    b.wait_gone("#more-deployments", 5).await;
    b.fill("#deployment-search", "site_").await;
    mosaic_testkit::eventually(std::time::Duration::from_secs(10), "only the sites to be shown", || async {
        (cards(&b).await == 2).then_some(())
    })
    .await;
    b.wait_text(".card .name", "Site_A", 5).await;
    b.screenshot("r08-deployments-searched").await;
}
