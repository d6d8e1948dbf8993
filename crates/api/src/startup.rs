//! Building and running the server; shared by `main` and the tests.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header::ContentType;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use diesel::Connection;
use mosaic_db::models::tokens::{ApiToken, NewApiToken};
use mosaic_db::models::users::{NewUser, User};
use mosaic_types::hosts::HostTransport;
use mosaic_types::users::Role;
use mosaic_types::{TokenId, UserId};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::audit::{self, OperationNames};
use crate::auth;
use crate::cache::HostCache;
use crate::config::Settings;
use crate::embedded_pg::EmbeddedPostgres;
use crate::error;
use crate::hosts::HostClients;
use crate::identity;
use crate::jobs::{JobSignals, runner};
use crate::metrics::{self, Metrics};
use crate::openapi;
use crate::overview_memo;
use crate::routes::{self, fallback::KnownPaths};
use crate::state::AppState;

/// Largest JSON body accepted: cloud-configs are the biggest bodies, and LXD itself caps
/// `user.*` values well below this.
pub const MAX_JSON_BYTES: usize = 512 * 1024;

/// A bound, ready-to-run server.
pub struct Application {
    address: SocketAddr,
    metrics_address: SocketAddr,
    server: Server,
    phone_home: Server,
    metrics: Server,
    state: AppState,
    initial_admin_token: Option<String>,
    background: Vec<tokio::task::JoinHandle<()>>,
    shutdown: CancellationToken,
    jobs: TaskTracker,
    // Declared last: dropped after the server, so PostgreSQL outlives every connection.
    _postgres: Option<EmbeddedPostgres>,
}

