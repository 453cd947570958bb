//! `killswitch serve --source postgres://... --dashboard` on a real
//! PostgreSQL (a throw-away cluster; skipped without PostgreSQL unless
//! `CI` is set): the dashboard's writes go through the fleet registry as
//! `killswitch kill` and `rollback` make them, compare-and-set on the
//! version shown, attributed, and OFREP sees them at once.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fleet/tests/support/pg.rs"]
mod pg;

mod support;

use pg::{Cluster, PASSWORD};
use serde_json::{json, Value};
use std::net::SocketAddr;
use support::{http_json, killswitch, DEADLINE};

const ADMIN: &str = "dashboard-admin-token-5e1";
const READ: &str = "dashboard-read-token-93a";

const CONFIG: &str = r#"[
  {"flag_key": "checkout_v2", "enabled": true, "rollout_percentage": 100},
  {"flag_key": "one_click", "enabled": true, "requires": ["checkout_v2"], "rollout_percentage": 100}
]"#;

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    http_json(addr, method, path, &auth, body)
}

fn ofrep(addr: SocketAddr, key: &str) -> Value {
    let path = format!("/ofrep/v1/evaluate/flags/{key}");
    request(
        addr,
        "POST",
        &path,
        None,
        r#"{"context": {"targetingKey": "u1"}}"#,
    )
    .1
}

#[test]
fn dashboard_writes_go_to_the_database() {
    let Some(pg) = Cluster::start("dashboard") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = support::temp_dir("dashboard-fleet");
    std::fs::write(dir.join("flags.json"), CONFIG).unwrap();
    std::fs::write(dir.join("admin.tokens"), format!("{ADMIN}\n")).unwrap();
    std::fs::write(dir.join("read.tokens"), format!("{READ}\n")).unwrap();
    let published = killswitch(
        &dir,
        &[
            "publish",
            "flags.json",
            "--to",
            &url,
            "--author",
            "ci",
            "--message",
            "first",
        ],
    );
    assert_eq!(
        published.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let first: u64 = String::from_utf8_lossy(&published.stdout)
        .trim()
        .parse()
        .unwrap();

    let support::Served {
        child,
        addr,
        before: mut lines,
        log,
    } = support::serve(
        &dir,
        &[
            "--source",
            &url,
            "--dashboard",
            "--admin-token-file",
            "admin.tokens",
            "--dashboard-token-file",
            "read.tokens",
        ],
        None,
    );
    let line = log.recv_timeout(DEADLINE).unwrap();
    assert!(
        line.contains("actions write new versions to the database"),
        "{line}"
    );
    lines.push(line);

    // The page and the JSON show the database's version and who published it.
    let (status, flags) = request(addr, "GET", "/api/v1/flags", Some(READ), "");
    assert_eq!(status, 200);
    assert_eq!(
        (flags["version"].as_u64(), flags["published_by"].as_str()),
        (Some(first), Some("ci"))
    );
    assert_eq!(flags["writable"], false);
    let write = |token: Option<&str>, path: &str, body: Value| {
        request(addr, "POST", path, token, &body.to_string())
    };
    let kill = json!({"message": "INC-9: checkout errors", "expect_version": first, "author": "pager-bot"});
    // Not with the read token, not without a token.
    assert_eq!(
        write(Some(READ), "/api/v1/flags/checkout_v2/kill", kill.clone()).0,
        403
    );
    assert_eq!(
        write(None, "/api/v1/flags/checkout_v2/kill", kill.clone()).0,
        401
    );
    // With the admin token: a new version, and OFREP serves it at once.
    let (status, done) = write(Some(ADMIN), "/api/v1/flags/checkout_v2/kill", kill.clone());
    assert_eq!(status, 200, "{done}");
    let killed = done["version"].as_u64().unwrap();
    assert!(killed > first);
    assert_eq!(ofrep(addr, "checkout_v2")["reason"], "DISABLED");
    assert_eq!(ofrep(addr, "one_click")["value"], false);
    // The same write again is stale: nothing is written.
    let (status, stale) = write(Some(ADMIN), "/api/v1/flags/checkout_v2/kill", kill);
    assert_eq!(status, 409, "{stale}");
    assert_eq!(
        (stale["error"].as_str(), stale["current_version"].as_u64()),
        (Some("stale_version"), Some(killed))
    );
    // An edit the registry cannot make is refused with its reason.
    let (status, refused) = write(
        Some(ADMIN),
        "/api/v1/flags/nope/rollout",
        json!({"percentage": 5, "message": "m", "expect_version": killed, "author": "a"}),
    );
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["diagnostics"].as_str().unwrap().contains("nope"),
        "{refused}"
    );
    // The command line's history shows the dashboard's write, attributed.
    let history = killswitch(&dir, &["history", "--from", &url, "--format", "json"]);
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(
        text.contains("pager-bot") && text.contains("INC-9: checkout errors"),
        "{text}"
    );
    let (_, versions) = request(addr, "GET", "/api/v1/history", Some(READ), "");
    let changed = versions["versions"][0]["changed"].as_array().unwrap();
    assert!(changed.contains(&json!("checkout_v2")), "{versions}");
    // Rollback restores the first version's decisions.
    let (status, back) = write(
        Some(ADMIN),
        "/api/v1/rollback",
        json!({"version": first, "message": "INC-9 resolved", "expect_version": killed, "author": "pager-bot"}),
    );
    assert_eq!(status, 200, "{back}");
    assert_eq!(ofrep(addr, "checkout_v2")["value"], true);
    assert_eq!(ofrep(addr, "one_click")["value"], true);
    // No secret in the log: neither the database password nor a token.
    drop(child);
    lines.extend(log.try_iter());
    for line in &lines {
        assert!(
            !line.contains(PASSWORD) && !line.contains(ADMIN) && !line.contains(READ),
            "{line}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
