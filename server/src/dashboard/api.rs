//! The JSON endpoints under `/api/v1`: what the pages show, for scripts
//! and chat bots, and the same actions as the pages. Reads need a read or
//! admin token (when read tokens are configured); writes an admin token,
//! and from a browser session the CSRF token in `X-CSRF-Token`.

use super::forms::{read_body, Fields};
use super::pages::page_ctx;
use super::session::{check_csrf, Access, Role};
use super::view::{self, Dependents, FlagSummary};
use super::{blocking, json, perform, write_status, Action, Change, Dash, WriteError};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use killswitch::Context;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// An error answer: `{"error": code, "message": text, ...}`.
#[derive(Serialize)]
struct ApiError<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnostics: Option<&'a str>,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut response = json(
        status,
        &ApiError {
            error: code,
            message: message.into(),
            current_version: None,
            diagnostics: None,
        },
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn write_error(e: &WriteError) -> Response {
    let (code, current, diagnostics) = match e {
        WriteError::Stale { current, .. } => ("stale_version", Some(*current), None),
        WriteError::Invalid { diagnostics } => ("invalid_config", None, Some(diagnostics.as_str())),
        WriteError::UnknownFlag(_) => ("unknown_flag", None, None),
        WriteError::UnknownVersion(_) => ("unknown_version", None, None),
        _ => ("unavailable", None, None),
    };
    let message = match e {
        WriteError::Invalid { .. } => {
            "the result is not a valid config; nothing was written".to_string()
        }
        other => other.to_string(),
    };
    json(
        write_status(e),
        &ApiError {
            error: code,
            message,
            current_version: current,
            diagnostics,
        },
    )
}

/// The caller of the JSON API: a handler that takes it runs only for
/// someone let in; anyone else gets 401.
pub(crate) struct Caller(Access);

