//! killswitch as a flag service: OpenFeature's Remote Evaluation Protocol
//! (OFREP v1) over HTTP/1.1, answered from a live [`Store`].
//!
//! - `POST /ofrep/v1/evaluate/flags/{key}`: one flag for a context.
//! - `POST /ofrep/v1/evaluate/flags`: every flag, with an `ETag`; a
//!   request whose `If-None-Match` names it gets `304 Not Modified`.
//! - `GET /ofrep/v1/configuration`: OFREP's provider configuration (name,
//!   polling with its shortest interval, supported types), behind the same
//!   tokens as the evaluations.
//! - `GET /healthz` (the process serves), `GET /readyz` (503 until a config
//!   is loaded), `GET /metrics` (Prometheus text).
//! - With [`Server::dashboard`]: the flag dashboard's pages under
//!   `/dashboard` and its JSON under `/api/v1` (see [`dashboard`]).
//!
//! A killed or disabled flag is a successful evaluation: `200`, `"value":
//! false`, `"variant": "off"`, reason `DISABLED`. An error would make an
//! OpenFeature SDK hand the application its own default value, which may
//! be `true`.
//!
//! Each connection is served by hyper with a header read timeout (which
//! also closes idle keep-alive connections) and a head size limit; bodies
//! are read within a size limit and a timeout; the number of open
//! connections is bounded (more wait in the listen queue); shutdown stops
//! accepting, lets requests in flight finish for a bounded time, and
//! returns.
//!
//! ```no_run
//! use killswitch::store::{FileSource, Store};
//! use killswitch_server::{Metrics, Server};
//! use std::sync::Arc;
//!
//! let metrics = Metrics::new();
//! let observer = metrics.clone();
//! let store = Store::builder(FileSource::new("flags.json"))
//!     .on_event(move |event| observer.observe(event))
//!     .start()?;
//! Server::new(Arc::new(store))
//!     .metrics(metrics)
//!     .run("127.0.0.1:8016".parse()?, |addr| eprintln!("listening on {addr}"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod auth;
mod cors;
pub mod dashboard;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod ofrep;
mod routes;

pub use auth::Tokens;
pub use metrics::Metrics;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use killswitch::store::Store;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The address `killswitch serve` listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8016";

/// An OFREP service over a [`Store`], configured with its limits; run it
/// with [`Server::serve`] (async, on a listener of yours) or
/// [`Server::run`] (its own runtime, until SIGTERM or Ctrl-C).
#[derive(Debug)]
#[must_use = "a server does nothing until it is served"]
pub struct Server {
    store: Arc<Store>,
    metrics: Metrics,
    tokens: Option<Tokens>,
    cors: cors::Cors,
    dashboard: Option<dashboard::Dashboard>,
    max_body_bytes: usize,
    max_header_bytes: usize,
    max_nesting_depth: usize,
    max_connections: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    shutdown_grace: Duration,
}

