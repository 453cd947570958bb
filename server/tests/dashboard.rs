//! The dashboard over real HTTP on a loopback port: the pages and JSON
//! endpoints, tokens and sessions, CSRF and origin checks, escaping of
//! hostile config content, and the write path (kill, rollout, rollback,
//! a stale write, an invalid result) over the in-memory versioned source.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use killswitch::store::Store;
use killswitch::{Context, FlagSet, Format};
use killswitch_server::dashboard::{
    Change, Dashboard, MemoryVersions, VersionInfo, VersionText, Versions, WriteError,
};
use killswitch_server::Tokens;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};
use support::{Reply, TestServer};

const FLAGS: &str = r#"[
  {"flag_key": "checkout", "enabled": true, "rollout_percentage": 100},
  {"flag_key": "express", "enabled": true, "requires": ["checkout"], "rollout_percentage": 100},
  {"flag_key": "one_click", "enabled": true, "requires": ["express"], "rollout_percentage": 100},
  {"flag_key": "staff", "enabled": true, "rollout_percentage": 0,
   "targeting_rules": {"allow_list": ["email endsWith \"@internal.com\""]}},
  {"flag_key": "<img src=x onerror=alert(1)>", "enabled": true,
   "targeting_rules": {"allow_list": ["email == \"</code><script>alert(2)</script>\""]}}
]"#;

const READ: &str = "read-token-7f3a";
const ADMIN: &str = "admin-token-91c2";

impl TestServer {
    fn with_dashboard(store: Store, dashboard: Dashboard) -> TestServer {
        TestServer::start(store, |server| server.dashboard(dashboard))
    }

    /// A server over in-memory versions of `FLAGS`, with read and admin tokens.
    fn versioned() -> (TestServer, MemoryVersions) {
        TestServer::versioned_with(Tokens::new([ADMIN]))
    }

    /// The same with these admin tokens.
    fn versioned_with(admin: Tokens) -> (TestServer, MemoryVersions) {
        let versions = MemoryVersions::new(FLAGS, "test").unwrap();
        let store = Store::builder(versions.source())
            .poll_interval(None)
            .start()
            .unwrap();
        let dashboard = Dashboard::new()
            .read_tokens(Tokens::new([READ]))
            .admin_tokens(admin)
            .versions(versions.clone());
        (TestServer::with_dashboard(store, dashboard), versions)
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers, "")
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Logs in through the form; returns the `Cookie` header value.
    fn login(&self, token: &str, name: &str) -> String {
        let body = format!("name={}&token={token}", name.replace(' ', "+"));
        let origin = self.origin();
        let reply = self.request(
            "POST",
            "/dashboard/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &origin),
            ],
            &body,
        );
        assert_eq!(reply.status, 303, "{}", reply.body);
        let cookie = reply.header("set-cookie").unwrap().to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        cookie.split(';').next().unwrap().to_string()
    }
}

/// What the pages hold.
trait Page {
    fn field(&self, name: &str) -> String;
}

