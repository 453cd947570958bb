//! `killswitch serve` stops cleanly in every mode: a file or a database
//! (a throw-away PostgreSQL cluster; skipped without PostgreSQL unless
//! `CI` is set), each with and without the dashboard, after writes, on
//! SIGTERM (a rolling restart) and on SIGINT (Ctrl-C): exit 0, `serve:
//! stopped` last, and no panic. And what a database-backed dashboard
//! without an admin token says of itself.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fleet/tests/support/pg.rs"]
mod pg;

mod support;

use pg::{Cluster, PASSWORD};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{http_json, killswitch, replace, signal, temp_dir, version_of, wait_exit, DEADLINE};

const ADMIN: &str = "shutdown-admin-token-7c2";

fn config(killed: bool) -> String {
    format!(
        r#"[{{"flag_key": "checkout_v2", "enabled": true, "kill_switch": {killed}, "rollout_percentage": 100}}]"#
    )
}

/// What `checkout_v2` evaluates to.
fn served(addr: SocketAddr) -> Value {
    let (status, body) = http_json(
        addr,
        "POST",
        "/ofrep/v1/evaluate/flags/checkout_v2",
        "",
        r#"{"context": {"targetingKey": "u1"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    body["value"].clone()
}

fn wait_served(addr: SocketAddr, value: bool) {
    let start = Instant::now();
    while served(addr) != value {
        assert!(start.elapsed() < DEADLINE, "never served {value}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every line the process writes until its stderr closes.
fn rest_of(log: &mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = log.recv_timeout(DEADLINE) {
        lines.push(line);
    }
    lines
}

/// How a replica gets its flags.
#[derive(Clone, Copy, Debug)]
enum Source {
    File,
    Database,
}

/// Serves in one mode, makes writes through it, stops it with `sig`:
/// exit 0, and the last line is `serve: stopped`.
fn serve_write_and_stop(dir: &Path, url: &str, source: Source, dashboard: bool, sig: &str) {
    let what = format!("{source:?}, dashboard {dashboard}, SIG{sig}");
    let mut args: Vec<&str> = match source {
        Source::File => vec!["flags.json", "--poll-ms", "100"],
        Source::Database => vec!["--source", url, "--poll-ms", "100"],
    };
    if dashboard {
        args.extend(["--dashboard", "--admin-token-file", "admin.tokens"]);
    }
    let support::Served {
        mut child,
        addr,
        mut before,
        log,
    } = support::serve(dir, &args, Some(PASSWORD));
    wait_served(addr, true);
    // A write from outside: the file rewritten, or `killswitch kill`.
    match source {
        Source::File => replace(&dir.join("flags.json"), &config(true)),
        Source::Database => {
            version_of(&killswitch(
                dir,
                &["kill", "checkout_v2", "--to", url, "--message", "INC-1"],
            ));
        }
    }
    wait_served(addr, false);
    if dashboard {
        let auth = format!("Authorization: Bearer {ADMIN}\r\n");
        let (status, flags) = http_json(addr, "GET", "/api/v1/flags", &auth, "");
        assert_eq!(status, 200, "{what}: {flags}");
        let version = flags["version"].as_u64().unwrap();
        // A write through the dashboard: made by its registry on a
        // database, refused as read-only on a file.
        let unkill = json!({"killed": false, "message": "INC-1 over", "expect_version": version, "author": "ci"});
        let (status, body) = http_json(
            addr,
            "POST",
            "/api/v1/flags/checkout_v2/kill",
            &auth,
            &unkill.to_string(),
        );
        match source {
            Source::Database => {
                assert_eq!(status, 200, "{what}: {body}");
                wait_served(addr, true);
                let (status, history) = http_json(addr, "GET", "/api/v1/history", &auth, "");
                assert_eq!(status, 200, "{what}: {history}");
            }
            Source::File => assert_eq!((status, &body["error"]), (403, &json!("read_only"))),
        }
    }
    signal(&child.0, sig);
    let status = wait_exit(&mut child.0);
    before.extend(rest_of(&log));
    assert_eq!(status.code(), Some(0), "{what}: {before:#?}");
    assert_eq!(
        before.last().map(String::as_str),
        Some("serve: stopped"),
        "{what}: {before:#?}"
    );
    assert!(
        before.iter().all(|l| !l.contains("panicked")),
        "{what}: {before:#?}"
    );
}

#[test]
fn serve_exits_0_on_sigterm_and_sigint_in_every_mode() {
    let Some(pg) = Cluster::start("shutdown") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("shutdown");
    std::fs::write(dir.join("admin.tokens"), format!("{ADMIN}\n")).unwrap();
    for source in [Source::File, Source::Database] {
        for dashboard in [false, true] {
            for sig in ["TERM", "INT"] {
                // Each run starts from a flag that is on.
                replace(&dir.join("flags.json"), &config(false));
                if matches!(source, Source::Database) {
                    version_of(&killswitch(
                        &dir,
                        &["publish", "flags.json", "--to", &url, "--message", "start"],
                    ));
                }
                serve_write_and_stop(&dir, &url, source, dashboard, sig);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_dashboard_without_an_admin_token_says_it_is_read_only() {
    let Some(pg) = Cluster::start("read-only") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("read-only");
    replace(&dir.join("flags.json"), &config(false));
    let v1 = version_of(&killswitch(
        &dir,
        &["publish", "flags.json", "--to", &url, "--message", "start"],
    ));
    let support::Served {
        mut child,
        addr,
        log,
        ..
    } = support::serve(&dir, &["--source", &url, "--dashboard"], Some(PASSWORD));
    let line = log.recv_timeout(DEADLINE).unwrap();
    assert!(
        line.starts_with("serve: dashboard at http://")
            && line.contains("(read-only: no admin token was given, so every action is refused; --admin-token-file (or KILLSWITCH_ADMIN_TOKEN) enables them)"),
        "{line}"
    );
    assert!(!line.contains("write new versions"), "{line}");
    // What the line says is what happens: the action is refused, and
    // the database has no new version.
    let kill = json!({"message": "INC-2", "expect_version": v1, "author": "ci"});
    let (status, body) = http_json(
        addr,
        "POST",
        "/api/v1/flags/checkout_v2/kill",
        "",
        &kill.to_string(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--admin-token-file"),
        "{body}"
    );
    let history = killswitch(&dir, &["history", "--from", &url, "--format", "json"]);
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(!text.contains("INC-2"), "{text}");
    signal(&child.0, "TERM");
    assert_eq!(wait_exit(&mut child.0).code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
