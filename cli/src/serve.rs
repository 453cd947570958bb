//! `killswitch serve`: answer OpenFeature's OFREP over HTTP from a config
//! file followed by the live store, as `watch` follows it.

use crate::output::{follow_file, USAGE};
use clap::Args;
use killswitch::store::StoreEvent;
use killswitch_server::{Metrics, Server, Tokens, DEFAULT_LISTEN};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// The config file (JSON, YAML or TOML, by its extension) to serve and
    /// follow.
    #[arg(value_name = "FILE")]
    file: String,
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
    /// Serve the flag dashboard at /dashboard and its JSON at /api/v1.
    /// With a plain file source it is read-only.
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
    /// Also re-read the file this often, in milliseconds, in case a file
    /// notification is missed (network file systems).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    poll_ms: u64,
}

/// Serves until SIGTERM or Ctrl-C (exit 0).
pub(crate) fn run(args: &ServeArgs) -> u8 {
    let tokens = match &args.token_file {
        None => None,
        Some(path) => match Tokens::from_file(path) {
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
            Ok(d) => Some(d),
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
    let source = args.file.clone();
    let on_event = move |event: &StoreEvent| {
        observer.observe(event);
        eprintln!("{}", event_line(&source, event));
    };
    let store = match follow_file(
        &args.file,
        args.poll_ms,
        args.allow_missing,
        "killswitch-serve-store",
        on_event,
    ) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let status = store.status();
    match &status.last_error {
        Some(e) => eprintln!("serve: waiting for `{}`: {}", args.file, first_line(e)),
        None => eprintln!(
            "serve: loaded `{}`: version {}, {} flags",
            args.file, status.version, status.flags
        ),
    }
    let store = Arc::new(store);
    let mut server = Server::new(Arc::clone(&store))
        .metrics(metrics)
        .max_body_bytes(args.max_body_bytes);
    if let Some(tokens) = tokens {
        server = server.tokens(tokens);
    }
    let with_dashboard = dashboard.is_some();
    if let Some(dashboard) = dashboard {
        server = server.dashboard(dashboard);
    }
    let result = server.run(args.listen, |addr| {
        eprintln!("serve: listening on http://{addr} (OFREP at /ofrep/v1/evaluate/flags)");
        if with_dashboard {
            eprintln!("serve: dashboard at http://{addr}/dashboard (read-only: plain file source)");
        }
    });
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
        StoreEvent::Rejected { version, error } => format!(
            "serve: rejected a change of `{source}` (version {version} keeps serving): {}",
            first_line(error)
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
