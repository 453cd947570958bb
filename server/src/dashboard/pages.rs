//! The page handlers: read the store (and the versioned source), render
//! with `html.rs`, and for the actions check the session's CSRF token,
//! the admin role and the message before writing.

use super::forms::{read_body, Fields};
use super::html::{self, flag_href, Live, PageCtx, TryResult};
use super::session::{self, check_csrf, same_origin, Access};
use super::view::{self, Dependents};
use super::{blocking, perform, write_status, Action, Change, Dash, VersionInfo, WriteError};
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use killswitch::{Context, FlagSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A `303 See Other` to `location`.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The caller of a page: a handler that takes it runs only for someone
/// let in; anyone else is sent to log in.
pub(crate) struct Viewer(Access);

impl FromRequestParts<Arc<Dash>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Arc<Dash>) -> Result<Viewer, Response> {
        match dash.gate.access(&parts.headers) {
            Some(access) => Ok(Viewer(access)),
            None if dash.gate.has_tokens() => Err(see_other("/dashboard/login")),
            None => Err(html::login(Some("no access")).into_response()),
        }
    }
}

/// The version information every page header shows.
pub(crate) async fn page_ctx(dash: &Arc<Dash>, access: &Access) -> PageCtx {
    let status = dash.store.status();
    // The version serving, as its source numbers it: what the page shows
    // is exactly what writes are compared against. A versioned source
    // that does not number the store's versions is asked instead.
    let published = match (&status.source_version, dash.versions.clone()) {
        (Some(v), _) => Some(Ok(VersionInfo::new(
            v.number,
            v.author.clone(),
            v.message.clone(),
            v.published_at,
        ))),
        (None, Some(versions)) => Some(blocking(move || versions.current()).await),
        (None, None) => None,
    };
    let (version, published, source_error) = match published {
        Some(Ok(info)) => (info.version, Some(info), None),
        Some(Err(e)) => (status.version, None, Some(e.to_string())),
        None => (status.version, None, None),
    };
    let source_error = source_error
        .or_else(|| {
            status
                .degraded
                .as_ref()
                .map(|e| format!("degraded: {}", first_line(e)))
        })
        .or_else(|| {
            status
                .last_error
                .as_ref()
                .map(|e| first_line(&e.to_string()))
        });
    let mut read_only = dash.read_only_reason(access.role);
    if read_only.is_none() && source_error.is_some() {
        read_only = Some("The source is failing: actions are paused until it recovers.".into());
    }
    PageCtx {
        version,
        serving: status.version,
        published,
        loaded_at: view::rfc3339(status.loaded_at),
        source: status.source.clone(),
        healthy: source_error.is_none(),
        source_error,
        role: access.role,
        name: access.name.clone(),
        logged_in: access.session_id().is_some(),
        can_login: dash.gate.has_tokens(),
        csrf: access.csrf().map(str::to_string),
        read_only,
    }
}

/// The first line of an error, with a count of the rest.
pub(crate) fn first_line(text: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or_default().trim().to_string();
    match lines.count() {
        0 => first,
        n => format!("{first} (and {n} more lines)"),
    }
}

/// `GET /dashboard`: every flag at a glance.
pub(crate) async fn flags(
    State(dash): State<Arc<Dash>>,
    Viewer(access): Viewer,
    uri: Uri,
) -> Response {
    let ctx = page_ctx(&dash, &access).await;
    let snapshot = dash.store.snapshot();
    let deps = Dependents::of(snapshot.flags());
    let now = SystemTime::now();
    let summaries: Vec<_> = snapshot
        .flags()
        .flags()
        .iter()
        .map(|f| view::summary(f, &deps, now))
        .collect();
    let query = Fields::query(&uri);
    let main = html::flag_list(
        &summaries,
        query.get("q").unwrap_or(""),
        query.get("state").unwrap_or(""),
        None,
    );
    super::html(
        StatusCode::OK,
        html::page(&ctx, "Flags", "flags", Live::Replace, &main),
    )
}

/// `GET /dashboard/flags/{key}`.
pub(crate) async fn flag(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
    uri: Uri,
) -> Response {
    let flash = Fields::query(&uri)
        .get("published")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|v| format!("Version {v} published."));
    flag_response(&dash, access, &key, None, flash.as_deref()).await
}