impl Page for Reply {
    /// The value of the first hidden `name` field of the page.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name}"))
            + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_string()
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The OFREP answer for `key` and user `u1`.
fn ofrep(server: &TestServer, key: &str) -> Value {
    server
        .request(
            "POST",
            &format!("/ofrep/v1/evaluate/flags/{key}"),
            &[],
            r#"{"context": {"targetingKey": "u1"}}"#,
        )
        .json()
}

#[test]
fn a_file_source_serves_a_read_only_dashboard() {
    let server = TestServer::with_dashboard(
        Store::new(FlagSet::from_json(FLAGS).unwrap()),
        Dashboard::new(),
    );
    let page = server.get("/dashboard", &[]);
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.body.contains("<code>checkout</code>"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let flag = server.get("/dashboard/flags/checkout", &[]);
    assert!(
        flag.body.contains("id=\"read-only-reason\""),
        "{}",
        flag.body
    );
    assert!(flag.body.contains("plain file"));
    let list = server.get("/api/v1/flags", &[]).json();
    assert_eq!(list["writable"], false);
    assert_eq!(list["flag_count"], 5);
    assert_eq!(list["flags"][0]["key"], "checkout");
    assert_eq!(list["flags"][0]["state"], "on");
    assert_eq!(
        list["flags"][0]["blast_radius"],
        json!(["express", "one_click"])
    );
    // No history, and no writes (an unknown token is refused outright).
    assert_eq!(
        server.get("/api/v1/history", &[]).json()["error"],
        "no_history"
    );
    let kill = server.request(
        "POST",
        "/api/v1/flags/checkout/kill",
        &[],
        r#"{"message": "m", "expect_version": 1, "author": "a"}"#,
    );
    assert_eq!(kill.status, 403, "{}", kill.body);
    assert!(kill.json()["message"]
        .as_str()
        .unwrap()
        .contains("plain file"));
    let unknown = server.get("/api/v1/flags", &[("Authorization", &bearer(ADMIN))]);
    assert_eq!(unknown.status, 401);
    assert!(!server
        .store
        .evaluate("checkout", &Context::for_user("u1"))
        .reason
        .as_str()
        .contains("kill"));
}

/// The list's row of flag `key`.
fn row<'p>(page: &'p str, key: &str) -> &'p str {
    let start = page
        .find(&format!("<tr data-key=\"{key}\""))
        .unwrap_or_else(|| panic!("no row {key}"));
    let end = start + page[start..].find("</tr>").unwrap();
    &page[start..end]
}

#[test]
fn killed_and_disabled_flags_show_off_not_their_percentage() {
    let flags = r#"[
      {"flag_key": "killed", "enabled": true, "kill_switch": true, "rollout_percentage": 100},
      {"flag_key": "disabled", "enabled": false, "rollout_percentage": 30},
      {"flag_key": "ramping", "enabled": true, "rollout_percentage": 30}
    ]"#;
    let server = TestServer::with_dashboard(
        Store::new(FlagSet::from_json(flags).unwrap()),
        Dashboard::new(),
    );
    let page = server.get("/dashboard", &[]).body;
    let killed = row(&page, "killed");
    assert!(killed.contains("off for everyone: killed"), "{killed}");
    assert!(
        !killed.contains('%') && !killed.contains("meter"),
        "{killed}"
    );
    let disabled = row(&page, "disabled");
    assert!(
        disabled.contains("off for everyone: disabled"),
        "{disabled}"
    );
    assert!(
        !disabled.contains('%') && !disabled.contains("meter"),
        "{disabled}"
    );
    // A flag that serves keeps its bar.
    let ramping = row(&page, "ramping");
    assert!(
        ramping.contains("aria-label=\"30 percent\"") && ramping.contains("30 %"),
        "{ramping}"
    );
    // The flag's page: off now, the configured percentage apart.
    let flag = server.get("/dashboard/flags/killed", &[]).body;
    assert!(
        flag.contains("<dt>Rollout now</dt><dd><span class=\"muted inactive\">off for everyone: killed</span></dd><dt>rollout_percentage</dt><dd>100 %</dd>"),
        "{flag}"
    );
}

#[test]
fn the_root_redirects_to_the_dashboard() {
    let server = TestServer::with_dashboard(
        Store::new(FlagSet::from_json(FLAGS).unwrap()),
        Dashboard::new(),
    );
    let root = server.get("/", &[]);
    assert_eq!(root.status, 303, "{}", root.body);
    assert_eq!(root.header("location"), Some("/dashboard"));
    // Without the dashboard, `/` is OFREP's 404, as any unknown path.
    let plain = TestServer::start(Store::new(FlagSet::from_json(FLAGS).unwrap()), |s| s);
    let root = plain.get("/", &[]);
    assert_eq!(root.status, 404);
    assert_eq!(root.json()["errorCode"], "GENERAL");
}

