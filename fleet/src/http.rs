//! [`HttpSource`]: a store follows a config kept behind an HTTP(S) URL (an
//! object store, a CDN, a git host), with conditional requests.

use crate::backoff::Backoff;
use crate::database::redact;
use crate::error::{FleetError, FleetErrorKind};
use killswitch::store::{Fetched, Source, SourceError};
use killswitch::{Format, Limits};
use std::time::Duration;

/// The default time limit of one request, from connecting to the last
/// byte of the body.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// A config file behind an `https://` (or `http://`) URL, as a
/// [`Source`] for a [`Store`](killswitch::store::Store).
///
/// - Each fetch is a conditional `GET` (`If-None-Match` with the last
///   `ETag`, `If-Modified-Since` with the last `Last-Modified`): `304 Not
///   Modified` costs no body and keeps the version serving.
/// - A request has a time limit ([`timeout`](HttpSource::timeout), 5 s by
///   default) and a body over [`Limits::max_config_bytes`] is refused
///   without reading more; a truncated body, an error status (`404`
///   means no config) or a timeout keep the last good version serving
///   and report the source degraded. After a failure, requests wait with
///   jittered backoff (at most 2 s) before trying again.
/// - The format is the URL path's extension (`.yaml`/`.yml`, `.toml`,
///   else JSON), or the response's `Content-Type` when it names YAML or
///   TOML.
///
/// ```no_run
/// use killswitch::store::Store;
/// use killswitch_fleet::HttpSource;
/// use std::time::Duration;
///
/// let source = HttpSource::new("https://config.example.com/flags.yaml")?;
/// let store = Store::builder(source)
///     .poll_interval(Duration::from_secs(10))
///     .start()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpSource {
    url: String,
    shown: String,
    agent: ureq::Agent,
    timeout: Duration,
    etag: Option<String>,
    last_modified: Option<String>,
    path_format: Format,
    format: Format,
    max_bytes: usize,
    backoff: Backoff,
}

impl HttpSource {
    /// A source for `url` (`http://` or `https://`). Nothing is fetched
    /// until the store starts.
    pub fn new(url: &str) -> Result<HttpSource, FleetError> {
        let shown = redact(url);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(FleetError::new(
                FleetErrorKind::Url,
                format!("`{shown}` is not an http:// or https:// URL"),
            ));
        }
        let path = url.split(['?', '#']).next().unwrap_or_default().to_string();
        let path_format = Format::from_path(path);
        let mut source = HttpSource {
            url: url.to_string(),
            shown,
            agent: ureq::Agent::new_with_defaults(),
            timeout: DEFAULT_HTTP_TIMEOUT,
            etag: None,
            last_modified: None,
            path_format,
            format: path_format,
            max_bytes: Limits::default().max_config_bytes,
            backoff: Backoff::new(),
        };
        source.agent = source.make_agent();
        Ok(source)
    }

    /// The time limit of one request (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> HttpSource {
        self.timeout = timeout;
        self.agent = self.make_agent();
        self
    }

    fn make_agent(&self) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .max_redirects(5)
            .user_agent("killswitch")
            .build();
        ureq::Agent::new_with_config(config)
    }

    fn error(&self, why: impl std::fmt::Display) -> FleetError {
        FleetError::new(
            FleetErrorKind::Http,
            format!("cannot fetch {}: {why}", self.shown),
        )
    }

    fn get(&mut self) -> Result<Fetched, FleetError> {
        let mut request = self.agent.get(&self.url);
        if let Some(etag) = &self.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = &self.last_modified {
            request = request.header("If-Modified-Since", date);
        }
        let mut response = request.call().map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        match status {
            304 => return Ok(Fetched::NotModified),
            404 | 410 => return Ok(Fetched::Missing),
            200 => {}
            _ => return Err(self.error(format!("HTTP {status}"))),
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let content_type = header("content-type").unwrap_or_default();
        let declared = header("content-length").and_then(|n| n.parse::<u64>().ok());
        let max = u64::try_from(self.max_bytes).unwrap_or(u64::MAX);
        if declared.is_some_and(|n| n > max) {
            return Err(self.error(format!("the config is over the limit of {max} bytes")));
        }
        let text = response
            .body_mut()
            .with_config()
            .limit(max)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    self.error(format!("the config is over the limit of {max} bytes"))
                }
                e => self.error(format!("cannot read the body: {e}")),
            })?;
        if declared.is_some_and(|n| n != text.len() as u64) {
            return Err(self.error("the body was cut short"));
        }
        self.format = if content_type.contains("yaml") {
            Format::Yaml
        } else if content_type.contains("toml") {
            Format::Toml
        } else {
            self.path_format
        };
        self.etag = etag;
        self.last_modified = last_modified;
        Ok(Fetched::Text(text))
    }
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field("url", &self.shown)
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

impl Source for HttpSource {
    fn name(&self) -> String {
        self.shown.clone()
    }

    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        if let Some(e) = self.backoff.waiting() {
            return Err(Box::new(e));
        }
        match self.get() {
            Ok(fetched) => {
                self.backoff.succeeded();
                Ok(fetched)
            }
            Err(e) => {
                self.backoff.failed(&e);
                Err(Box::new(e))
            }
        }
    }

    fn format(&self) -> Format {
        self.format
    }

    fn apply_limits(&mut self, limits: &Limits) {
        self.max_bytes = limits.max_config_bytes;
    }
}
