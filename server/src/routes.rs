//! The router and its handlers: OFREP's two evaluation endpoints, the
//! health and readiness probes, and the metrics.

use crate::metrics::{Endpoint, Metrics};
use crate::ofrep::{parse_context, ErrorBody, ErrorCode, Evaluation, Failure};
use crate::Tokens;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use killswitch::store::Store;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What every handler shares.
pub(crate) struct App {
    pub(crate) store: Arc<Store>,
    pub(crate) metrics: Metrics,
    pub(crate) tokens: Option<Tokens>,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_nesting_depth: usize,
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The service's routes, in one place.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ofrep/v1/evaluate/flags/{key}", post(evaluate_flag))
        .route("/ofrep/v1/evaluate/flags", post(evaluate_flags))
        .route("/ofrep/v1/configuration", get(configuration))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// `POST /ofrep/v1/evaluate/flags/{key}`: one flag.
async fn evaluate_flag(
    State(app): State<Arc<App>>,
    key: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let response = match key {
        Ok(Path(key)) => match single(&app, &key, &headers, body).await {
            Ok(response) => response,
            Err(failure) => failure_response(&app, Some(&key), failure),
        },
        // A key that does not decode (invalid percent-encoding or UTF-8).
        Err(rejection) => {
            let failure = Failure::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ParseError,
                format!("invalid flag key in the path: {}", rejection.body_text()),
            );
            failure_response(&app, None, failure)
        }
    };
    app.metrics.latency(Endpoint::Single, started.elapsed());
    response
}

async fn single(
    app: &App,
    key: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    authorize(app, headers)?;
    let bytes = read_body(app, headers, body).await?;
    let ctx = parse_context(&bytes, app.max_nesting_depth)?;
    let snapshot = app.store.snapshot();
    let Some(flag) = snapshot.flags().get(key) else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::FlagNotFound,
            format!("no flag `{key}` in config version {}", snapshot.version()),
        ));
    };
    let decision = flag.evaluate(&ctx);
    app.metrics.evaluation(key, decision.reason);
    let evaluation = Evaluation::new(flag, decision, served_version(&snapshot));
    let json = serde_json::to_vec(&evaluation).map_err(general)?;
    Ok(([(CONTENT_TYPE, JSON)], json).into_response())
}

/// `POST /ofrep/v1/evaluate/flags`: every flag, with an ETag.
async fn evaluate_flags(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = match bulk(&app, &headers, body).await {
        Ok(response) => response,
        Err(failure) => failure_response(&app, None, failure),
    };
    app.metrics.latency(Endpoint::Bulk, started.elapsed());
    response
}

async fn bulk(app: &App, headers: &HeaderMap, body: Body) -> Result<Response, Failure> {
    authorize(app, headers)?;
    let bytes = read_body(app, headers, body).await?;
    let ctx = parse_context(&bytes, app.max_nesting_depth)?;
    let snapshot = app.store.snapshot();
    // One clock reading for every flag, so that a schedule step crossed
    // during the request changes all the answers it concerns or none.
    let now = SystemTime::now();
    let flags = snapshot.flags().flags();
    let mut json = Vec::with_capacity(64 + 192 * flags.len());
    json.extend_from_slice(b"{\"flags\":[");
    let version = served_version(&snapshot);
    for (i, flag) in flags.iter().enumerate() {
        let decision = flag.evaluate_at(&ctx, now);
        app.metrics.evaluation(flag.key(), decision.reason);
        if i > 0 {
            json.push(b',');
        }
        let evaluation = Evaluation::new(flag, decision, version);
        serde_json::to_writer(&mut json, &evaluation).map_err(general)?;
    }
    json.extend_from_slice(b"]}");
    json_answer(headers, &etag(version, &json), json)
}

/// The shortest polling interval a provider is told to use, in
/// milliseconds: a kill switch reaches polling clients within about this.
pub(crate) const MIN_POLLING_INTERVAL_MS: u64 = 1000;