impl Server {
    /// A server answering from `store`, with the default limits.
    pub fn new(store: Arc<Store>) -> Server {
        Server {
            store,
            metrics: Metrics::new(),
            tokens: None,
            cors: cors::Cors::default(),
            dashboard: None,
            max_body_bytes: 64 * 1024,
            max_header_bytes: 16 * 1024,
            max_nesting_depth: killswitch::Limits::default().max_nesting_depth,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// The metrics to count into and show at `/metrics` (default: new
    /// ones). Pass the ones the store's listener feeds
    /// ([`Metrics::observe`]) to count reloads too.
    pub fn metrics(mut self, metrics: Metrics) -> Server {
        self.metrics = metrics;
        self
    }

    /// Requires `Authorization: Bearer <token>` with one of `tokens` on
    /// every OFREP request (401 otherwise). The probes and `/metrics` stay
    /// open.
    pub fn tokens(mut self, tokens: Tokens) -> Server {
        self.tokens = Some(tokens);
        self
    }

    /// Lets browsers on `origin` call the OFREP routes (CORS); `*` lets
    /// any origin. Repeatable; off unless given. Never on the dashboard.
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Server {
        self.cors.origins.push(origin.into());
        self
    }

    /// Serves the flag dashboard (pages under `/dashboard`, JSON under
    /// `/api/v1`) with these settings; off unless given.
    pub fn dashboard(mut self, dashboard: dashboard::Dashboard) -> Server {
        self.dashboard = Some(dashboard);
        self
    }

    /// The largest request body read, in bytes (default 64 KiB). A larger
    /// one gets 413 and the connection is closed, the rest unread.
    pub fn max_body_bytes(mut self, bytes: usize) -> Server {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest request head (request line and headers), in bytes
    /// (default 16 KiB); a larger one gets 431.
    pub fn max_header_bytes(mut self, bytes: usize) -> Server {
        self.max_header_bytes = bytes;
        self
    }

    /// How deeply the request's JSON may nest, counting the body's own
    /// object (default [`Limits::default`](killswitch::Limits)'s
    /// `max_nesting_depth`, 32); deeper is a 400 `INVALID_CONTEXT`, found
    /// before parsing.
    pub fn max_nesting_depth(mut self, depth: usize) -> Server {
        self.max_nesting_depth = depth;
        self
    }

    /// How many connections are served at once (default 1024); more wait
    /// in the listen queue until one closes. At least 1.
    pub fn max_connections(mut self, connections: usize) -> Server {
        self.max_connections = connections.max(1);
        self
    }

    /// How long a client has to send a request head (default 10 s), and
    /// how long a keep-alive connection may stay idle: a client that
    /// trickles its headers is dropped when it runs out.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Server {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a client has to send a request body once its head is in
    /// (default 10 s); then it gets 408 and the connection is closed.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Server {
        self.body_read_timeout = timeout;
        self
    }

    /// How long shutdown waits for requests in flight (default 10 s);
    /// connections still open then are dropped.
    pub fn shutdown_grace(mut self, grace: Duration) -> Server {
        self.shutdown_grace = grace;
        self
    }

    /// Serves connections from `listener` until `shutdown` completes; then
    /// stops accepting, closes idle connections, waits up to the
    /// [grace](Server::shutdown_grace) for requests in flight, and
    /// returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
        let dashboard = self.dashboard.map(|settings| {
            Arc::new(dashboard::Dash::new(
                settings,
                Arc::clone(&self.store),
                (
                    self.max_body_bytes,
                    self.body_read_timeout,
                    self.max_nesting_depth,
                ),
                stopping_rx,
            ))
        });
        let app = Arc::new(routes::App {
            store: self.store,
            metrics: self.metrics,
            tokens: self.tokens,
            max_body_bytes: self.max_body_bytes,
            body_read_timeout: self.body_read_timeout,
            max_nesting_depth: self.max_nesting_depth,
        });
        let router = match dashboard {
            Some(dash) => dashboard::router(dash).merge(routes::router(app)),
            None => routes::router(app),
        };
        let router = if self.cors.origins.is_empty() {
            router
        } else {
            let cors = Arc::new(self.cors);
            router.layer(axum::middleware::from_fn_with_state(cors, cors::layer))
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_header_size(self.max_header_bytes);
        let graceful = GracefulShutdown::new();
        let permits = Arc::new(Semaphore::new(self.max_connections));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let stream = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    // Out of file descriptors, or a connection reset
                    // before it was accepted: wait a little, go on.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
        }
        drop(listener);
        // Event streams end, so that their connections can close.
        let _ = stopping.send(true);
        let _ = tokio::time::timeout(self.shutdown_grace, graceful.shutdown()).await;
        Ok(())
    }

    /// Binds `addr`, calls `on_listening` with the address bound (port 0
    /// picks a free one), and serves on a runtime of its own until SIGTERM
    /// or Ctrl-C, then shuts down gracefully and returns. On Unix, SIGHUP
    /// reloads at once: the config from its source, and the token file of
    /// tokens made by [`Tokens::watch_file`]; each outcome is one line on
    /// stderr (never a token).
    pub fn run(self, addr: SocketAddr, on_listening: impl FnOnce(SocketAddr)) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("killswitch-serve")
            .build()?;
        runtime.block_on(async move {
            // Handlers first, so that a signal sent as soon as the address
            // is announced is not the default one (which kills).
            let signals = shutdown_signal()?;
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let hangups = signal(SignalKind::hangup())?;
                let mut tokens: Vec<(&'static str, Tokens)> = Vec::new();
                tokens.extend(self.tokens.clone().map(|t| ("token file", t)));
                tokens.extend(
                    self.dashboard
                        .iter()
                        .flat_map(dashboard::Dashboard::token_sets),
                );
                tokio::spawn(reload_on_hangup(hangups, Arc::clone(&self.store), tokens));
            }
            let listener = TcpListener::bind(addr).await?;
            on_listening(listener.local_addr()?);
            self.serve(listener, signals).await
        })
    }
}

/// Reloads the config and the token file on every SIGHUP, for as long as
/// the runtime runs. The store's reload reads the source (a file, a
/// database) and blocks, so it runs on a blocking thread.
#[cfg(unix)]
async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    store: Arc<killswitch::store::Store>,
    tokens: Vec<(&'static str, Tokens)>,
) {
    while hangups.recv().await.is_some() {
        let store = Arc::clone(&store);
        let tokens = tokens.clone();
        let done = tokio::task::spawn_blocking(move || {
            match store.reload() {
                Ok(killswitch::store::Reload::Applied { version }) => {
                    eprintln!("serve: SIGHUP: config reloaded, version {version}");
                }
                Ok(reload) => eprintln!(
                    "serve: SIGHUP: config unchanged, version {}",
                    reload.version()
                ),
                Err(e) => eprintln!(
                    "serve: SIGHUP: config not reloaded, the last good version keeps serving: {e}"
                ),
            }
            for (what, tokens) in &tokens {
                match tokens.reload() {
                    Ok(Some(count)) => eprintln!("serve: SIGHUP: {what} reloaded: {count} tokens"),
                    // io::Error texts name the path or the OS error, never
                    // the file's content.
                    Err(e) => eprintln!(
                        "serve: SIGHUP: {what} not reloaded, keeping the last good tokens: {e}"
                    ),
                    // Tokens from the environment: nothing to reload.
                    Ok(None) => {}
                }
            }
        })
        .await;
        if done.is_err() {
            eprintln!("serve: SIGHUP: the reload did not finish");
        }
    }
}

/// Installs handlers for SIGTERM and SIGINT (Ctrl-C) at once, and returns
/// a future that completes on either; on other systems, on Ctrl-C. Call it
/// inside a Tokio runtime.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
