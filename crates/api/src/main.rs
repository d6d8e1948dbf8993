//! `mosaic`: runs the API server (`mosaic`), or prints its OpenAPI document (`mosaic openapi`).

use anyhow::Context;
use mosaic_api::config::Settings;
use mosaic_api::startup::Application;
use mosaic_api::{openapi, telemetry};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        println!("{}", openapi::document().to_pretty_json().context("Failed to render the document")?);
        return Ok(());
    }
    let settings = Settings::load().context("Failed to read settings")?;
    telemetry::init(settings.log_format);
    let app = Application::build(settings).await.context("Failed to start Mosaic")?;
    if let Some(token) = app.initial_admin_token() {
        println!("Mosaic created the first admin. Its API token, shown only this once:\n\n    {token}\n");
    }
    tracing::info!(address = %app.address(), metrics = %app.metrics_address(), "Mosaic is listening");
    app.run_until_stopped().await.context("Mosaic stopped with an error")
}
