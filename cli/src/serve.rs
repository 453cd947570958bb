//! `killswitch serve`: answer OpenFeature's OFREP over HTTP from a config
//! file followed by the live store, as `watch` follows it.

use crate::fleet::follow_source;
use crate::output::{follow_file, USAGE};
use clap::Args;
use killswitch::store::StoreEvent;
use killswitch_server::{Metrics, Server, Tokens, DEFAULT_LISTEN};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// The config file (JSON, YAML or TOML, by its extension) to serve and
    /// follow.
    #[arg(
        value_name = "FILE",
        required_unless_present = "source",
        conflicts_with = "source"
    )]
    file: Option<String>,
    /// Serve and follow the newest config version of a database instead
    /// of a file: postgres://USER@HOST/DB (password from the URL or
    /// PGPASSWORD), woken by LISTEN/NOTIFY and polled every --poll-ms; or
    /// a config behind https://... (http:// too), polled with conditional
    /// GETs. While the source is away the last good version keeps serving
    /// and /readyz says `"source": "degraded"`.
    #[arg(long, value_name = "URL")]
    source: Option<String>,
    /// With a postgres:// source, do not LISTEN for new versions: find
    /// them by polling only (for poolers that do not pass LISTEN/NOTIFY
    /// on, such as PgBouncer in transaction mode).
    #[arg(long, requires = "source")]
    no_listen: bool,
    /// The address to listen on (loopback unless told otherwise).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Start even when the file does not exist yet: /readyz answers 503
    /// and every flag is unknown until it appears.
    #[arg(long)]
    allow_missing: bool,
    /// Require `Authorization: Bearer <token>` on OFREP requests, with a
    /// token of this file (one per line; blank lines and `#` comments
    /// skipped).
    #[arg(long, value_name = "PATH")]
    token_file: Option<String>,
    /// Let browsers on this origin call the OFREP routes (CORS);
    /// repeatable, `*` for any origin. Off unless given.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Serve the flag dashboard at /dashboard (`/` redirects there) and
    /// its JSON at /api/v1. Read-only with a plain file source, and
    /// without an admin token (--admin-token-file).
    #[arg(long)]
    dashboard: bool,
    /// Require a token of this file (or an admin token) to see the
    /// dashboard and its JSON (one per line; default: the
    /// KILLSWITCH_DASHBOARD_TOKEN environment variable, else open, which
    /// is allowed on a loopback address only).
    #[arg(long, value_name = "PATH", requires = "dashboard")]
    dashboard_token_file: Option<String>,
    /// The tokens that may act from the dashboard (kill, rollout,
    /// rollback), one per line (default: the KILLSWITCH_ADMIN_TOKEN
    /// environment variable, else none: read-only).
    #[arg(long, value_name = "PATH", requires = "dashboard")]
    admin_token_file: Option<String>,
    /// The largest request body accepted, in bytes; larger gets 413.
    #[arg(long, value_name = "N", default_value_t = 64 * 1024)]
    max_body_bytes: usize,
    /// Also re-read the file (or the database) this often, in
    /// milliseconds, in case a notification is missed.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    poll_ms: u64,
}