async fn flag_response(
    dash: &Arc<Dash>,
    access: Access,
    key: &str,
    tried: Option<(String, Result<(), String>)>,
    flash: Option<&str>,
) -> Response {
    let ctx = page_ctx(dash, &access).await;
    let snapshot = dash.store.snapshot();
    let Some(flag) = snapshot.flags().get(key) else {
        return not_found(&ctx, key);
    };
    let now = SystemTime::now();
    let detail = view::detail(flag, &Dependents::of(snapshot.flags()), now);
    let result = tried.map(|(text, parsed)| {
        let outcome = parsed.and_then(|()| {
            Context::from_json(text.trim())
                .map(|c| view::try_flag(flag, &c, now))
                .map_err(|e| e.to_string())
        });
        (text, outcome)
    });
    let result = result.as_ref().map(|(text, outcome)| TryResult {
        context: text,
        outcome: outcome.clone(),
    });
    let main = html::flag_page(&ctx, &detail, result.as_ref(), flash);
    super::html(
        StatusCode::OK,
        html::page(&ctx, key, "flags", Live::Replace, &main),
    )
}

fn not_found(ctx: &PageCtx, key: &str) -> Response {
    let main = html::refused(
        "No such flag",
        &format!("There is no flag `{key}` in version {}.", ctx.version),
        None,
        "/dashboard",
    );
    super::html(
        StatusCode::NOT_FOUND,
        html::page(ctx, "No such flag", "flags", Live::Replace, &main),
    )
}

/// `POST /dashboard/flags/{key}/try`: a context's decision and trace.
pub(crate) async fn try_user(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (text, parsed) =
        match read_body(&headers, body, dash.max_body_bytes, dash.body_read_timeout).await {
            Ok(bytes) => {
                let fields = Fields::parse(&String::from_utf8_lossy(&bytes));
                let text = fields.get("context").unwrap_or("{}").to_string();
                let parsed =
                    if crate::ofrep::nests_deeper_than(text.as_bytes(), dash.max_nesting_depth) {
                        Err(format!(
                            "the context nests deeper than {} levels",
                            dash.max_nesting_depth
                        ))
                    } else {
                        Ok(())
                    };
                (text, parsed)
            }
            Err((_, message)) => (String::new(), Err(message)),
        };
    flag_response(&dash, access, &key, Some((text, parsed)), None).await
}

/// `GET /dashboard/flags/{key}/kill`: the confirmation, with the blast radius.
pub(crate) async fn confirm_kill(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
) -> Response {
    confirm(&dash, access, &key, true).await
}

/// `GET /dashboard/flags/{key}/unkill`.
pub(crate) async fn confirm_unkill(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
) -> Response {
    confirm(&dash, access, &key, false).await
}

async fn confirm(dash: &Arc<Dash>, access: Access, key: &str, kill: bool) -> Response {
    let ctx = page_ctx(dash, &access).await;
    if let Some(why) = &ctx.read_only {
        let main = html::refused("Read-only", why, None, &flag_href(key));
        return super::html(
            StatusCode::FORBIDDEN,
            html::page(&ctx, "Read-only", "flags", Live::Warn, &main),
        );
    }
    let snapshot = dash.store.snapshot();
    let Some(flag) = snapshot.flags().get(key) else {
        return not_found(&ctx, key);
    };
    let summary = view::summary(flag, &Dependents::of(snapshot.flags()), SystemTime::now());
    let title = if kill { "Kill" } else { "Un-kill" };
    let main = html::confirm_kill(&ctx, &summary, kill);
    super::html(
        StatusCode::OK,
        html::page(&ctx, title, "flags", Live::Warn, &main),
    )
}

