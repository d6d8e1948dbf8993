//! Building and running the HTTP server; shared by `main` and the tests.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::config::Settings;
use crate::routes;

/// A bound, ready-to-run server.
pub struct Application {
    address: SocketAddr,
    server: Server,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds the server without running it.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("Failed to bind {}", settings.listen))?;
        let address = listener.local_addr().context("Failed to read the bound address")?;
        let server = HttpServer::new(|| App::new().service(web::scope("/api").configure(routes::configure)))
            .listen(listener)
            .context("Failed to listen")?
            .run();
        Ok(Application { address, server })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
