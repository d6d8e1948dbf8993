//! `mosaic`: runs the API server with settings from `MOSAIC_*` environment variables.

use anyhow::Context;
use mosaic_api::config::Settings;
use mosaic_api::startup::Application;
use mosaic_api::telemetry;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env().context("Failed to read settings")?;
    telemetry::init(settings.log_format);
    let app = Application::build(&settings).await.context("Failed to start Mosaic")?;
    tracing::info!(address = %app.address(), "Mosaic is listening");
    app.run_until_stopped().await.context("Mosaic stopped with an error")
}