/// The checks every action makes, then the write: the session's CSRF
/// token and origin, the admin role, a message, the expected version.
async fn act(
    dash: &Arc<Dash>,
    access: Access,
    headers: &HeaderMap,
    body: Body,
    back: &str,
    done: impl FnOnce(u64) -> String,
    action: impl FnOnce(&Fields) -> Result<Action, String>,
) -> Response {
    let fields = match read_body(headers, body, dash.max_body_bytes, dash.body_read_timeout).await {
        Ok(bytes) => Fields::parse(&String::from_utf8_lossy(&bytes)),
        Err((status, message)) => {
            return refusal(dash, &access, status, "Refused", &message, None, back).await
        }
    };
    if let Err(why) = check_csrf(&access, headers, fields.get("csrf")) {
        return refusal(
            dash,
            &access,
            StatusCode::FORBIDDEN,
            "Refused",
            why,
            None,
            back,
        )
        .await;
    }
    if let Some(why) = dash.read_only_reason(access.role) {
        return refusal(
            dash,
            &access,
            StatusCode::FORBIDDEN,
            "Refused",
            &why,
            None,
            back,
        )
        .await;
    }
    let message = fields.get("message").unwrap_or("").trim().to_string();
    if message.is_empty() {
        let why = "A message is required: say why, for the people who read the history.";
        return refusal(
            dash,
            &access,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Refused",
            why,
            None,
            back,
        )
        .await;
    }
    let Some(expect) = fields
        .get("expect_version")
        .and_then(|v| v.parse::<u64>().ok())
    else {
        let why = "The expected version is missing: reload the page and try again.";
        return refusal(
            dash,
            &access,
            StatusCode::BAD_REQUEST,
            "Refused",
            why,
            None,
            back,
        )
        .await;
    };
    let action = match action(&fields) {
        Ok(a) => a,
        Err(why) => {
            return refusal(
                dash,
                &access,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Refused",
                &why,
                None,
                back,
            )
            .await
        }
    };
    let author = access
        .name
        .clone()
        .unwrap_or_else(|| "admin token".to_string());
    match perform(dash, action, Change::new(author, message, expect)).await {
        Ok(version) => see_other(&done(version)),
        Err(e) => {
            let (title, details) = match &e {
                WriteError::Stale { .. } => ("Stale: someone published first", None),
                WriteError::Invalid { diagnostics } => (
                    "Refused: the result is not valid",
                    Some(diagnostics.as_str()),
                ),
                _ => ("Refused", None),
            };
            let message = match &e {
                WriteError::Invalid { .. } => {
                    "Nothing was written. The config this change would make is invalid:".to_string()
                }
                other => format!("Nothing was written. {other}"),
            };
            refusal(
                dash,
                &access,
                write_status(&e),
                title,
                &message,
                details,
                back,
            )
            .await
        }
    }
}

async fn refusal(
    dash: &Arc<Dash>,
    access: &Access,
    status: StatusCode,
    title: &str,
    message: &str,
    details: Option<&str>,
    back: &str,
) -> Response {
    let ctx = page_ctx(dash, access).await;
    let main = html::refused(title, message, details, back);
    super::html(status, html::page(&ctx, title, "flags", Live::Warn, &main))
}

/// `POST /dashboard/flags/{key}/kill`.
pub(crate) async fn kill(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    set_kill(&dash, access, &headers, body, key, true).await
}

/// `POST /dashboard/flags/{key}/unkill`.
pub(crate) async fn unkill(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    set_kill(&dash, access, &headers, body, key, false).await
}

async fn set_kill(
    dash: &Arc<Dash>,
    access: Access,
    headers: &HeaderMap,
    body: Body,
    key: String,
    killed: bool,
) -> Response {
    let href = flag_href(&key);
    let done = |v: u64| format!("{href}?published={v}");
    act(dash, access, headers, body, &href, done, |_| {
        Ok(Action::Kill {
            flag: key.clone(),
            killed,
        })
    })
    .await
}

/// `POST /dashboard/flags/{key}/rollout`.
pub(crate) async fn rollout(
    State(dash): State<Arc<Dash>>,
    Path(key): Path<String>,
    Viewer(access): Viewer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let href = flag_href(&key);
    let done = |v: u64| format!("{href}?published={v}");
    act(&dash, access, &headers, body, &href, done, |fields| {
        let percentage = fields
            .get("percentage")
            .and_then(|p| p.trim().parse::<u8>().ok())
            .filter(|p| *p <= 100)
            .ok_or("The rollout percentage must be a whole number from 0 to 100.")?;
        Ok(Action::Rollout {
            flag: key.clone(),
            percentage,
        })
    })
    .await
}

/// `GET /dashboard/history`.
pub(crate) async fn history(
    State(dash): State<Arc<Dash>>,
    Viewer(access): Viewer,
    uri: Uri,
) -> Response {
    let ctx = page_ctx(&dash, &access).await;
    let versions = match dash.versions.clone() {
        Some(v) => match blocking(move || v.history(100)).await {
            Ok(list) => Some(list),
            Err(e) => {
                let main = html::refused("History unavailable", &e.to_string(), None, "/dashboard");
                return super::html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    html::page(&ctx, "History", "history", Live::Replace, &main),
                );
            }
        },
        None => None,
    };
    let flash = Fields::query(&uri)
        .get("published")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|v| format!("Version {v} published."));
    let main = html::history(&ctx, versions.as_deref(), flash.as_deref());
    super::html(
        StatusCode::OK,
        html::page(&ctx, "History", "history", Live::Replace, &main),
    )
}