#[test]
fn reads_need_a_token_and_writes_an_admin_token() {
    let (server, _) = TestServer::versioned();
    let page = server.get("/dashboard", &[]);
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/dashboard/login"));
    let api = server.get("/api/v1/flags", &[]);
    assert_eq!(api.status, 401);
    assert_eq!(api.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        server
            .get("/api/v1/flags", &[("Authorization", &bearer("wrong"))])
            .status,
        401
    );
    let read = server
        .get("/api/v1/flags", &[("Authorization", &bearer(READ))])
        .json();
    assert_eq!(read["writable"], false);
    assert_eq!(read["version"], 1);
    assert_eq!(
        server
            .get("/api/v1/status", &[("Authorization", &bearer(ADMIN))])
            .json()["writable"],
        true
    );
    let body = r#"{"message": "incident", "expect_version": 1, "author": "bot"}"#;
    let refused = server.request(
        "POST",
        "/api/v1/flags/checkout/kill",
        &[("Authorization", &bearer(READ))],
        body,
    );
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "forbidden");
    let refused = server.request("POST", "/api/v1/flags/checkout/kill", &[], body);
    assert_eq!(refused.status, 401);
    assert_eq!(ofrep(&server, "checkout")["value"], true);
    // A login with a wrong token makes no session.
    let reply = server.request(
        "POST",
        "/dashboard/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "name=x&token=nope",
    );
    assert_eq!(reply.status, 401);
    assert!(reply.header("set-cookie").is_none());
}

#[test]
fn a_kill_from_the_page_needs_csrf_and_reaches_ofrep() {
    let (server, versions) = TestServer::versioned();
    let cookie = server.login(ADMIN, "Ana On Call");
    let confirm = server.get("/dashboard/flags/checkout/kill", &[("Cookie", &cookie)]);
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("2 flag(s) depend on it"),
        "{}",
        confirm.body
    );
    // No token ever reaches the page.
    assert!(!confirm.body.contains(ADMIN));
    let csrf = confirm.field("csrf");
    let expect = confirm.field("expect_version");
    assert_eq!(expect, "1");
    let origin = server.origin();
    let form =
        |csrf: &str, message: &str| format!("csrf={csrf}&expect_version=1&message={message}");
    let post = |headers: &[(&str, &str)], body: &str| {
        let mut all = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie.as_str()),
        ];
        all.extend_from_slice(headers);
        server.request("POST", "/dashboard/flags/checkout/kill", &all, body)
    };
    // Without the CSRF token, from another site, or without a message: refused.
    assert_eq!(post(&[("Origin", &origin)], &form("", "INC-1")).status, 403);
    assert_eq!(
        post(&[("Origin", &origin)], &form("wrong", "INC-1")).status,
        403
    );
    assert_eq!(
        post(&[("Origin", "http://evil.example")], &form(&csrf, "INC-1")).status,
        403
    );
    assert_eq!(
        post(&[("Origin", &origin)], &form(&csrf, "+++")).status,
        422
    );
    assert_eq!(versions.current().unwrap().version, 1);
    // Done right: a new version, attributed, and OFREP sees it at once.
    let done = post(&[("Origin", &origin)], &form(&csrf, "INC-1+payments+down"));
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.header("location"),
        Some("/dashboard/flags/checkout?published=2")
    );
    let current = versions.current().unwrap();
    assert_eq!(
        (
            current.version,
            current.author.as_str(),
            current.message.as_str()
        ),
        (2, "Ana On Call", "INC-1 payments down")
    );
    assert_eq!(ofrep(&server, "checkout")["reason"], "DISABLED");
    assert_eq!(ofrep(&server, "one_click")["value"], false);
    // The same form again is stale now.
    let stale = post(&[("Origin", &origin)], &form(&csrf, "again"));
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains("Stale"), "{}", stale.body);
    // A session's JSON write needs the CSRF header too.
    let json_body = r#"{"killed": false, "message": "recovered", "expect_version": 2}"#;
    let api = |csrf: Option<&str>| {
        let mut headers = vec![("Cookie", cookie.as_str()), ("Origin", origin.as_str())];
        if let Some(c) = csrf {
            headers.push(("X-CSRF-Token", c));
        }
        server.request("POST", "/api/v1/flags/checkout/kill", &headers, json_body)
    };
    assert_eq!(api(None).status, 403);
    let unkilled = api(Some(&csrf));
    assert_eq!(unkilled.status, 200, "{}", unkilled.body);
    assert_eq!(unkilled.json()["version"], 3);
    assert_eq!(ofrep(&server, "checkout")["value"], true);
    // Logging out ends the session.
    let logout = server.request(
        "POST",
        "/dashboard/logout",
        &[
            ("Cookie", &cookie),
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrf={csrf}"),
    );
    assert_eq!(logout.status, 303);
    assert_eq!(server.get("/dashboard", &[("Cookie", &cookie)]).status, 303);
}