impl Application {
    /// Connects to (or starts) PostgreSQL, migrates, creates the first admin on an empty database,
    /// loads or generates Mosaic's LXD client certificate, and binds the listeners (port 0 picks a
    /// free port). The server does not run until [`Application::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let blocking = settings.clone();
        let prepared = tokio::task::spawn_blocking(move || prepare_database(&blocking))
            .await
            .context("Database setup panicked")??;
        let identity = identity::load_or_create(&settings.data_dir)?;
        if let Some(socket) = &settings.local_lxd_socket {
            register_local_lxd(&prepared.pool, socket).await;
        }

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("Failed to bind {}", settings.listen))?;
        let address = listener.local_addr().context("Failed to read the bound address")?;
        let phone_home_listener = TcpListener::bind(settings.phone_home_listen).with_context(|| {
            format!("Failed to bind the phone-home listener {}", settings.phone_home_listen)
        })?;
        let phone_home_address =
            phone_home_listener.local_addr().context("Failed to read the phone-home address")?;
        let metrics_listener = TcpListener::bind(settings.metrics_listen)
            .with_context(|| format!("Failed to bind the metrics listener {}", settings.metrics_listen))?;
        let metrics_address = metrics_listener.local_addr().context("Failed to read the metrics address")?;
        let metrics = Arc::new(Metrics::default());
        let state = AppState {
            pool: prepared.pool,
            control_pool: prepared.control_pool,
            settings: settings.clone(),
            identity: Arc::new(identity),
            hosts: Arc::new(HostClients::observed(metrics.clone())),
            limiter: Arc::new(lxd::HostLimiter::new(settings.per_host_concurrency)),
            jobs: Arc::new(JobSignals::default()),
            cache: Arc::new(HostCache::default()),
            overview: Arc::default(),
            image_facts: Arc::default(),
            streams: Arc::default(),
            metrics,
            worker: worker_name(address).into(),
            routing: Arc::new(crate::routing::Routing::new(&settings)),
            phone_home_address,
        };
        // The load balancer's servers in the metrics, from whichever HAProxy the reconciler holds.
        state.metrics.register_backends(Arc::new(crate::routing::RoutingBackends(state.routing.clone())));
        let shutdown = CancellationToken::new();
        let jobs = TaskTracker::new();
        let background = vec![
            tokio::spawn(state.cache.clone().run(state.clone(), settings.cache_interval)),
            tokio::spawn(state.cache.clone().follow_hosts(state.clone(), settings.cache_interval)),
            tokio::spawn(runner::run(state.clone(), shutdown.clone(), jobs.clone())),
            tokio::spawn(crate::routing::reconciler::run(state.clone())),
        ];
        let api = openapi::document();
        let names = web::Data::new(OperationNames::from_openapi(&api));
        let known = web::Data::new(KnownPaths::from_openapi(&api));
        // Rendered once and shared by every worker: the document as a structure is several
        // times larger than its JSON, and a copy per worker was most of the idle heap.
        let api_json =
            web::Bytes::from(serde_json::to_vec(&api).context("Failed to render the OpenAPI document")?);
        drop(api);
        let data = web::Data::new(state.clone());
        let frontend = settings.frontend_dir.clone();
        let csp = web::Data::new(routes::web_app::ContentSecurityPolicy::for_app(&frontend));

        let server = HttpServer::new({
            let data = data.clone();
            move || {
                // The docs go first: actix hands a request to the first scope whose prefix matches,
                // and `/api` would otherwise swallow `/api/docs` and `/api/openapi.json`.
                let api_json = api_json.clone();
                let (app, _) = App::new()
                    .service(
                        SwaggerUi::new("/api/docs/{_:.*}").config(SwaggerConfig::from("/api/openapi.json")),
                    )
                    .route(
                        "/api/openapi.json",
                        web::get().to(move || {
                            let body = api_json.clone();
                            async move { HttpResponse::Ok().content_type(ContentType::json()).body(body) }
                        }),
                    )
                    .service(web::redirect("/api/docs", "/api/docs/"))
                    .into_utoipa_app()
                    .service(scope("/api").configure(routes::configure))
                    .split_for_parts();
                with_error_handlers(app.app_data(data.clone()))
                    .app_data(csp.clone())
                    .app_data(names.clone())
                    .app_data(known.clone())
                    .wrap(from_fn(error::json_objects_only))
                    .wrap(from_fn(overview_memo::count_writes))
                    .wrap(from_fn(audit::record))
                    .wrap(from_fn(routes::web_app::security_headers))
                    .wrap(from_fn(metrics::http::record))
                    .configure(|cfg| routes::web_app::frontend(cfg, &frontend))
                    .default_service(web::to(routes::fallback::not_found))
            }
        })
        .disable_signals()
        // One worker thread: handlers hand their database work to the blocking pool and LXD work
        // to the runtime, so a worker only parses, routes and serialises — thousands of requests
        // a second on one core. Each worker builds its own App, and with it the whole OpenAPI
        // description of the routes (utoipa-actix-web collects it as services register): ~3 MiB
        // per worker that the allocator keeps, the largest part of an idle server's heap.
        .workers(1)
        // Longer than clients keep idle connections (browsers and HTTP libraries: 5-60 s), so a
        // client never sends on a connection the server is closing at that moment (actix's 5 s
        // default raced reqwest's pool in the load benchmark: one failed request per run).
        .keep_alive(std::time::Duration::from_secs(75))
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)
        .context("Failed to listen")?
        .run();
        let metrics_data = data.clone();
        // Phone-home on a listener of its own: the containers' proxies lead here, and here is
        // nothing but phone-home.
        let phone_home = HttpServer::new(move || {
            with_error_handlers(App::new().app_data(data.clone()))
                .service(web::scope("/api").service(routes::phone_home::phone_home))
                .default_service(web::to(routes::fallback::plain_not_found))
        })
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .workers(1)
        .listen(phone_home_listener)
        .context("Failed to listen for phone-home")?
        .run();
        // Metrics on a listener of their own: no token, so only reachable where it is bound.
        let metrics = HttpServer::new(move || {
            App::new()
                .app_data(metrics_data.clone())
                .route("/metrics", web::get().to(metrics::http::scrape))
                .default_service(web::to(routes::fallback::plain_not_found))
        })
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .workers(1)
        .listen(metrics_listener)
        .context("Failed to listen for metrics")?
        .run();
        Ok(Application {
            address,
            metrics_address,
            server,
            phone_home,
            metrics,
            state,
            initial_admin_token: prepared.admin_token,
            background,
            shutdown,
            jobs,
            _postgres: prepared.postgres,
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The first admin's token if this start created it with a random secret (shown once).
    pub fn initial_admin_token(&self) -> Option<&str> {
        self.initial_admin_token.as_deref()
    }

    /// The address of the metrics listener (`GET /metrics`).
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics_address
    }

    /// A handle to stop the server.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The shared state (tests use its pool to look behind the API).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT (or the server handle stops it), then shuts down in order:
    /// no new job is claimed, running job steps get the grace period and their jobs go back to
    /// the queue for another server, the listeners finish their requests, and the embedded
    /// PostgreSQL (if Mosaic started one) stops last.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application { server, phone_home, metrics, background, shutdown, jobs, _postgres, .. } = self;
        let (api, phone, scrape) = (server.handle(), phone_home.handle(), metrics.handle());
        let phone_home = tokio::spawn(phone_home);
        let metrics = tokio::spawn(metrics);
        let mut server = tokio::spawn(server);
        let result = tokio::select! {
            result = &mut server => Some(result),
            () = stop_signal() => None,
        };
        tracing::info!("stopping: no new jobs are claimed; running ones wind down");
        shutdown.cancel();
        jobs.close();
        let settings_grace = jobs.wait();
        let stopped = async {
            // The API keeps answering (job progress, reads) while jobs wind down.
            settings_grace.await;
            api.stop(true).await;
            phone.stop(true).await;
            scrape.stop(true).await;
        };
        stopped.await;
        for task in background {
            task.abort();
        }
        let _ = phone_home.await;
        let _ = metrics.await;
        let result = match result {
            Some(result) => result,
            None => server.await,
        };
        drop(_postgres);
        result.map_err(std::io::Error::other)?
    }
}

