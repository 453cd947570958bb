//! The service over real HTTP on a loopback port: every endpoint and
//! error, the ETag cycle, live reload, auth, limits, slow clients and
//! graceful shutdown. The client is a few lines over `TcpStream`, so that
//! the bytes on the wire are what is checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use killswitch::store::{FileSource, IfMissing, Store, StoreEvent};
use killswitch_server::{Metrics, Tokens};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{parse_reply, read_reply, replace_file, send, temp_dir, Reply, TestServer};

const FLAGS: &str = r#"[
  {"flag_key": "killed", "enabled": true, "kill_switch": true, "rollout_percentage": 100},
  {"flag_key": "disabled", "enabled": false, "rollout_percentage": 100},
  {"flag_key": "everyone", "enabled": true, "rollout_percentage": 100},
  {"flag_key": "nobody", "enabled": true, "rollout_percentage": 0},
  {"flag_key": "no_rollout", "enabled": true},
  {"flag_key": "staff", "enabled": true,
   "targeting_rules": {"allow_list": ["email endsWith \"@internal.com\""],
                       "deny_list": ["plan == \"free\""]},
   "rollout_percentage": 100},
  {"flag_key": "needs_killed", "enabled": true, "requires": ["killed"], "rollout_percentage": 100}
]"#;

impl TestServer {
    fn post(&self, path: &str, body: &str) -> Reply {
        self.request("POST", path, &[], body)
    }

    fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        self.request("POST", path, headers, body)
    }

    fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], "")
    }
}

fn fixed_store() -> Store {
    Store::new(killswitch::FlagSet::from_json(FLAGS).expect("valid flags"))
}

fn eval(server: &TestServer, key: &str, context: Value) -> Reply {
    server.post(
        &format!("/ofrep/v1/evaluate/flags/{key}"),
        &json!({ "context": context }).to_string(),
    )
}

#[test]
fn a_killed_flag_is_a_successful_false() {
    let server = TestServer::start(fixed_store(), |s| s);
    for key in ["killed", "disabled"] {
        let reply = eval(&server, key, json!({"targetingKey": "u1"}));
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body = reply.json();
        assert_eq!(body["key"], key);
        assert_eq!(body["value"], json!(false));
        assert_eq!(body["variant"], "off");
        assert_eq!(body["reason"], "DISABLED");
        assert!(body.get("errorCode").is_none());
    }
    let body = eval(&server, "killed", json!({})).json();
    assert_eq!(
        body["metadata"],
        json!({"reason": "kill_switch", "config_version": 1})
    );
    // A flag whose prerequisite is killed is off too, with its name.
    let body = eval(&server, "needs_killed", json!({"targetingKey": "u1"})).json();
    assert_eq!(body["value"], json!(false));
    assert_eq!(body["variant"], "off");
    assert_eq!(body["reason"], "TARGETING_MATCH");
    assert_eq!(body["metadata"]["reason"], "prerequisite_off");
    assert_eq!(body["metadata"]["prerequisite"], "killed");
}