/// Serves until SIGTERM or Ctrl-C (exit 0); SIGHUP reloads at once.
pub(crate) fn run(args: &ServeArgs) -> u8 {
    let tokens = match &args.token_file {
        None => None,
        Some(path) => match Tokens::watch_file(path) {
            Ok(tokens) => Some(tokens),
            Err(e) => {
                eprintln!("error: cannot read the token file `{path}`: {e}");
                return USAGE;
            }
        },
    };
    let dashboard = if args.dashboard {
        match crate::dashboard::settings(
            args.listen,
            args.dashboard_token_file.as_deref(),
            args.admin_token_file.as_deref(),
        ) {
            Ok(settings) => Some(settings),
            Err(e) => {
                eprintln!("error: {e}");
                return USAGE;
            }
        }
    } else {
        None
    };
    let metrics = Metrics::new();
    let observer = metrics.clone();
    let started = match (&args.file, &args.source) {
        (_, Some(url)) => {
            let name = crate::fleet::redacted(url);
            let source = name.clone();
            let on_event = move |event: &StoreEvent| {
                observer.observe(event);
                eprintln!("{}", event_line(&source, event));
            };
            let store = follow_source(
                url,
                !args.no_listen,
                args.poll_ms,
                args.allow_missing,
                "killswitch-serve-store",
                on_event,
            );
            store.map(|s| (name, s))
        }
        (Some(file), None) => {
            let source = file.clone();
            let on_event = move |event: &StoreEvent| {
                observer.observe(event);
                eprintln!("{}", event_line(&source, event));
            };
            let store = follow_file(
                file,
                args.poll_ms,
                args.allow_missing,
                "killswitch-serve-store",
                on_event,
            );
            store.map(|s| (file.clone(), s))
        }
        (None, None) => {
            eprintln!("error: give a config FILE or --source URL");
            return USAGE;
        }
    };
    let (name, store) = match started {
        Ok(started) => started,
        Err(code) => return code,
    };
    let status = store.status();
    let published = match &status.source_version {
        Some(v) => format!(" (published version {} by {})", v.number, v.author),
        None => String::new(),
    };
    match &status.last_error {
        Some(e) => eprintln!("serve: waiting for `{name}`: {}", first_line(e)),
        None => eprintln!(
            "serve: loaded `{name}`: version {}{published}, {} flags",
            status.version, status.flags
        ),
    }
    let store = Arc::new(store);
    let mut server = Server::new(Arc::clone(&store))
        .metrics(metrics)
        .max_body_bytes(args.max_body_bytes);
    if let Some(tokens) = tokens {
        server = server.tokens(tokens);
    }
    for origin in &args.cors_origins {
        server = server.cors_origin(origin.as_str());
    }
    // The dashboard's registry lives on a thread of its own (see
    // `RegistryVersions`), ended after the server's runtime is gone.
    let mut registry_thread = None;
    let dashboard_mode = match dashboard {
        None => None,
        // Writes from the dashboard go to the database the store follows,
        // through the same registry as `killswitch kill` and `rollback`.
        Some(settings) => match args.source.as_deref() {
            Some(url) if crate::fleet::is_postgres(url) => {
                let spawned = killswitch_fleet::Registry::connect(url)
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        crate::dashboard::RegistryVersions::spawn(r).map_err(|e| e.to_string())
                    });
                match spawned {
                    Ok((versions, thread)) => {
                        registry_thread = Some(thread);
                        server = server.dashboard(settings.dashboard.versions(versions));
                        Some(if settings.has_admin {
                            "actions write new versions to the database"
                        } else {
                            "read-only: no admin token was given, so every action is refused; \
                             --admin-token-file (or KILLSWITCH_ADMIN_TOKEN) enables them"
                        })
                    }
                    Err(e) => {
                        eprintln!("error: the dashboard cannot open `{name}` for writes: {e}");
                        store.shutdown();
                        return USAGE;
                    }
                }
            }
            _ => {
                server = server.dashboard(settings.dashboard);
                Some("read-only: the source is not versioned")
            }
        },
    };
    let result = server.run(args.listen, |addr| {
        eprintln!("serve: listening on http://{addr} (OFREP at /ofrep/v1/evaluate/flags)");
        if let Some(mode) = dashboard_mode {
            eprintln!("serve: dashboard at http://{addr}/dashboard ({mode})");
        }
    });
    if let Some(thread) = registry_thread {
        if !thread.close(Duration::from_secs(15)) {
            eprintln!("serve: the dashboard's database connection did not close in time");
        }
    }
    store.shutdown();
    match result {
        Ok(()) => {
            eprintln!("serve: stopped");
            0
        }
        Err(e) => {
            eprintln!("error: cannot serve on {}: {e}", args.listen);
            USAGE
        }
    }
}

/// The log line of a store event: one line, whatever the error's length.
fn event_line(source: &str, event: &StoreEvent) -> String {
    match event {
        StoreEvent::Reloaded { version, flags } => {
            format!("serve: reloaded `{source}`: version {version}, {flags} flags")
        }
        StoreEvent::Rejected { version, error }
            if error.config_error().is_none() && !error.is_missing() =>
        {
            format!(
                "serve: source `{source}` is degraded (version {version} keeps serving): {}",
                first_line(error)
            )
        }
        StoreEvent::Rejected { version, error } => format!(
            "serve: rejected a change of `{source}` (version {version} keeps serving): {}",
            first_line(error)
        ),
        StoreEvent::Recovered { version } => format!(
            "serve: `{source}` is healthy again (version {version} keeps serving): \
             the last error no longer stands"
        ),
        _ => format!("serve: {event:?}"),
    }
}

/// The first line of an error's text, with a count of the rest.
fn first_line(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or_default().trim().to_string();
    match lines.next_back() {
        Some(last) if last.trim() != first => format!("{first} ... {}", last.trim()),
        _ => first,
    }
}
