//! Building and running the server; shared by `main` and the tests.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use diesel::Connection;
use mosaic_db::models::tokens::{ApiToken, NewApiToken};
use mosaic_db::models::users::{NewUser, User};
use mosaic_types::{TokenId, UserId};
use secrecy::ExposeSecret;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

use crate::audit::{self, OperationNames};
use crate::auth;
use crate::cache::HostCache;
use crate::config::Settings;
use crate::embedded_pg::EmbeddedPostgres;
use crate::error;
use crate::hosts::HostClients;
use crate::identity;
use crate::jobs::{JobSignals, runner};
use crate::openapi;
use crate::routes::{self, fallback::KnownPaths};
use crate::state::AppState;

/// Largest JSON body accepted: cloud-configs are the biggest bodies, and LXD itself caps
/// `user.*` values well below this.
const MAX_JSON_BYTES: usize = 512 * 1024;

/// A bound, ready-to-run server.
pub struct Application {
    address: SocketAddr,
    server: Server,
    state: AppState,
    initial_admin_token: Option<String>,
    background: Vec<tokio::task::JoinHandle<()>>,
    // Declared last: dropped after the server, so PostgreSQL outlives every connection.
    _postgres: Option<EmbeddedPostgres>,
}

impl Application {
    /// Connects to (or starts) PostgreSQL, migrates, creates the first admin on an empty database,
    /// loads or generates Mosaic's LXD client certificate, and binds the listener (port 0 picks a
    /// free port). The server does not run until [`Application::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let blocking = settings.clone();
        let (postgres, pool, initial_admin_token) =
            tokio::task::spawn_blocking(move || prepare_database(&blocking))
                .await
                .context("Database setup panicked")??;
        let identity = identity::load_or_create(&settings.data_dir)?;
        if let Some(socket) = &settings.local_lxd_socket {
            register_local_lxd(&pool, socket).await;
        }

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("Failed to bind {}", settings.listen))?;
        let address = listener.local_addr().context("Failed to read the bound address")?;
        let state = AppState {
            pool,
            settings: settings.clone(),
            identity: Arc::new(identity),
            hosts: Arc::new(HostClients::default()),
            limiter: Arc::new(lxd::HostLimiter::new(settings.jobs.per_host_concurrency)),
            jobs: Arc::new(JobSignals::default()),
            cache: Arc::new(HostCache::default()),
            overview: Arc::default(),
            image_facts: Arc::default(),
            worker: worker_name(address).into(),
            address,
        };
        let background = vec![
            tokio::spawn(state.cache.clone().run(state.clone(), settings.jobs.cache_interval)),
            tokio::spawn(runner::run(state.clone())),
        ];
        let api = openapi::document();
        let names = web::Data::new(OperationNames::from_openapi(&api));
        let known = web::Data::new(KnownPaths::from_openapi(&api));
        let data = web::Data::new(state.clone());
        let frontend = settings.frontend_dir.clone();

        let server = HttpServer::new(move || {
            // The docs go first: actix hands a request to the first scope whose prefix matches,
            // and `/api` would otherwise swallow `/api/docs` and `/api/openapi.json`.
            let (app, _) = App::new()
                .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", api.clone()))
                .service(web::redirect("/api/docs", "/api/docs/"))
                .into_utoipa_app()
                .service(scope("/api").configure(routes::configure))
                .split_for_parts();
            app.app_data(data.clone())
                .app_data(names.clone())
                .app_data(known.clone())
                .app_data(web::JsonConfig::default().limit(MAX_JSON_BYTES).error_handler(error::json_error))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .wrap(from_fn(audit::record))
                .configure(|cfg| routes::fallback::frontend(cfg, &frontend))
                .default_service(web::to(routes::fallback::not_found))
        })
        .listen(listener)
        .context("Failed to listen")?
        .run();
        Ok(Application { address, server, state, initial_admin_token, background, _postgres: postgres })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The first admin's token if this start created it with a random secret (shown once).
    pub fn initial_admin_token(&self) -> Option<&str> {
        self.initial_admin_token.as_deref()
    }

    /// A handle to stop the server.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The shared state (tests use its pool to look behind the API).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM), then stops the embedded
    /// PostgreSQL if Mosaic started one.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application { server, background, _postgres, .. } = self;
        let result = server.await;
        for task in background {
            task.abort();
        }
        drop(_postgres);
        result
    }
}