#[test]
fn reasons_values_and_metadata() {
    let server = TestServer::start(fixed_store(), |s| s);
    let body = eval(&server, "everyone", json!({"targetingKey": "u1"})).json();
    assert_eq!(
        (
            body["value"].clone(),
            body["variant"].clone(),
            body["reason"].clone()
        ),
        (json!(true), json!("on"), json!("SPLIT"))
    );
    assert_eq!(body["metadata"]["reason"], "in_rollout");
    assert_eq!(body["metadata"]["percentage"], 100);
    assert_eq!(
        body["metadata"]["bucket"],
        json!(killswitch::bucket("u1", "everyone"))
    );
    let body = eval(&server, "nobody", json!({"user_id": "u1"})).json();
    assert_eq!(
        (body["value"].clone(), body["reason"].clone()),
        (json!(false), json!("SPLIT"))
    );
    assert_eq!(body["metadata"]["reason"], "out_of_rollout");
    // No user id: evaluated, not an error; the rollout cannot admit it.
    let body = eval(&server, "everyone", json!({"plan": "pro"})).json();
    assert_eq!(
        (body["value"].clone(), body["reason"].clone()),
        (json!(false), json!("DEFAULT"))
    );
    assert_eq!(body["metadata"]["reason"], "missing_user_id");
    let body = eval(&server, "no_rollout", json!({"targetingKey": "u1"})).json();
    assert_eq!(
        (body["value"].clone(), body["reason"].clone()),
        (json!(false), json!("DEFAULT"))
    );
    // Allow and deny rules, with attributes from the context; allow rules
    // apply without a user id.
    let body = eval(&server, "staff", json!({"email": "ana@internal.com"})).json();
    assert_eq!(
        (body["value"].clone(), body["reason"].clone()),
        (json!(true), json!("TARGETING_MATCH"))
    );
    assert_eq!(
        body["metadata"],
        json!({"reason": "allow_rule", "rule": 0, "config_version": 1})
    );
    let body = eval(
        &server,
        "staff",
        json!({"targetingKey": "u1", "plan": "free"}),
    )
    .json();
    assert_eq!(
        (body["value"].clone(), body["variant"].clone()),
        (json!(false), json!("off"))
    );
    assert_eq!(body["metadata"]["reason"], "deny_rule");
    // No body at all, and no context: an empty context.
    let reply = server.post("/ofrep/v1/evaluate/flags/killed", "");
    assert_eq!(reply.status, 200, "{reply:?}");
    let reply = server.post("/ofrep/v1/evaluate/flags/killed", "{}");
    assert_eq!(reply.json()["value"], json!(false));
}

fn assert_error(reply: &Reply, status: u16, code: &str, key: Option<&str>) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{reply:?}"
    );
    let body = reply.json();
    assert_eq!(body["errorCode"], code, "{reply:?}");
    assert!(
        body["errorDetails"].as_str().is_some_and(|d| !d.is_empty()),
        "{reply:?}"
    );
    match key {
        Some(key) => assert_eq!(body["key"], key, "{reply:?}"),
        None => assert!(body.get("key").is_none(), "{reply:?}"),
    }
}