impl FromRequestParts<Arc<Dash>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Arc<Dash>) -> Result<Caller, Response> {
        dash.gate.access(&parts.headers).map(Caller).ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer <token>` with a read or admin token, or log in at /dashboard/login",
            )
        })
    }
}

/// The version, who published it, and the source's health.
#[derive(Serialize)]
struct Status {
    /// The version writes are made against (`expect_version`).
    version: u64,
    /// This replica's own counter of loaded versions.
    serving_version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    loaded_at: String,
    source: String,
    healthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_error: Option<String>,
    /// Whether this caller may act here.
    writable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_only_reason: Option<String>,
    flag_count: usize,
}

async fn status_of(dash: &Arc<Dash>, access: &Access) -> Status {
    let ctx = page_ctx(dash, access).await;
    Status {
        version: ctx.version,
        serving_version: ctx.serving,
        published_by: ctx.published.as_ref().map(|p| p.author.clone()),
        published_at: ctx
            .published
            .as_ref()
            .map(|p| view::rfc3339(p.published_at)),
        message: ctx.published.as_ref().map(|p| p.message.clone()),
        loaded_at: ctx.loaded_at,
        source: ctx.source,
        healthy: ctx.healthy,
        source_error: ctx.source_error,
        writable: ctx.read_only.is_none(),
        read_only_reason: ctx.read_only,
        flag_count: dash.store.snapshot().flags().len(),
    }
}

/// `GET /api/v1/status`.
pub(crate) async fn status(State(dash): State<Arc<Dash>>, Caller(access): Caller) -> Response {
    json(StatusCode::OK, &status_of(&dash, &access).await)
}

#[derive(Serialize)]
struct FlagList {
    #[serde(flatten)]
    status: Status,
    #[serde(rename = "flags")]
    list: Vec<FlagSummary>,
}

/// `GET /api/v1/flags[?q=text][&state=killed|disabled|on|rolling_out|off]`.
pub(crate) async fn flags(
    State(dash): State<Arc<Dash>>,
    Caller(access): Caller,
    uri: Uri,
) -> Response {
    let status = status_of(&dash, &access).await;
    let query = Fields::query(&uri);
    let needle = query.get("q").unwrap_or("").to_lowercase();
    let state = query.get("state").unwrap_or("");
    let snapshot = dash.store.snapshot();
    let deps = Dependents::of(snapshot.flags());
    let now = SystemTime::now();
    let list = snapshot
        .flags()
        .flags()
        .iter()
        .map(|f| view::summary(f, &deps, now))
        .filter(|f| needle.is_empty() || f.key.to_lowercase().contains(&needle))
        .filter(|f| state.is_empty() || f.state.as_str() == state)
        .collect();
    json(StatusCode::OK, &FlagList { status, list })
}

/// `GET /api/v1/flags/{key}`.
pub(crate) async fn flag(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    _: Caller,
) -> Response {
    let snapshot = dash.store.snapshot();
    match snapshot.flags().get(&key) {
        Some(flag) => json(
            StatusCode::OK,
            &view::detail(flag, &Dependents::of(snapshot.flags()), SystemTime::now()),
        ),
        None => error(
            StatusCode::NOT_FOUND,
            "unknown_flag",
            format!("no flag `{key}`"),
        ),
    }
}

#[derive(Deserialize)]
struct EvaluateRequest<'a> {
    #[serde(default)]
    flag: Option<String>,
    #[serde(borrow)]
    context: &'a RawValue,
}

#[derive(Serialize)]
struct Evaluated {
    serving_version: u64,
    results: Vec<view::Tried>,
}

/// `POST /api/v1/evaluate` with `{"flag": "key", "context": {...}}`
/// (`flag` optional: every flag): decisions as `killswitch eval` gives
/// them, with the full explanation.
pub(crate) async fn evaluate(
    State(dash): State<Arc<Dash>>,
    _: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&headers, body, dash.max_body_bytes, dash.body_read_timeout).await {
        Ok(b) => b,
        Err((status, message)) => return error(status, "bad_request", message),
    };
    if crate::ofrep::nests_deeper_than(&bytes, dash.max_nesting_depth) {
        let message = format!(
            "the request nests deeper than {} levels",
            dash.max_nesting_depth
        );
        return error(StatusCode::BAD_REQUEST, "invalid_context", message);
    }
    let request: EvaluateRequest<'_> = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let message = format!("send {{\"flag\": \"key\", \"context\": {{...}}}}: {e}");
            return error(StatusCode::BAD_REQUEST, "bad_request", message);
        }
    };
    let ctx = match Context::from_json(request.context.get()) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_context", e.to_string()),
    };
    let snapshot = dash.store.snapshot();
    let now = SystemTime::now();
    let results = match &request.flag {
        Some(key) => match snapshot.flags().get(key) {
            Some(flag) => vec![view::try_flag(flag, &ctx, now)],
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    "unknown_flag",
                    format!("no flag `{key}`"),
                )
            }
        },
        None => snapshot
            .flags()
            .flags()
            .iter()
            .map(|f| view::try_flag(f, &ctx, now))
            .collect(),
    };
    json(
        StatusCode::OK,
        &Evaluated {
            serving_version: snapshot.version(),
            results,
        },
    )
}

#[derive(Serialize)]
struct HistoryEntry {
    version: u64,
    author: String,
    message: String,
    published_at: String,
    /// The flags it added, removed or changed.
    changed: Vec<String>,
}

/// `GET /api/v1/history[?limit=N]` (default 50, newest first).
pub(crate) async fn history(State(dash): State<Arc<Dash>>, _: Caller, uri: Uri) -> Response {
    let Some(versions) = dash.versions.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "no_history",
            "this replica serves a plain file: there is no version history",
        );
    };
    let limit = Fields::query(&uri)
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    match blocking(move || versions.history(limit)).await {
        Ok(list) => {
            let entries: Vec<HistoryEntry> = list
                .into_iter()
                .map(|v| HistoryEntry {
                    version: v.version,
                    author: v.author,
                    message: v.message,
                    published_at: view::rfc3339(v.published_at),
                    changed: v.changed,
                })
                .collect();
            json(StatusCode::OK, &serde_json::json!({ "versions": entries }))
        }
        Err(e) => write_error(&e),
    }
}

/// The fields every write carries.
#[derive(Deserialize)]
struct WriteRequest {
    message: String,
    expect_version: u64,
    /// Who acts; required with a bearer token (a session has the name
    /// given at login).
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    killed: Option<bool>,
    #[serde(default)]
    percentage: Option<u8>,
    #[serde(default)]
    version: Option<u64>,
}

/// Reads and checks a write: admin access, CSRF for a session, a message.
async fn write_request(
    dash: &Arc<Dash>,
    Caller(access): Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<(WriteRequest, Change), Box<Response>> {
    let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if let Err(why) = check_csrf(&access, headers, csrf) {
        return Err(Box::new(error(StatusCode::FORBIDDEN, "csrf", why)));
    }
    if let Some(why) = dash.read_only_reason(access.role) {
        let code = if access.role == Role::Admin {
            "read_only"
        } else {
            "forbidden"
        };
        return Err(Box::new(error(StatusCode::FORBIDDEN, code, why)));
    }
    let bytes = read_body(headers, body, dash.max_body_bytes, dash.body_read_timeout)
        .await
        .map_err(|(status, message)| Box::new(error(status, "bad_request", message)))?;
    let request: WriteRequest = serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("send JSON with `message` and `expect_version`: {e}"),
        ))
    })?;
    let message = request.message.trim().to_string();
    if message.is_empty() {
        return Err(Box::new(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "message_required",
            "a change needs a message",
        )));
    }
    let author = match (&access.name, &request.author) {
        (Some(name), _) => name.clone(),
        (None, Some(author)) if !author.trim().is_empty() => author.trim().to_string(),
        _ => {
            return Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "author_required",
                "say who acts: `author` is required with a bearer token",
            )))
        }
    };
    let expect = request.expect_version;
    Ok((request, Change::new(author, message, expect)))
}

async fn write(dash: &Arc<Dash>, action: Action, change: Change) -> Response {
    match perform(dash, action, change).await {
        Ok(version) => json(StatusCode::OK, &serde_json::json!({ "version": version })),
        Err(e) => write_error(&e),
    }
}

/// `POST /api/v1/flags/{key}/kill` with `{"killed": true, "message", "expect_version"}`.
pub(crate) async fn kill(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (request, change) = match write_request(&dash, caller, &headers, body).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let killed = request.killed.unwrap_or(true);
    write(&dash, Action::Kill { flag: key, killed }, change).await
}

/// `POST /api/v1/flags/{key}/rollout` with `{"percentage": 25, "message", "expect_version"}`.
pub(crate) async fn rollout(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (request, change) = match write_request(&dash, caller, &headers, body).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match request.percentage.filter(|p| *p <= 100) {
        Some(percentage) => {
            write(
                &dash,
                Action::Rollout {
                    flag: key,
                    percentage,
                },
                change,
            )
            .await
        }
        None => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_percentage",
            "`percentage` must be 0 to 100",
        ),
    }
}

/// `POST /api/v1/rollback` with `{"version": 3, "message", "expect_version"}`.
pub(crate) async fn rollback(
    State(dash): State<Arc<Dash>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (request, change) = match write_request(&dash, caller, &headers, body).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match request.version {
        Some(to) => write(&dash, Action::Rollback { to }, change).await,
        None => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "version_required",
            "`version` names the version to roll back to",
        ),
    }
}

/// `GET /api/v1/events`: server-sent events. A `version` event with
/// `{"serving_version": n, "healthy": bool}` at once and whenever either
/// changes; a comment every 15 s keeps the connection open. The stream
/// ends when the server shuts down.
pub(crate) async fn events(State(dash): State<Arc<Dash>>, _: Caller) -> Response {
    struct Watch {
        dash: Arc<Dash>,
        last: Option<(u64, bool)>,
        quiet_since: Instant,
    }
    let start = Watch {
        dash,
        last: None,
        quiet_since: Instant::now(),
    };
    let stream = futures_util::stream::unfold(start, |mut w| async move {
        loop {
            if *w.dash.stopping.borrow() {
                return None;
            }
            let status = w.dash.store.status();
            let now = (
                status.version,
                status.last_error.is_none() && status.degraded.is_none(),
            );
            if w.last != Some(now) {
                w.last = Some(now);
                w.quiet_since = Instant::now();
                let event = format!(
                    "retry: 1000\nevent: version\ndata: {{\"serving_version\":{},\"healthy\":{}}}\n\n",
                    now.0, now.1
                );
                return Some((Ok::<Bytes, Infallible>(Bytes::from(event)), w));
            }
            if w.quiet_since.elapsed() >= Duration::from_secs(15) {
                w.quiet_since = Instant::now();
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), w));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