/// `GET /ofrep/v1/configuration`: what this service supports, in OFREP's
/// provider configuration shape, with an `ETag` (it never changes while
/// the process runs).
async fn configuration(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match provider_configuration(&app, &headers) {
        Ok(response) => response,
        Err(failure) => failure_response(&app, None, failure),
    }
}

fn provider_configuration(app: &App, headers: &HeaderMap) -> Result<Response, Failure> {
    authorize(app, headers)?;
    let body = serde_json::json!({
        "name": "killswitch",
        "capabilities": {
            "cacheInvalidation": {
                "polling": {
                    "enabled": true,
                    "minPollingIntervalMs": MIN_POLLING_INTERVAL_MS,
                },
            },
            "flagEvaluation": {
                "supportedTypes": ["boolean", "string", "int", "float", "object"],
            },
            // A kill switch must take effect at once: server providers
            // should not keep answers.
            "caching": { "enabled": false },
        },
    });
    let json = serde_json::to_vec(&body).map_err(general)?;
    json_answer(headers, &etag(0, &json), json)
}

/// A JSON answer with its entity tag, or `304 Not Modified` when the
/// request's `If-None-Match` names that tag.
fn json_answer(headers: &HeaderMap, etag: &str, json: Vec<u8>) -> Result<Response, Failure> {
    let etag_value = HeaderValue::from_str(etag).map_err(general)?;
    if let Some(tags) = headers.get(IF_NONE_MATCH) {
        if matches_etag(tags.as_bytes(), etag) {
            return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag_value)]).into_response());
        }
    }
    Ok((
        [
            (CONTENT_TYPE, JSON),
            (ETAG, etag_value),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        json,
    )
        .into_response())
}

/// The version answers name (`config_version`, and in the bulk ETag): the
/// published version when the source keeps versions (a database), so that
/// every replica serving it answers alike and a client moving between
/// replicas keeps its ETag; otherwise the store's own count of loads.
fn served_version(snapshot: &killswitch::store::Snapshot) -> u64 {
    snapshot
        .source_version()
        .map_or_else(|| snapshot.version(), |v| v.number)
}

/// The bulk answer's entity tag: the config version and a digest of the
/// answer itself. Everything time-dependent (a schedule step crossed) is
/// in the answer, so the tag changes exactly when the answer does.
fn etag(version: u64, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(40);
    let _ = write!(tag, "\"{version}-");
    for byte in &digest[..8] {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    tag
}

/// Whether an `If-None-Match` value names `etag`: `*`, or a
/// comma-separated list of tags compared weakly (a `W/` prefix ignored),
/// as RFC 9110 asks for `If-None-Match`.
fn matches_etag(header: &[u8], etag: &str) -> bool {
    let Ok(header) = std::str::from_utf8(header) else {
        return false;
    };
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// A 401 unless tokens are off or the request carries one of them.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Failure> {
    match &app.tokens {
        None => Ok(()),
        Some(tokens) if tokens.admits(headers.get(AUTHORIZATION).map(HeaderValue::as_bytes)) => {
            Ok(())
        }
        Some(_) => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::General,
            "missing or unknown bearer token (send `Authorization: Bearer <token>`)",
        )),
    }
}

/// Reads the body, up to `max_body_bytes` and within `body_read_timeout`.
/// A declared length over the limit is refused before any of the body is
/// read; a body that grows past it is refused as soon as it does.
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, Failure> {
    let too_large = || {
        Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::General,
            format!(
                "the request body is larger than {} bytes",
                app.max_body_bytes
            ),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body_bytes as u64) {
        return Err(too_large());
    }
    let limited = Limited::new(body, app.max_body_bytes);
    match tokio::time::timeout(app.body_read_timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::General,
            format!("cannot read the request body: {e}"),
        )),
        Err(_) => Err(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::General,
            format!(
                "the request body did not arrive within {} ms",
                app.body_read_timeout.as_millis()
            ),
        )),
    }
}