#[test]
fn errors_have_ofrep_bodies() {
    let server = TestServer::start(fixed_store(), |s| s);
    let single = "/ofrep/v1/evaluate/flags/everyone";
    assert_error(
        &eval(&server, "nope", json!({})),
        404,
        "FLAG_NOT_FOUND",
        Some("nope"),
    );
    assert_error(
        &server.post(single, "{"),
        400,
        "PARSE_ERROR",
        Some("everyone"),
    );
    assert_error(
        &server.post(single, "[1]"),
        400,
        "PARSE_ERROR",
        Some("everyone"),
    );
    assert_error(
        &server.post(single, "\u{1}"),
        400,
        "PARSE_ERROR",
        Some("everyone"),
    );
    for context in [
        r#"{"context": 5}"#,
        r#"{"context": "u1"}"#,
        r#"{"context": null}"#,
        r#"{"context": {"targetingKey": 5}}"#,
        r#"{"context": {"user_id": ["u1"]}}"#,
        r#"{"context": {"targetingKey": "a", "user_id": "b"}}"#,
    ] {
        assert_error(
            &server.post(single, context),
            400,
            "INVALID_CONTEXT",
            Some("everyone"),
        );
    }
    let deep = format!(
        r#"{{"context": {{"a": {}1{}}}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    assert_error(
        &server.post(single, &deep),
        400,
        "INVALID_CONTEXT",
        Some("everyone"),
    );
    // The same on the bulk endpoint, whose failure schema has no key.
    let bulk = "/ofrep/v1/evaluate/flags";
    assert_error(&server.post(bulk, "{"), 400, "PARSE_ERROR", None);
    assert_error(
        &server.post(bulk, r#"{"context": []}"#),
        400,
        "INVALID_CONTEXT",
        None,
    );
    // A wrong content type is no reason to refuse JSON.
    let reply = server.post_with(single, &[("Content-Type", "text/plain")], "{}");
    assert_eq!(reply.status, 200);
    // Unknown paths and methods: OFREP-shaped too, never a bare 422/405.
    assert_error(&server.get(single), 405, "GENERAL", None);
    assert_error(&server.get("/nope"), 404, "GENERAL", None);
    assert_error(
        &server.post("/ofrep/v1/evaluate/flags/a/b", "{}"),
        404,
        "GENERAL",
        None,
    );
    // A key that does not decode.
    assert_error(
        &server.post("/ofrep/v1/evaluate/flags/%FF", "{}"),
        400,
        "PARSE_ERROR",
        None,
    );
}

#[test]
fn invalid_context_positions_are_in_the_body_sent() {
    let server = TestServer::start(fixed_store(), |s| s);
    let details = |path: &str, body: &str| {
        let reply = server.post(path, body);
        assert_eq!(reply.status, 400, "{reply:?}");
        let body = reply.json();
        assert_eq!(body["errorCode"], "INVALID_CONTEXT", "{reply:?}");
        body["errorDetails"].as_str().unwrap().to_string()
    };
    let single = "/ofrep/v1/evaluate/flags/everyone";
    // `5` is the body's 13th character (the context's 1st).
    assert_eq!(
        details(single, r#"{"context": 5}"#),
        "`context` must be a JSON object of attributes: invalid type: integer `5`, expected \
         a JSON object of attributes at line 1 column 13"
    );
    // A pretty-printed body, as a client library sends it: the `}` that
    // closes the context is line 4 column 3 of the body.
    let pretty = "{\n  \"context\": {\n    \"user_id\": 7\n  }\n}";
    assert_eq!(
        details(single, pretty),
        "`context` must be a JSON object of attributes: `user_id` must be a string at line 4 \
         column 3"
    );
    // The bulk endpoint places them alike.
    let d = details(
        "/ofrep/v1/evaluate/flags",
        r#"{"other": "ü", "context": []}"#,
    );
    assert!(d.ends_with(" at line 1 column 27"), "{d}");
}

#[test]
fn a_request_without_a_context_is_the_empty_context() {
    let server = TestServer::start(fixed_store(), |s| s);
    for body in ["", "{}", r#"{"other": 1}"#] {
        // No user id: a rollout cannot admit it, a killed flag is off.
        let reply = server.post("/ofrep/v1/evaluate/flags/everyone", body);
        assert_eq!(reply.status, 200, "{body:?}: {reply:?}");
        let answer = reply.json();
        assert_eq!(answer["value"], false, "{body:?}: {answer}");
        assert_eq!(answer["metadata"]["reason"], "missing_user_id", "{body:?}");
        let reply = server.post("/ofrep/v1/evaluate/flags/killed", body);
        assert_eq!(reply.json()["reason"], "DISABLED", "{body:?}");
        let reply = server.post("/ofrep/v1/evaluate/flags", body);
        assert_eq!(reply.status, 200, "{body:?}: {reply:?}");
    }
    // `null` is not "no context".
    let reply = server.post("/ofrep/v1/evaluate/flags/everyone", r#"{"context": null}"#);
    assert_eq!(reply.status, 400);
}

#[test]
fn percent_encoded_keys_are_decoded() {
    let flags = r#"{"flag_key": "a b/c", "enabled": true, "kill_switch": true}"#;
    let store = Store::new(killswitch::FlagSet::from_json(flags).unwrap());
    let server = TestServer::start(store, |s| s);
    let reply = server.post("/ofrep/v1/evaluate/flags/a%20b%2Fc", "{}");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["key"], "a b/c");
}

#[test]
fn bulk_answers_every_flag_with_an_etag_cycle() {
    let dir = temp_dir();
    let path = dir.join("flags.json");
    std::fs::write(&path, FLAGS).unwrap();
    let store = Store::builder(FileSource::new(&path))
        .poll_interval(Duration::from_millis(50))
        .start()
        .unwrap();
    let server = TestServer::start(store, |s| s);
    let bulk = "/ofrep/v1/evaluate/flags";
    let body = r#"{"context": {"targetingKey": "u1"}}"#;
    let first = server.post(bulk, body);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.header("content-type"), Some("application/json"));
    let answer = first.json();
    let flags = answer["flags"].as_array().unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "killed",
            "disabled",
            "everyone",
            "nobody",
            "no_rollout",
            "staff",
            "needs_killed"
        ]
    );
    assert_eq!(flags[0]["value"], json!(false));
    assert_eq!(flags[0]["reason"], "DISABLED");
    assert_eq!(flags[2]["value"], json!(true));
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with("\"1-"), "{etag}");

    // The same question with its ETag: 304, no body.
    let again = server.post_with(bulk, &[("If-None-Match", &etag)], body);
    assert_eq!(again.status, 304, "{again:?}");
    assert_eq!(again.body, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    // Another context answers differently: 200 with another tag.
    let other = server.post_with(
        bulk,
        &[("If-None-Match", &etag)],
        r#"{"context": {"targetingKey": "u1", "plan": "free"}}"#,
    );
    assert_eq!(other.status, 200);
    assert_ne!(other.header("etag"), Some(etag.as_str()));

    // A new config version: the old tag no longer matches.
    replace_file(
        &path,
        &FLAGS.replace("\"kill_switch\": true", "\"kill_switch\": false"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let changed = loop {
        let reply = server.post_with(bulk, &[("If-None-Match", &etag)], body);
        if reply.status == 200 {
            break reply;
        }
        assert_eq!(reply.status, 304);
        assert!(Instant::now() < deadline, "the reload was never seen");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(changed.header("etag").unwrap().starts_with("\"2-"));
    assert_eq!(changed.json()["flags"][0]["value"], json!(true));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_kill_switch_written_to_the_file_is_seen_by_the_next_requests() {
    let dir = temp_dir();
    let path = dir.join("flags.json");
    let on = r#"[{"flag_key": "checkout", "enabled": true, "rollout_percentage": 100}]"#;
    let killed = r#"[{"flag_key": "checkout", "enabled": true, "kill_switch": true, "rollout_percentage": 100}]"#;
    std::fs::write(&path, on).unwrap();
    let metrics = Metrics::new();
    let observer = metrics.clone();
    let store = Store::builder(FileSource::new(&path))
        .poll_interval(Duration::from_millis(500))
        .on_event(move |e: &StoreEvent| observer.observe(e))
        .start()
        .unwrap();
    let server = TestServer::start_with_metrics(store, metrics, |s| s);
    let ask = || eval(&server, "checkout", json!({"targetingKey": "u1"})).json();
    assert_eq!(ask()["value"], json!(true));

    replace_file(&path, killed);
    let written = Instant::now();
    let deadline = written + Duration::from_secs(10);
    loop {
        let body = ask();
        if body["value"] == json!(false) {
            assert_eq!(body["reason"], "DISABLED");
            assert_eq!(body["metadata"]["config_version"], 2);
            break;
        }
        assert!(Instant::now() < deadline, "the kill switch was never seen");
        std::thread::sleep(Duration::from_millis(2));
    }
    eprintln!("kill switch seen after {:?}", written.elapsed());
    // Once seen, every later request sees it.
    for _ in 0..20 {
        assert_eq!(ask()["value"], json!(false));
    }

    // A broken write is rejected: the killed version keeps serving.
    std::fs::write(&path, "[{\"flag_key\": \"checkout\", ").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.store.status().last_error.is_none() {
        assert!(Instant::now() < deadline, "the broken write was never read");
        std::thread::sleep(Duration::from_millis(5));
    }
    let body = ask();
    assert_eq!(body["value"], json!(false));
    assert_eq!(body["metadata"]["config_version"], 2);
    let text = server.get("/metrics").body;
    assert!(text.contains("killswitch_config_version 2\n"), "{text}");
    assert!(text.contains("killswitch_reloads_total 1\n"), "{text}");
    assert!(
        text.contains("killswitch_rejected_reloads_total 1\n"),
        "{text}"
    );
    assert!(text.contains("killswitch_config_error 1\n"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn probes_and_metrics() {
    let dir = temp_dir();
    let path = dir.join("flags.json");
    let store = Store::builder(FileSource::new(&path))
        .poll_interval(Duration::from_millis(20))
        .if_missing(IfMissing::StartEmpty)
        .start()
        .unwrap();
    let server = TestServer::start(store, |s| s);
    assert_eq!(server.get("/healthz").status, 200);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(ready.json()["version"], 0);
    // Before any config, every flag is unknown; bulk is empty.
    assert_error(
        &eval(&server, "killed", json!({})),
        404,
        "FLAG_NOT_FOUND",
        Some("killed"),
    );
    assert_eq!(
        server.post("/ofrep/v1/evaluate/flags", "{}").json(),
        json!({"flags": []})
    );

    replace_file(&path, FLAGS);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get("/readyz").status != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    eval(&server, "killed", json!({}));
    eval(&server, "killed", json!({}));
    eval(&server, "everyone", json!({"targetingKey": "u"}));
    server.post("/ofrep/v1/evaluate/flags", "{}");
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.body;
    for line in [
        "killswitch_config_version 1\n",
        "killswitch_config_flags 7\n",
        "killswitch_evaluations_total{flag=\"killed\",reason=\"kill_switch\"} 3\n",
        "killswitch_evaluations_total{flag=\"everyone\",reason=\"in_rollout\"} 1\n",
        "killswitch_evaluations_total{flag=\"everyone\",reason=\"missing_user_id\"} 1\n",
        "killswitch_errors_total{code=\"FLAG_NOT_FOUND\"} 1\n",
        "killswitch_request_duration_seconds_count{endpoint=\"single\"} 4\n",
        "killswitch_request_duration_seconds_count{endpoint=\"bulk\"} 2\n",
        "# TYPE killswitch_request_duration_seconds histogram\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn tokens_guard_ofrep_requests() {
    let server = TestServer::start(fixed_store(), |s| {
        s.tokens(Tokens::new(["s3cret", "other"]))
    });
    let path = "/ofrep/v1/evaluate/flags/killed";
    for headers in [
        &[][..],
        &[("Authorization", "Bearer wrong")][..],
        &[("Authorization", "Bearer s3cre")][..],
        &[("Authorization", "Basic s3cret")][..],
        &[("Authorization", "s3cret")][..],
    ] {
        let reply = server.post_with(path, headers, "{}");
        assert_error(&reply, 401, "GENERAL", Some("killed"));
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        assert!(!reply.body.contains("s3cret"));
        let reply = server.post_with("/ofrep/v1/evaluate/flags", headers, "{}");
        assert_eq!(reply.status, 401);
    }
    for token in ["Bearer s3cret", "Bearer other", "bearer s3cret"] {
        let reply = server.post_with(path, &[("Authorization", token)], "{}");
        assert_eq!(reply.status, 200, "{token}: {reply:?}");
    }
    // The probes stay open.
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/readyz").status, 200);
    assert!(server
        .get("/metrics")
        .body
        .contains("killswitch_errors_total{code=\"UNAUTHORIZED\"} 10\n"));
}

#[test]
fn bodies_over_the_limit_get_413_unread() {
    let server = TestServer::start(fixed_store(), |s| s.max_body_bytes(1024));
    let path = "/ofrep/v1/evaluate/flags/killed";
    let padding = "x".repeat(2000);
    let big = format!(r#"{{"context": {{"pad": "{padding}"}}}}"#);
    let reply = server.post(path, &big);
    assert_error(&reply, 413, "GENERAL", Some("killed"));
    assert_eq!(reply.header("connection"), Some("close"));
    // Declared small, sent large (chunked): refused as soon as it grows.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len()).as_bytes());
    assert_error(&read_reply(&mut stream), 413, "GENERAL", Some("killed"));
    // Declared huge, nothing sent: refused at once, without waiting.
    let started = Instant::now();
    let reply = server.post_with(path, &[("Content-Length", "1000000000")], "");
    assert_error(&reply, 413, "GENERAL", Some("killed"));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Up to the limit is fine.
    let fits = format!(r#"{{"context": {{"pad": "{}"}}}}"#, "x".repeat(1000));
    assert!(fits.len() <= 1024);
    assert_eq!(server.post(path, &fits).status, 200);
    // Oversized heads get 431.
    let long = "y".repeat(32 * 1024);
    let reply = server.post_with(path, &[("X-Long", &long)], "{}");
    assert_eq!(reply.status, 431, "{reply:?}");
}

#[test]
fn slow_clients_are_dropped() {
    let server = TestServer::start(fixed_store(), |s| {
        s.header_read_timeout(Duration::from_millis(300))
            .body_read_timeout(Duration::from_millis(300))
    });
    // A head trickled a byte at a time: the connection is closed once the
    // header timeout runs out, whatever it has sent by then.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let head = b"POST /ofrep/v1/evaluate/flags/killed HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut closed = false;
    for byte in head {
        if stream.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(closed || started.elapsed() < Duration::from_secs(5));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A body that never arrives: 408 after the body timeout.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /ofrep/v1/evaluate/flags/killed HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"con")
        .unwrap();
    let reply = read_reply(&mut stream);
    assert_error(&reply, 408, "GENERAL", Some("killed"));
    assert!(started.elapsed() < Duration::from_secs(5));

    // An idle keep-alive connection is closed too.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Meanwhile other clients are served.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn connections_over_the_bound_wait_their_turn() {
    let server = TestServer::start(fixed_store(), |s| {
        s.max_connections(1)
            .header_read_timeout(Duration::from_millis(500))
    });
    // One idle connection holds the only slot...
    let idle = TcpStream::connect(server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // ...so the next request is answered only once it has timed out.
    let started = Instant::now();
    let reply = server.get("/healthz");
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let mut server =
        TestServer::start(fixed_store(), |s| s.shutdown_grace(Duration::from_secs(10)));
    // A request whose body is half sent is in flight...
    let mut in_flight = TcpStream::connect(server.addr).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = br#"{"context": {"targetingKey": "u1"}}"#;
    let head = format!(
        "POST /ofrep/v1/evaluate/flags/killed HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).unwrap();
    in_flight.write_all(&body[..10]).unwrap();
    // ...and an idle keep-alive connection is open.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let thread = server.begin_shutdown();
    std::thread::sleep(Duration::from_millis(200));
    // New connections are refused once the listener is closed.
    assert!(
        TcpStream::connect(server.addr).is_err() || {
            // Or accepted by the kernel but never served.
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
            let mut buf = [0u8; 1];
            !matches!(s.read(&mut buf), Ok(1))
        }
    );
    // The idle connection is closed.
    let mut buf = [0u8; 1];
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0);
    // The request in flight completes and is answered.
    assert!(!thread.is_finished());
    in_flight.write_all(&body[10..]).unwrap();
    let mut raw = Vec::new();
    let _ = in_flight.read_to_end(&mut raw);
    let reply = parse_reply(&raw);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["value"], json!(false));
    let result = thread.join().unwrap();
    assert!(result.is_ok());
}

#[test]
fn shutdown_is_bounded() {
    let mut server = TestServer::start(fixed_store(), |s| {
        s.shutdown_grace(Duration::from_millis(300))
            .body_read_timeout(Duration::from_secs(60))
    });
    let mut stuck = TcpStream::connect(server.addr).unwrap();
    stuck
        .write_all(b"POST /ofrep/v1/evaluate/flags/killed HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let thread = server.begin_shutdown();
    assert!(thread.join().unwrap().is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// `secs` since the epoch as RFC 3339 UTC.
fn rfc3339(secs: u64) -> String {
    killswitch::format_time(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

#[test]
fn the_bulk_etag_changes_when_the_clock_crosses_a_schedule_step() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let step = now + 2;
    let flags = format!(
        r#"[{{"flag_key": "ramp", "enabled": true, "rollout_percentage": 0,
             "rollout_schedule": [{{"at": "{}", "percentage": 100}}]}}]"#,
        rfc3339(step)
    );
    let store = Store::new(killswitch::FlagSet::from_json(&flags).unwrap());
    let server = TestServer::start(store, |s| s);
    let bulk = "/ofrep/v1/evaluate/flags";
    let body = r#"{"context": {"targetingKey": "u1"}}"#;
    let before = server.post(bulk, body);
    assert_eq!(before.json()["flags"][0]["value"], json!(false));
    let etag = before.header("etag").unwrap().to_string();
    // Same version, same clock side of the step: 304.
    let again = server.post_with(bulk, &[("If-None-Match", &etag)], body);
    assert_eq!(again.status, 304);
    // Once the clock is past the step, the answer and its tag change.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let reply = server.post_with(bulk, &[("If-None-Match", &etag)], body);
        if reply.status == 200 {
            break reply;
        }
        assert_eq!(reply.status, 304);
        assert!(Instant::now() < deadline, "the step was never crossed");
        std::thread::sleep(Duration::from_millis(50));
    };
    let flag = &after.json()["flags"][0];
    assert_eq!(flag["value"], json!(true));
    assert_eq!(flag["metadata"]["schedule_step"], 0);
    assert_eq!(flag["metadata"]["config_version"], 1);
    let new_tag = after.header("etag").unwrap();
    assert_ne!(new_tag, etag);
    assert!(
        new_tag.starts_with("\"1-"),
        "same config version: {new_tag}"
    );
}

/// Variant flags answer their variant's name and JSON value, typed as the
/// config wrote it; killed or off, they answer `off_variant` with its value
/// (never an error, never a boolean a typed SDK would reject and replace
/// with the caller's default).
#[test]
fn variant_flags_answer_typed_values_and_their_off_variant() {
    let config = r##"[
        {"flag_key": "button", "enabled": true, "rollout_percentage": 100,
         "variants": {"blue": "#1f6feb", "grey": "#8c959f"},
         "off_variant": "grey", "on_variant": "blue"},
        {"flag_key": "killed_button", "enabled": true, "kill_switch": true,
         "variants": {"blue": "#1f6feb", "grey": "#8c959f"},
         "off_variant": "grey", "on_variant": "blue"},
        {"flag_key": "limits", "enabled": true,
         "variants": {"small": {"max": 10, "burst": 2}, "none": 0},
         "off_variant": "none", "on_variant": "small",
         "targeting_rules": {"allow_list": ["plan == 'pro'"]}},
        {"flag_key": "arm", "enabled": true, "rollout_percentage": 100,
         "variants": {"a": 1, "b": 2}, "off_variant": "a",
         "split": [{"variant": "a", "weight": 50}, {"variant": "b", "weight": 50}]}
    ]"##;
    let flags = killswitch::FlagSet::from_json(config).expect("valid flags");
    let server = TestServer::start(Store::new(flags), |s| s);

    let body = eval(&server, "button", json!({"targetingKey": "u1"})).json();
    assert_eq!(
        (&body["value"], &body["variant"]),
        (&json!("#1f6feb"), &json!("blue"))
    );
    assert_eq!(body["reason"], "SPLIT");

    let reply = eval(&server, "killed_button", json!({"targetingKey": "u1"}));
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["value"], json!("#8c959f"));
    assert_eq!(body["variant"], "grey");
    assert_eq!(body["reason"], "DISABLED");
    assert!(body.get("errorCode").is_none());

    // Integers stay integers and objects keep their key order, on the wire.
    let reply = eval(
        &server,
        "limits",
        json!({"targetingKey": "u1", "plan": "pro"}),
    );
    assert!(
        reply.body.contains(r#""value":{"max":10,"burst":2}"#),
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["variant"], "small");
    let reply = eval(
        &server,
        "limits",
        json!({"targetingKey": "u1", "plan": "free"}),
    );
    assert!(reply.body.contains(r#""value":0,"#), "{}", reply.body);
    assert_eq!(reply.json()["variant"], "none");

    // A split names its bucket in the metadata, and the variant it chose.
    let body = eval(&server, "arm", json!({"targetingKey": "u1"})).json();
    let split_bucket = body["metadata"]["split_bucket"]
        .as_u64()
        .expect("a split bucket");
    let want = if split_bucket < 5000 {
        ("a", 1)
    } else {
        ("b", 2)
    };
    assert_eq!(
        (body["variant"].as_str(), body["value"].as_i64()),
        (Some(want.0), Some(want.1))
    );
}

#[test]
fn provider_configuration_follows_ofrep() {
    let server = TestServer::start(fixed_store(), |s| s);
    let reply = server.get("/ofrep/v1/configuration");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["name"], "killswitch");
    let polling = &body["capabilities"]["cacheInvalidation"]["polling"];
    assert_eq!(polling["enabled"], true);
    assert!(polling["minPollingIntervalMs"]
        .as_u64()
        .is_some_and(|ms| ms >= 1000));
    let types = &body["capabilities"]["flagEvaluation"]["supportedTypes"];
    assert_eq!(
        types,
        &json!(["boolean", "string", "int", "float", "object"])
    );
    assert_eq!(body["capabilities"]["caching"]["enabled"], false);
    let etag = reply.header("etag").expect("an ETag").to_owned();
    let reply = send(
        server.addr,
        "GET",
        "/ofrep/v1/configuration",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(reply.status, 304);
}

#[test]
fn provider_configuration_needs_a_token_when_tokens_are_set() {
    let server = TestServer::start(fixed_store(), |s| s.tokens(Tokens::new(["s3cret"])));
    let path = "/ofrep/v1/configuration";
    let reply = server.get(path);
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    let reply = server.request("GET", path, &[("Authorization", "Bearer wrong")], "");
    assert_eq!(reply.status, 401);
    let reply = server.request("GET", path, &[("Authorization", "Bearer s3cret")], "");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], "killswitch");
}

#[test]
fn cors_preflight_and_responses_for_listed_origins() {
    let server = TestServer::start(fixed_store(), |s| {
        s.tokens(Tokens::new(["s3cret"]))
            .cors_origin("https://app.example")
    });
    let bulk = "/ofrep/v1/evaluate/flags";
    let origin = ("Origin", "https://app.example");
    // A preflight needs no token.
    let reply = send(
        server.addr,
        "OPTIONS",
        bulk,
        &[origin, ("Access-Control-Request-Method", "POST")],
        b"",
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default();
    for m in ["POST", "GET", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default();
    for h in ["Authorization", "Content-Type", "If-None-Match"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    assert!(reply.header("access-control-max-age").is_some());
    // The real request still needs the token; errors carry CORS headers.
    let reply = server.post_with(bulk, &[origin], "{}");
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(reply.header("access-control-expose-headers"), Some("ETag"));
    let auth = ("Authorization", "Bearer s3cret");
    let reply = server.post_with(bulk, &[origin, auth], "{}");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(reply.header("access-control-expose-headers"), Some("ETag"));
    let etag = reply.header("etag").expect("an ETag").to_owned();
    let reply = server.post_with(bulk, &[origin, auth, ("If-None-Match", &etag)], "{}");
    assert_eq!(reply.status, 304);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(reply.header("access-control-expose-headers"), Some("ETag"));
    // An unlisted origin gets none.
    let other = ("Origin", "https://evil.example");
    let reply = send(server.addr, "OPTIONS", bulk, &[other], b"");
    assert_ne!(reply.status, 204);
    assert!(reply.header("access-control-allow-origin").is_none());
    let reply = server.post_with(bulk, &[other, auth], "{}");
    assert_eq!(reply.status, 200);
    assert!(reply.header("access-control-allow-origin").is_none());
    // Not outside OFREP.
    let reply = send(server.addr, "GET", "/healthz", &[origin], b"");
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[test]
fn cors_wildcard_and_off_by_default() {
    let server = TestServer::start(fixed_store(), |s| s.cors_origin("*"));
    let origin = ("Origin", "https://any.example");
    let reply = send(
        server.addr,
        "OPTIONS",
        "/ofrep/v1/configuration",
        &[origin],
        b"",
    );
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let reply = send(
        server.addr,
        "GET",
        "/ofrep/v1/configuration",
        &[origin],
        b"",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let server = TestServer::start(fixed_store(), |s| s);
    let reply = server.post_with("/ofrep/v1/evaluate/flags", &[origin], "{}");
    assert_eq!(reply.status, 200);
    assert!(reply.header("access-control-allow-origin").is_none());
}

/// Polls until `path` answers `status` with `token`, for up to 10 s.
fn wait_for_status(server: &TestServer, token: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let auth = format!("Bearer {token}");
    loop {
        let reply = server.post_with(
            "/ofrep/v1/evaluate/flags",
            &[("Authorization", &auth)],
            "{}",
        );
        if reply.status == status {
            return;
        }
        assert!(Instant::now() < deadline, "{token}: still {}", reply.status);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_watched_token_file_is_reloaded_and_a_bad_one_ignored() {
    let dir = temp_dir();
    let file = dir.join("tokens");
    std::fs::write(&file, "first\n").expect("write");
    let tokens = Tokens::watch_file(&file).expect("tokens");
    let server = TestServer::start(fixed_store(), |s| s.tokens(tokens));
    wait_for_status(&server, "first", 200);
    wait_for_status(&server, "second", 401);
    // Added: accepted.
    std::fs::write(&file, "first\nsecond-token\n").expect("write");
    wait_for_status(&server, "second-token", 200);
    // Removed: refused.
    std::fs::write(&file, "second-token\n").expect("write");
    wait_for_status(&server, "first", 401);
    wait_for_status(&server, "second-token", 200);
    // Empty: the last good set stays.
    std::fs::write(&file, "").expect("write");
    std::thread::sleep(Duration::from_millis(2500));
    wait_for_status(&server, "second-token", 200);
    // Gone: the same.
    std::fs::remove_file(&file).expect("remove");
    std::thread::sleep(Duration::from_millis(2500));
    wait_for_status(&server, "second-token", 200);
    let _ = std::fs::remove_dir_all(dir);
}