/// Longest the listeners wait for open requests (event streams among them) when stopping.
const SHUTDOWN_TIMEOUT_SECS: u64 = 5;

/// SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot listen for SIGTERM/SIGINT; stop Mosaic with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The extractor error handlers every listener uses, so bad input is answered in the envelope.
fn with_error_handlers<T>(app: App<T>) -> App<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    app.app_data(web::JsonConfig::default().limit(MAX_JSON_BYTES).error_handler(error::json_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
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
                transport: HostTransport::Unix,
                url: None,
                fingerprint: None,
                socket_path: Some(&path),
                project: "default",
                member_urls: Vec::new(),
            };
            Host::create(conn, &new)?;
        }
        Ok::<_, crate::db::Error>(!known)
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

/// What start-up prepares in the database before anything listens.
struct Prepared {
    postgres: Option<EmbeddedPostgres>,
    pool: mosaic_db::DbPool,
    control_pool: mosaic_db::DbPool,
    admin_token: Option<String>,
}

/// Connections of the job runner's own pool: its claims and each running job's heartbeat.
const CONTROL_POOL_SIZE: u32 = 2;

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
    let control_pool = mosaic_db::pool(&url, CONTROL_POOL_SIZE)?;
    let mut conn = pool.get().context("Failed to get a database connection")?;
    mosaic_db::migrate(&mut conn)?;
    let admin_token = bootstrap_admin(&mut conn, settings)?;
    Ok(Prepared { postgres, pool, control_pool, admin_token })
}

/// On an empty database, creates the `admin` user with a token: the configured one, or a random
/// one returned for printing once.
fn bootstrap_admin(conn: &mut diesel::PgConnection, settings: &Settings) -> anyhow::Result<Option<String>> {
    if User::count(conn)? > 0 {
        return Ok(None);
    }
    let configured = settings.admin_token.as_ref().map(|t| t.expose_secret().to_owned());
    if let Some(token) = &configured
        && token.chars().count() < auth::MIN_SECRET_LEN
    {
        anyhow::bail!(
            "MOSAIC_ADMIN_TOKEN is {} characters long; a token must have at least {} to be a secret \
             (leave it unset and Mosaic makes a random one)",
            token.chars().count(),
            auth::MIN_SECRET_LEN
        );
    }
    let secret = match &configured {
        Some(t) => t.clone(),
        None => auth::new_secret()?,
    };
    let created = conn.transaction(|conn| {
        let user = User::create(conn, &NewUser { id: UserId::new(), name: "admin", role: Role::Admin })?;
        let hash = auth::hash_secret(&secret);
        ApiToken::create(
            conn,
            &NewApiToken {
                id: TokenId::new(),
                user_id: user.id,
                name: "initial admin token",
                token_hash: &hash,
                role: None,
                deployments: None,
                expires_at: None,
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