/// Registers the local LXD daemon as host `local` when its socket answers and no host uses it.
/// Start-up goes on without it otherwise: a missing local daemon is normal.
async fn register_local_lxd(pool: &mosaic_db::DbPool, socket: &std::path::Path) {
    use mosaic_db::models::hosts::{Host, NewHost};
    let Some(path) = socket.to_str().map(str::to_owned) else { return };
    let answered = match lxd::Client::unix(socket) {
        Ok(client) => client.server().await,
        Err(e) => Err(e),
    };
    if let Err(e) = answered {
        tracing::info!(socket = %path, error = %e, "no local LXD daemon answers; not registering one");
        return;
    }
    let stored = crate::db::run(pool, move |conn| {
        let known = Host::all(conn)?
            .into_iter()
            .any(|h| h.socket_path.as_deref() == Some(path.as_str()) || h.name == "local");
        if !known {
            let new = NewHost {
                id: mosaic_types::HostId::new(),
                name: "local",
                transport: "unix",
                url: None,
                fingerprint: None,
                socket_path: Some(&path),
            };
            Host::create(conn, &new)?;
        }
        Ok(!known)
    })
    .await;
    match stored {
        Ok(true) => {
            tracing::info!(socket = %socket.display(), "registered the local LXD daemon as host `local`")
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = ?e, "could not register the local LXD daemon"),
    }
}

/// This process's name in `jobs.claimed_by`: unique across processes and restarts.
fn worker_name(address: SocketAddr) -> String {
    format!("{}:{}/{}", address, std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

type Prepared = (Option<EmbeddedPostgres>, mosaic_db::DbPool, Option<String>);

fn prepare_database(settings: &Settings) -> anyhow::Result<Prepared> {
    let (postgres, url) = match &settings.database_url {
        Some(url) => (None, url.expose_secret().to_owned()),
        None => {
            let pg =
                EmbeddedPostgres::start(&settings.data_dir.join("postgres"), settings.pg_bin_dir.as_deref())?;
            let url = pg.url().to_owned();
            (Some(pg), url)
        }
    };
    let pool = mosaic_db::pool(&url, settings.db_pool_size)?;
    let mut conn = pool.get().context("Failed to get a database connection")?;
    mosaic_db::migrate(&mut conn)?;
    let token = bootstrap_admin(&mut conn, settings)?;
    Ok((postgres, pool, token))
}

/// On an empty database, creates the `admin` user with a token: the configured one, or a random
/// one returned for printing once.
fn bootstrap_admin(conn: &mut diesel::PgConnection, settings: &Settings) -> anyhow::Result<Option<String>> {
    if User::count(conn)? > 0 {
        return Ok(None);
    }
    let configured = settings.admin_token.as_ref().map(|t| t.expose_secret().to_owned());
    let secret = match &configured {
        Some(t) => t.clone(),
        None => auth::new_secret()?,
    };
    let created = conn.transaction(|conn| {
        let user = User::create(conn, &NewUser { id: UserId::new(), name: "admin", is_admin: true })?;
        let hash = auth::hash_secret(&secret);
        ApiToken::create(
            conn,
            &NewApiToken {
                id: TokenId::new(),
                user_id: user.id,
                name: "initial admin token",
                token_hash: &hash,
            },
        )?;
        Ok::<_, diesel::result::Error>(())
    });
    match created {
        Ok(()) => Ok(if configured.is_some() { None } else { Some(secret) }),
        // Another server process sharing the database created the admin first.
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(None)
        }
        Err(e) => Err(e).context("Failed to create the first admin"),
    }
}
