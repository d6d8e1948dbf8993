use mosaic_api::config::Settings;
use mosaic_api::startup::Application;

#[tokio::test]
async fn health_answers_ok() {
    let settings = Settings { listen: "127.0.0.1:0".parse().expect("address"), ..Settings::default() };
    let app = Application::build(&settings).await.expect("server builds");
    let address = app.address();
    tokio::spawn(app.run_until_stopped());

    let response =
        mosaic_testkit::http().get(format!("http://{address}/api/health")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(body["status"], "ok");
}
