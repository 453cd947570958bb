//! The flag dashboard: pages under `/dashboard` for people, and the
//! read-only JSON endpoints under `/api/v1` they are built on (which a
//! script or a chat bot may use too), plus the actions (kill, un-kill,
//! rollout, rollback) when the source is versioned ([`Versions`]) and the
//! caller holds an admin token.
//!
//! The pages are rendered on the server (`html.rs`); a small script
//! (`assets/dashboard.js`, embedded in the binary like the style sheet)
//! adds filtering as you type, a context builder and live updates from
//! `GET /api/v1/events` (server-sent events). Everything works without
//! the script, and nothing is loaded from elsewhere.
//!
//! ```
//! use killswitch::store::Store;
//! use killswitch_server::dashboard::{Dashboard, MemoryVersions};
//! use killswitch_server::{Server, Tokens};
//! use std::sync::Arc;
//!
//! let versions = MemoryVersions::new(r#"{"flag_key": "beta", "enabled": true}"#, "ana")?;
//! let store = Store::builder(versions.source()).start()?;
//! let server = Server::new(Arc::new(store)).dashboard(
//!     Dashboard::new()
//!         .read_tokens(Tokens::new(["read-secret"]))
//!         .admin_tokens(Tokens::new(["admin-secret"]))
//!         .versions(versions),
//! );
//! # drop(server);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod api;
mod forms;
mod html;
mod pages;
mod session;
mod versions;
mod view;

pub use versions::{
    Change, MemorySource, MemoryVersions, VersionInfo, VersionText, Versions, WriteError,
};

use crate::Tokens;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use killswitch::store::Store;
use session::{Gate, Role, Sessions};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The dashboard's settings: who may read, who may act, and where
/// actions are written. Give it to [`Server::dashboard`](crate::Server::dashboard).
///
/// Without read tokens, reads are open (the service listens on loopback
/// unless told otherwise); without admin tokens or without
/// [`Versions`], the dashboard is read-only.
#[must_use]
pub struct Dashboard {
    read: Option<Tokens>,
    admin: Option<Tokens>,
    versions: Option<Arc<dyn Versions>>,
    session_ttl: Duration,
    max_sessions: usize,
}

impl fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dashboard")
            .field("read", &self.read)
            .field("admin", &self.admin)
            .field("versions", &self.versions.is_some())
            .field("session_ttl", &self.session_ttl)
            .finish_non_exhaustive()
    }
}

impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard::new()
    }
}

impl Dashboard {
    /// A read-only dashboard, open to every caller.
    pub fn new() -> Dashboard {
        Dashboard {
            read: None,
            admin: None,
            versions: None,
            session_ttl: Duration::from_secs(12 * 3600),
            max_sessions: 1024,
        }
    }

    /// Requires one of `tokens` (or an admin token) to see anything: as
    /// `Authorization: Bearer <token>`, or logged in at `/dashboard/login`.
    pub fn read_tokens(mut self, tokens: Tokens) -> Dashboard {
        self.read = Some(tokens);
        self
    }

    /// The tokens that may act (and read). Every write needs one.
    pub fn admin_tokens(mut self, tokens: Tokens) -> Dashboard {
        self.admin = Some(tokens);
        self
    }

    /// The versioned source actions are written to. Without it (a plain
    /// file source) the dashboard is read-only.
    pub fn versions(self, versions: impl Versions) -> Dashboard {
        self.shared_versions(Arc::new(versions))
    }

    /// [`Dashboard::versions`], shared with other owners.
    pub fn shared_versions(mut self, versions: Arc<dyn Versions>) -> Dashboard {
        self.versions = Some(versions);
        self
    }

    /// The token sets, named as `serve` names their files in its log.
    pub(crate) fn token_sets(&self) -> Vec<(&'static str, Tokens)> {
        let mut sets = Vec::new();
        sets.extend(self.read.clone().map(|t| ("dashboard token file", t)));
        sets.extend(self.admin.clone().map(|t| ("admin token file", t)));
        sets
    }

    /// How long a browser session lasts (default 12 hours).
    pub fn session_ttl(mut self, ttl: Duration) -> Dashboard {
        self.session_ttl = ttl;
        self
    }
}

/// What the dashboard's handlers share.
pub(crate) struct Dash {
    pub(crate) store: Arc<Store>,
    pub(crate) gate: Gate,
    pub(crate) versions: Option<Arc<dyn Versions>>,
    pub(crate) session_ttl: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_nesting_depth: usize,
    /// Turns true when the server shuts down: event streams end.
    pub(crate) stopping: watch::Receiver<bool>,
}

impl Dash {
    pub(crate) fn new(
        settings: Dashboard,
        store: Arc<Store>,
        limits: (usize, Duration, usize),
        stopping: watch::Receiver<bool>,
    ) -> Dash {
        Dash {
            store,
            gate: Gate {
                read: settings.read,
                admin: settings.admin,
                sessions: Sessions::new(settings.session_ttl, settings.max_sessions),
            },
            versions: settings.versions,
            session_ttl: settings.session_ttl,
            max_body_bytes: limits.0,
            body_read_timeout: limits.1,
            max_nesting_depth: limits.2,
            stopping,
        }
    }