/// An OFREP error answer. A 401 asks for a bearer token; a 408 or 413
/// closes the connection (the rest of the body is not read).
fn failure_response(app: &App, key: Option<&str>, failure: Failure) -> Response {
    let counted = if failure.status == StatusCode::UNAUTHORIZED {
        "UNAUTHORIZED"
    } else {
        failure.code.as_str()
    };
    app.metrics.error(counted);
    let body = ErrorBody {
        key,
        error_code: failure.code.as_str(),
        error_details: &failure.details,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (failure.status, [(CONTENT_TYPE, JSON)], json).into_response();
    let headers = response.headers_mut();
    match failure.status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT => {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
    response
}

fn general(e: impl std::fmt::Display) -> Failure {
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::General,
        format!("cannot write the answer: {e}"),
    )
}

/// `GET /healthz`: the process serves (liveness).
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let version = app.store.version();
    let body = format!("{{\"status\":\"ok\",\"version\":{version}}}");
    ([(CONTENT_TYPE, JSON)], body).into_response()
}

/// `GET /readyz`: 200 once a config is loaded; 503 before the first good
/// load (a server started with a missing file). The body tells the
/// source's state: `"source": "ok"`, or `"degraded"` with the reason
/// while the source cannot be read (the last good version keeps serving,
/// so the replica stays ready), and the source's own version when it
/// keeps versions (a database). Times are RFC 3339 in UTC, as in the
/// dashboard's JSON.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let status = app.store.status();
    let mut body = serde_json::Map::new();
    let ready = status.version > 0;
    body.insert(
        "status".into(),
        if ready {
            "ready"
        } else {
            "no config loaded yet"
        }
        .into(),
    );
    body.insert("version".into(), status.version.into());
    match &status.degraded {
        Some(why) => {
            body.insert("source".into(), "degraded".into());
            body.insert("source_error".into(), why.as_str().into());
            if let Some(since) = status.degraded_since {
                body.insert(
                    "degraded_since".into(),
                    killswitch::format_time(since).into(),
                );
            }
        }
        None => {
            body.insert("source".into(), "ok".into());
        }
    }
    if let Some(v) = &status.source_version {
        body.insert("published_version".into(), v.number.into());
        body.insert("published_by".into(), v.author.as_str().into());
        body.insert(
            "published_at".into(),
            killswitch::format_time(v.published_at).into(),
        );
    }
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, [(CONTENT_TYPE, JSON)], json).into_response()
}

/// `GET /metrics`: Prometheus' text format.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render(&app.store);
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Any other path: 404 with an OFREP-shaped body.
async fn unknown_path(State(app): State<Arc<App>>) -> Response {
    let failure = Failure::new(
        StatusCode::NOT_FOUND,
        ErrorCode::General,
        "no such endpoint; OFREP is served under /ofrep/v1/evaluate/flags",
    );
    failure_response(&app, None, failure)
}

/// A known path with the wrong method: 405 with an OFREP-shaped body.
async fn method_not_allowed(State(app): State<Arc<App>>) -> Response {
    let failure = Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::General,
        "method not allowed: OFREP evaluations are POST, the probes and metrics GET",
    );
    failure_response(&app, None, failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = "\"3-00aa\"";
        assert!(matches_etag(b"\"3-00aa\"", tag));
        assert!(matches_etag(b"W/\"3-00aa\"", tag));
        assert!(matches_etag(b"\"x\", \"3-00aa\"", tag));
        assert!(matches_etag(b"*", tag));
        assert!(!matches_etag(b"\"3-00ab\"", tag));
        assert!(!matches_etag(b"3-00aa", tag));
        assert!(!matches_etag(b"", tag));
    }

    #[test]
    fn etags_carry_the_version_and_change_with_the_body() {
        assert!(etag(7, b"{}").starts_with("\"7-"));
        assert_ne!(etag(7, b"{}"), etag(7, b"{ }"));
        assert_ne!(etag(7, b"{}"), etag(8, b"{}"));
        assert_eq!(etag(7, b"{}").len(), 2 + 2 + 16);
    }
}