/// The record and flags of version `to`, and the changes from the
/// version serving to it.
async fn rollback_preview(
    dash: &Arc<Dash>,
    to: u64,
) -> Result<(VersionInfo, Vec<view::FlagChange>), WriteError> {
    let Some(versions) = dash.versions.clone() else {
        return Err(WriteError::Unavailable("no versioned source".into()));
    };
    let stored = blocking(move || versions.version(to)).await?;
    let old = FlagSet::from_text(&stored.text, stored.format, &killswitch::Limits::default())
        .map_err(|e| WriteError::Invalid {
            diagnostics: e.to_string(),
        })?;
    let info = stored.info;
    let snapshot = dash.store.snapshot();
    Ok((info, view::changes(snapshot.flags(), &old)))
}

/// `GET /dashboard/history/{version}/rollback`: what changes, and the form.
pub(crate) async fn confirm_rollback(
    State(dash): State<Arc<Dash>>,
    Path(to): Path<u64>,
    Viewer(access): Viewer,
) -> Response {
    let ctx = page_ctx(&dash, &access).await;
    if let Some(why) = &ctx.read_only {
        let main = html::refused("Read-only", why, None, "/dashboard/history");
        return super::html(
            StatusCode::FORBIDDEN,
            html::page(&ctx, "Read-only", "history", Live::Warn, &main),
        );
    }
    match rollback_preview(&dash, to).await {
        Ok((info, changes)) => {
            let main = html::confirm_rollback(&ctx, &info, &changes);
            super::html(
                StatusCode::OK,
                html::page(&ctx, "Roll back", "history", Live::Warn, &main),
            )
        }
        Err(e) => {
            let main = html::refused(
                "Cannot roll back",
                &e.to_string(),
                None,
                "/dashboard/history",
            );
            super::html(
                write_status(&e),
                html::page(&ctx, "Roll back", "history", Live::Warn, &main),
            )
        }
    }
}

/// `POST /dashboard/history/{version}/rollback`.
pub(crate) async fn rollback(
    State(dash): State<Arc<Dash>>,
    Path(to): Path<u64>,
    Viewer(access): Viewer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let done = |v: u64| format!("/dashboard/history?published={v}");
    act(
        &dash,
        access,
        &headers,
        body,
        "/dashboard/history",
        done,
        |_| Ok(Action::Rollback { to }),
    )
    .await
}

/// `GET /dashboard/login`.
pub(crate) async fn login_form(State(dash): State<Arc<Dash>>) -> Response {
    if !dash.gate.has_tokens() {
        return see_other("/dashboard");
    }
    super::html(StatusCode::OK, html::login(None))
}

/// `POST /dashboard/login`: a token (never stored or shown) and a name
/// make a session.
pub(crate) async fn login(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(why) = same_origin(&headers) {
        return super::html(StatusCode::FORBIDDEN, html::login(Some(why)));
    }
    let fields = match read_body(&headers, body, dash.max_body_bytes, dash.body_read_timeout).await
    {
        Ok(bytes) => Fields::parse(&String::from_utf8_lossy(&bytes)),
        Err((status, message)) => return super::html(status, html::login(Some(&message))),
    };
    let name = fields.get("name").unwrap_or("").trim();
    let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    if name.is_empty() {
        return super::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            html::login(Some("Give your name: it is recorded with every change.")),
        );
    }
    let Some(login) = dash.gate.login(fields.get("token").unwrap_or("")) else {
        // A little wait makes guessing slow.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return super::html(
            StatusCode::UNAUTHORIZED,
            html::login(Some("Unknown token.")),
        );
    };
    let id = match dash.gate.sessions.create(login, &name) {
        Ok(id) => id,
        Err(e) => {
            let message = format!("cannot make a session: {e}");
            return super::html(
                StatusCode::INTERNAL_SERVER_ERROR,
                html::login(Some(&message)),
            );
        }
    };
    let mut response = see_other("/dashboard");
    if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(&id, dash.session_ttl)) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// `POST /dashboard/logout`.
pub(crate) async fn logout(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(access) = dash.gate.access(&headers) else {
        return see_other("/dashboard/login");
    };
    let fields = match read_body(&headers, body, dash.max_body_bytes, dash.body_read_timeout).await
    {
        Ok(bytes) => Fields::parse(&String::from_utf8_lossy(&bytes)),
        Err((status, message)) => return (status, message).into_response(),
    };
    if check_csrf(&access, &headers, fields.get("csrf")).is_err() {
        return (StatusCode::FORBIDDEN, "missing or wrong CSRF token").into_response();
    }
    if let Some(id) = access.session_id() {
        dash.gate.sessions.remove(id);
    }
    let mut response = see_other("/dashboard/login");
    if let Ok(cookie) = HeaderValue::from_str(&session::clear_cookie()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}