    /// Why `role` cannot act here, or `None` when it can.
    pub(crate) fn read_only_reason(&self, role: Role) -> Option<String> {
        if self.versions.is_none() {
            return Some(format!(
                "Read-only: this replica's source `{}` is not a versioned database (a plain file \
                 or an HTTP config). Actions need killswitch serve --source postgres://...",
                self.store.status().source
            ));
        }
        if self.gate.admin.is_none() {
            return Some(
                "Read-only: no admin token is configured (--admin-token-file).".to_string(),
            );
        }
        (role != Role::Admin).then(|| "Read-only: log in with an admin token to act.".to_string())
    }
}

/// The dashboard's routes.
pub(crate) fn router(dash: Arc<Dash>) -> Router {
    Router::new()
        // A person who opens the service's address finds the dashboard.
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(pages::flags))
        .route("/dashboard/", get(pages::flags))
        .route(
            "/dashboard/login",
            get(pages::login_form).post(pages::login),
        )
        .route("/dashboard/logout", post(pages::logout))
        .route("/dashboard/flags/{key}", get(pages::flag))
        .route("/dashboard/flags/{key}/try", post(pages::try_user))
        .route(
            "/dashboard/flags/{key}/kill",
            get(pages::confirm_kill).post(pages::kill),
        )
        .route(
            "/dashboard/flags/{key}/unkill",
            get(pages::confirm_unkill).post(pages::unkill),
        )
        .route("/dashboard/flags/{key}/rollout", post(pages::rollout))
        .route("/dashboard/history", get(pages::history))
        .route(
            "/dashboard/history/{version}/rollback",
            get(pages::confirm_rollback).post(pages::rollback),
        )
        .route("/dashboard/assets/{name}", get(asset))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/flags", get(api::flags))
        .route("/api/v1/flags/{key}", get(api::flag))
        .route("/api/v1/flags/{key}/kill", post(api::kill))
        .route("/api/v1/flags/{key}/rollout", post(api::rollout))
        .route("/api/v1/evaluate", post(api::evaluate))
        .route("/api/v1/history", get(api::history))
        .route("/api/v1/rollback", post(api::rollback))
        .route("/api/v1/events", get(api::events))
        .with_state(dash)
}

const CSS: &str = include_str!("assets/dashboard.css");
const JS: &str = include_str!("assets/dashboard.js");
const ICON: &str = include_str!("assets/favicon.svg");

/// `GET /dashboard/assets/{name}`: the embedded style sheet and script.
async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        "dashboard.js" => (JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut response = ([(CONTENT_TYPE, HeaderValue::from_static(kind))], body).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// An HTML answer with the dashboard's security headers: only its own
/// assets may load, no framing, no referrer to other sites, no caching.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    security_headers(&mut response);
    response
}

/// A JSON answer (no caching, no sniffing).
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|e| {
        format!("{{\"error\":\"internal\",\"message\":\"cannot write JSON: {e}\"}}").into_bytes()
    });
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    security_headers(&mut response);
    response
}

fn security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: with it, browsers send `Origin: null` on form
    // posts, and the same-origin check of writes needs the real origin.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// Runs a blocking call to the versioned source off the request threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WriteError> + Send + 'static,
) -> Result<T, WriteError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(WriteError::Unavailable(format!("the call failed: {e}"))))
}

/// The HTTP status of a refused write.
pub(crate) fn write_status(e: &WriteError) -> StatusCode {
    match e {
        WriteError::Stale { .. } => StatusCode::CONFLICT,
        WriteError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        WriteError::UnknownFlag(_) | WriteError::UnknownVersion(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A write the dashboard makes.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Kill { flag: String, killed: bool },
    Rollout { flag: String, percentage: u8 },
    Rollback { to: u64 },
}

/// Makes the write, then reloads the store so that the new version
/// serves at once (OFREP clients see it on their next request).
pub(crate) async fn perform(
    dash: &Arc<Dash>,
    action: Action,
    change: Change,
) -> Result<u64, WriteError> {
    let Some(versions) = dash.versions.clone() else {
        return Err(WriteError::Unavailable(
            "this replica's source is not versioned: the dashboard is read-only".into(),
        ));
    };
    let store = Arc::clone(&dash.store);
    blocking(move || {
        let version = match &action {
            Action::Kill { flag, killed } => versions.set_kill(flag, *killed, &change),
            Action::Rollout { flag, percentage } => {
                versions.set_rollout(flag, *percentage, &change)
            }
            Action::Rollback { to } => versions.rollback(*to, &change),
        }?;
        // The version is written; a failed reload here is retried by the
        // store's own polling and shows in the source's health.
        let _ = store.reload();
        Ok(version)
    })
    .await
}