#[test]
fn a_token_removed_from_its_file_is_refused_and_ends_its_sessions() {
    let dir = support::temp_dir();
    let file = dir.join("admin.tokens");
    support::replace_file(&file, &format!("{ADMIN}\nother-admin-token\n"));
    let admin = Tokens::watch_file(&file).unwrap();
    let (server, _) = TestServer::versioned_with(admin.clone());
    let cookie = server.login(ADMIN, "Ana");
    let other = server.login("other-admin-token", "Bo");
    assert_eq!(server.get("/dashboard", &[("Cookie", &cookie)]).status, 200);
    let bearer_status = |token: &str| {
        server
            .get("/api/v1/status", &[("Authorization", &bearer(token))])
            .status
    };
    assert_eq!(bearer_status(ADMIN), 200);

    // The leaked token leaves the file (reloaded at once, as on SIGHUP).
    support::replace_file(&file, "other-admin-token\n");
    assert_eq!(admin.reload().unwrap(), Some(1));
    assert_eq!(bearer_status(ADMIN), 401);
    let page = server.get("/dashboard", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/dashboard/login"));
    // The other token's session is untouched.
    assert_eq!(server.get("/dashboard", &[("Cookie", &other)]).status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stale_and_invalid_writes_are_refused_and_write_nothing() {
    let (server, versions) = TestServer::versioned();
    let admin = bearer(ADMIN);
    let write = |path: &str, body: Value| {
        server.request(
            "POST",
            path,
            &[("Authorization", &admin)],
            &body.to_string(),
        )
    };
    let first = write(
        "/api/v1/flags/staff/rollout",
        json!({"percentage": 20, "message": "ramp", "expect_version": 1, "author": "bo"}),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let stale = write(
        "/api/v1/flags/checkout/kill",
        json!({"message": "INC-2", "expect_version": 1, "author": "cy"}),
    );
    assert_eq!(stale.status, 409);
    let stale = stale.json();
    assert_eq!(stale["error"], "stale_version");
    assert_eq!(stale["current_version"], 2);
    assert!(stale["message"]
        .as_str()
        .unwrap()
        .contains("version 2 has been published since"));
    assert_eq!(
        write(
            "/api/v1/flags/staff/rollout",
            json!({"percentage": 101, "message": "m", "expect_version": 2, "author": "a"})
        )
        .status,
        422
    );
    assert_eq!(
        write(
            "/api/v1/flags/nope/kill",
            json!({"message": "m", "expect_version": 2, "author": "a"})
        )
        .json()["error"],
        "unknown_flag"
    );
    assert_eq!(
        write(
            "/api/v1/flags/checkout/kill",
            json!({"message": "m", "expect_version": 2})
        )
        .json()["error"],
        "author_required"
    );
    // An invalid config is refused with its diagnostics.
    let invalid = versions.publish(
        r#"[{"flag_key": "x", "enabled": "yes"}]"#,
        &Change::new("a", "m", 2),
    );
    match invalid {
        Err(WriteError::Invalid { diagnostics }) => {
            assert!(diagnostics.contains("enabled"), "{diagnostics}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(versions.current().unwrap().version, 2);
    assert_eq!(versions.history(10).unwrap().len(), 2);
}

/// A source that refuses every write as invalid.
struct Refusing;

impl Versions for Refusing {
    fn current(&self) -> Result<VersionInfo, WriteError> {
        Ok(VersionInfo::new(
            7,
            "<b>mallory</b>",
            "<script>alert(3)</script>",
            SystemTime::now(),
        ))
    }
    fn history(&self, _: usize) -> Result<Vec<VersionInfo>, WriteError> {
        Ok(vec![self.current()?])
    }
    fn version(&self, _: u64) -> Result<VersionText, WriteError> {
        Ok(VersionText::new(
            self.current()?,
            FLAGS.to_string(),
            Format::Json,
        ))
    }
    fn set_kill(&self, _: &str, _: bool, _: &Change) -> Result<u64, WriteError> {
        Err(WriteError::Invalid {
            diagnostics: "error: <b>bad</b> rule".to_string(),
        })
    }
    fn set_rollout(&self, flag: &str, p: u8, c: &Change) -> Result<u64, WriteError> {
        let _ = (p, c);
        self.set_kill(flag, true, c)
    }
    fn rollback(&self, _: u64, c: &Change) -> Result<u64, WriteError> {
        self.set_kill("", true, c)
    }
}

#[test]
fn hostile_content_is_escaped_everywhere() {
    let store = Store::new(FlagSet::from_json(FLAGS).unwrap());
    let dashboard = Dashboard::new()
        .admin_tokens(Tokens::new([ADMIN]))
        .versions(Refusing);
    let server = TestServer::with_dashboard(store, dashboard);
    let list = server.get("/dashboard", &[]);
    let flag = server.get(
        "/dashboard/flags/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        &[],
    );
    assert_eq!(flag.status, 200, "{}", flag.body);
    let history = server.get("/dashboard/history", &[]);
    for page in [&list, &flag, &history] {
        assert!(!page.body.contains("<img src=x"), "{}", page.body);
        assert!(!page.body.contains("<script>alert"), "{}", page.body);
        assert!(!page.body.contains("<b>mallory"), "{}", page.body);
        assert!(page.body.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
    }
    assert!(list.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(list
        .body
        .contains("href=\"/dashboard/flags/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\""));
    assert!(flag
        .body
        .contains("&lt;/code&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    // A refused write shows the diagnostics, escaped.
    let cookie = server.login(ADMIN, "eve");
    let confirm = server.get("/dashboard/flags/checkout/kill", &[("Cookie", &cookie)]);
    let body = format!("csrf={}&expect_version=7&message=m", confirm.field("csrf"));
    let refused = server.request(
        "POST",
        "/dashboard/flags/checkout/kill",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    );
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("error: &lt;b&gt;bad&lt;/b&gt; rule"),
        "{}",
        refused.body
    );
    // And the hostile context of a try is escaped too.
    let tried = server.request(
        "POST",
        "/dashboard/flags/staff/try",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "context=%7B%22user_id%22%3A%22%3Cscript%3Ex%3C%2Fscript%3E%22%7D",
    );
    assert!(!tried.body.contains("<script>x"), "{}", tried.body);
}

#[test]
fn try_a_user_gives_the_engines_decision_and_trace() {
    let (server, _) = TestServer::versioned();
    let auth = bearer(READ);
    let reply = server.request(
        "POST",
        "/api/v1/evaluate",
        &[("Authorization", &auth)],
        r#"{"flag": "staff", "context": {"user_id": "u1", "email": "ana@internal.com"}}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let result = &reply.json()["results"][0];
    assert_eq!(
        result["decision"],
        json!({"flag": "staff", "user_id": "u1", "enabled": true, "reason": "allow_rule", "rule": 0, "variant": "on", "value": true})
    );
    let set = FlagSet::from_json(FLAGS).unwrap();
    let ctx = Context::from_json(r#"{"user_id": "u1", "email": "ana@internal.com"}"#).unwrap();
    assert_eq!(
        result["explanation_text"],
        set.get("staff").unwrap().explain(&ctx).to_string()
    );
    assert_eq!(result["explanation"][2]["step"], "allow_list[0]");
    let all = server.request(
        "POST",
        "/api/v1/evaluate",
        &[("Authorization", &auth)],
        r#"{"context": {}}"#,
    );
    assert_eq!(all.json()["results"].as_array().unwrap().len(), 5);
    let bad = server.request(
        "POST",
        "/api/v1/evaluate",
        &[("Authorization", &auth)],
        r#"{"context": 3}"#,
    );
    assert_eq!(bad.status, 400);
    let deep = format!(
        "{{\"context\": {{\"a\": {}1{}}}}}",
        "[".repeat(64),
        "]".repeat(64)
    );
    assert_eq!(
        server
            .request(
                "POST",
                "/api/v1/evaluate",
                &[("Authorization", &auth)],
                &deep
            )
            .json()["error"],
        "invalid_context"
    );
    // The page form gives the same line.
    let cookie = server.login(READ, "reader");
    let page = server.request(
        "POST",
        "/dashboard/flags/staff/try",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "context=%7B%22user_id%22%3A%22u1%22%2C%22email%22%3A%22ana%40internal.com%22%7D",
    );
    assert!(
        page.body.contains("id=\"try-reason\">allow_rule<"),
        "{}",
        page.body
    );
}

#[test]
fn rollback_restores_the_earlier_decisions() {
    let (server, versions) = TestServer::versioned();
    let admin = bearer(ADMIN);
    let write = |path: &str, body: Value| {
        server.request(
            "POST",
            path,
            &[("Authorization", &admin)],
            &body.to_string(),
        )
    };
    assert_eq!(
        write(
            "/api/v1/flags/checkout/kill",
            json!({"message": "INC-3", "expect_version": 1, "author": "a"})
        )
        .status,
        200
    );
    assert_eq!(
        write(
            "/api/v1/flags/staff/rollout",
            json!({"percentage": 100, "message": "all", "expect_version": 2, "author": "a"})
        )
        .status,
        200
    );
    assert_eq!(ofrep(&server, "checkout")["value"], false);
    assert_eq!(ofrep(&server, "staff")["value"], true);
    let history = server
        .get("/api/v1/history", &[("Authorization", &admin)])
        .json();
    let listed: Vec<u64> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, [3, 2, 1]);
    assert_eq!(history["versions"][0]["message"], "all");
    // The preview says what changes.
    let cookie = server.login(ADMIN, "ana");
    let preview = server.get("/dashboard/history/1/rollback", &[("Cookie", &cookie)]);
    assert!(
        preview.body.contains("kill_switch: true -&gt; false"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("rollout_percentage: 100 % -&gt; 0 %"),
        "{}",
        preview.body
    );
    let back = write(
        "/api/v1/rollback",
        json!({"version": 1, "message": "back to the start", "expect_version": 3, "author": "a"}),
    );
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.json()["version"], 4);
    assert_eq!(ofrep(&server, "checkout")["value"], true);
    assert_eq!(ofrep(&server, "staff")["value"], false);
    assert_eq!(
        versions.version(4).unwrap().text,
        versions.version(1).unwrap().text
    );
    assert_eq!(history["versions"][1]["changed"], json!(["checkout"]));
}

#[test]
fn readyz_and_the_dashboard_give_publication_times_alike() {
    let (server, _versions) = TestServer::versioned();
    let ready = server.get("/readyz", &[]).json();
    let status = server
        .get("/api/v1/status", &[("Authorization", &bearer(READ))])
        .json();
    let published = ready["published_at"].as_str().unwrap();
    assert_eq!(Some(published), status["published_at"].as_str());
    // RFC 3339 in UTC, to the second, which the engine reads back.
    assert!(
        published.ends_with('Z') && published.len() == 20,
        "{published}"
    );
    assert!(killswitch::parse_time(published).is_some(), "{published}");
    assert_eq!(ready["published_version"], 1);
}

#[test]
fn events_announce_new_versions() {
    let (server, versions) = TestServer::versioned();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ}\r\n\r\n"
    )
    .unwrap();
    let read_until = |stream: &mut TcpStream, needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        while !seen.contains(needle) {
            assert!(Instant::now() < deadline, "no {needle:?} in {seen:?}");
            let n = stream.read(&mut buf).unwrap();
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        seen
    };
    let head = read_until(&mut stream, "\"serving_version\":1");
    assert!(head.contains("text/event-stream"), "{head}");
    versions
        .set_kill("checkout", true, &Change::new("a", "m", 1))
        .unwrap();
    server.store.reload().unwrap();
    read_until(&mut stream, "\"serving_version\":2");
}
