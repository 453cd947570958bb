//! `killswitch serve` end to end: the binary on a loopback port, a kill
//! switch written to the file, a rejected write, the log lines, a token
//! file, reloads on SIGHUP, and exit 0 on SIGTERM.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{http_json, replace, signal, temp_dir, wait_exit, KillOnDrop, DEADLINE};

fn config(killed: bool) -> String {
    format!(
        r#"[{{"flag_key": "checkout_v2", "enabled": true, "kill_switch": {killed}, "rollout_percentage": 100}}]"#
    )
}

/// Starts `killswitch serve` with `args` in `dir`; returns the child, the
/// address it listens on, and its later stderr lines.
fn spawn_serve(dir: &Path, args: &[&str]) -> (KillOnDrop, SocketAddr, mpsc::Receiver<String>) {
    let mut args = args.to_vec();
    args.extend(["--poll-ms", "200"]);
    let served = support::serve(dir, &args, None);
    (served.child, served.addr, served.log)
}

/// POSTs `body` to `path`; returns the status and the body as JSON.
fn post(addr: SocketAddr, path: &str, headers: &str, body: &str) -> (u16, serde_json::Value) {
    http_json(addr, "POST", path, headers, body)
}

fn sigterm(child: &Child) {
    signal(child, "TERM");
}

#[test]
fn serve_follows_the_file_logs_reloads_and_exits_0_on_sigterm() {
    let dir = temp_dir("follow");
    let path = dir.join("flags.json");
    replace(&path, &config(false));
    let (mut child, addr, lines) = spawn_serve(&dir, &["flags.json"]);
    let ask = || {
        post(
            addr,
            "/ofrep/v1/evaluate/flags/checkout_v2",
            "",
            r#"{"context": {"targetingKey": "user_123"}}"#,
        )
    };
    let (status, body) = ask();
    assert_eq!(status, 200);
    assert_eq!(body["value"], true);

    replace(&path, &config(true));
    let start = Instant::now();
    loop {
        let (status, body) = ask();
        assert_eq!(status, 200);
        if body["value"] == false {
            assert_eq!(body["variant"], "off");
            assert_eq!(body["reason"], "DISABLED");
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the kill switch was never served"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let line = lines.recv_timeout(DEADLINE).unwrap();
    assert_eq!(line, "serve: reloaded `flags.json`: version 2, 1 flags");

    // A broken write: one log line, and the killed version keeps serving.
    replace(&path, r#"[{"flag_key": "checkout_v2""#);
    let line = lines.recv_timeout(DEADLINE).unwrap();
    assert!(
        line.starts_with("serve: rejected a change of `flags.json` (version 2 keeps serving): "),
        "{line}"
    );
    assert_eq!(ask().1["value"], false);

    sigterm(&child.0);
    let status = wait_exit(&mut child.0);
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = lines.try_iter().collect();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("serve: stopped"),
        "{rest:?}"
    );
}

#[test]
fn serve_logs_the_recovery_when_a_rejected_change_is_undone() {
    let dir = temp_dir("recovery");
    let path = dir.join("flags.json");
    replace(&path, &config(false));
    let (mut child, _addr, lines) = spawn_serve(&dir, &["flags.json"]);
    replace(&path, r#"[{"flag_key": "checkout_v2""#);
    let line = lines.recv_timeout(DEADLINE).unwrap();
    assert!(
        line.starts_with("serve: rejected a change of `flags.json` (version 1 keeps serving): "),
        "{line}"
    );
    // The config serving, written back: no new version, but the error no
    // longer stands, and the log says so (once).
    replace(&path, &config(false));
    assert_eq!(
        lines.recv_timeout(DEADLINE).unwrap(),
        "serve: `flags.json` is healthy again (version 1 keeps serving): the last error no \
         longer stands"
    );
    sigterm(&child.0);
    assert_eq!(wait_exit(&mut child.0).code(), Some(0));
    // Until stderr closes.
    let rest: Vec<String> = std::iter::from_fn(|| lines.recv_timeout(DEADLINE).ok()).collect();
    assert_eq!(rest, ["serve: stopped"]);
}

#[test]
fn serve_with_a_token_file_never_logs_tokens() {
    let dir = temp_dir("tokens");
    replace(&dir.join("flags.json"), &config(true));
    std::fs::write(
        dir.join("tokens"),
        "# clients\nsecret-token-1\n\nsecret-token-2\n",
    )
    .unwrap();
    let (mut child, addr, lines) = spawn_serve(&dir, &["flags.json", "--token-file", "tokens"]);
    let path = "/ofrep/v1/evaluate/flags/checkout_v2";
    let (status, body) = post(addr, path, "", "{}");
    assert_eq!(status, 401);
    assert_eq!(body["errorCode"], "GENERAL");
    let (status, body) = post(addr, path, "Authorization: Bearer secret-token-2\r\n", "{}");
    assert_eq!(status, 200);
    assert_eq!(body["value"], false);
    sigterm(&child.0);
    assert_eq!(wait_exit(&mut child.0).code(), Some(0));
    let log: Vec<String> = lines.try_iter().collect();
    assert!(log.iter().all(|l| !l.contains("secret-token")), "{log:?}");
}

/// Rewrites `path` with `text` and gives it back its modification time,
/// so that only SIGHUP can tell the server it changed (the token file's
/// poll looks at modification time and length).
fn rewrite_unseen(path: &Path, text: &str) {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), text.len() as u64);
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.set_modified(modified).unwrap();
}

/// The next stderr line starting with `prefix`, within the deadline.
fn line_starting(lines: &mpsc::Receiver<String>, prefix: &str) -> String {
    let start = Instant::now();
    loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line starting {prefix:?}"));
        if line.starts_with(prefix) {
            return line;
        }
    }
}

#[test]
fn sighup_reloads_the_token_file_at_once_and_keeps_the_last_good_set() {
    let dir = temp_dir("sighup");
    replace(&dir.join("flags.json"), &config(false));
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "token-aaaa\n").unwrap();
    let (mut child, addr, lines) = spawn_serve(&dir, &["flags.json", "--token-file", "tokens"]);
    let path = "/ofrep/v1/evaluate/flags/checkout_v2";
    let status = |token: &str| {
        post(
            addr,
            path,
            &format!("Authorization: Bearer {token}\r\n"),
            "{}",
        )
        .0
    };
    assert_eq!(status("token-aaaa"), 200);

    rewrite_unseen(&tokens, "token-bbbb\n");
    signal(&child.0, "HUP");
    let config_line = line_starting(&lines, "serve: SIGHUP: config");
    assert!(config_line.contains("unchanged"), "{config_line}");
    let line = line_starting(&lines, "serve: SIGHUP: token file");
    assert_eq!(line, "serve: SIGHUP: token file reloaded: 1 tokens");
    assert_eq!(status("token-bbbb"), 200);
    assert_eq!(status("token-aaaa"), 401);

    // A file with no token left: refused, the last good set stays.
    rewrite_unseen(&tokens, "#oken-cccc\n");
    signal(&child.0, "HUP");
    let line = line_starting(&lines, "serve: SIGHUP: token file");
    assert!(
        line.contains("not reloaded, keeping the last good tokens"),
        "{line}"
    );
    assert_eq!(status("token-bbbb"), 200);

    // SIGHUP did not stop the server (its default action would have).
    sigterm(&child.0);
    assert_eq!(wait_exit(&mut child.0).code(), Some(0));
    let log: Vec<String> = lines.try_iter().collect();
    assert!(log.iter().all(|l| !l.contains("oken-")), "{log:?}");
}

#[test]
fn serve_refuses_a_missing_file_unless_allowed() {
    let dir = temp_dir("missing");
    let out = Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(["serve", "flags.json", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(["serve", "flags.json", "--token-file", "nope"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // With --allow-missing it starts, unready, and serves once the file
    // appears.
    let (mut child, addr, lines) = spawn_serve(&dir, &["flags.json", "--allow-missing"]);
    let (status, body) = post(addr, "/ofrep/v1/evaluate/flags/checkout_v2", "", "{}");
    assert_eq!(status, 404);
    assert_eq!(body["errorCode"], "FLAG_NOT_FOUND");
    replace(&dir.join("flags.json"), &config(false));
    assert_eq!(
        lines.recv_timeout(DEADLINE).unwrap(),
        "serve: reloaded `flags.json`: version 1, 1 flags"
    );
    let (status, body) = post(addr, "/ofrep/v1/evaluate/flags/checkout_v2", "", "{}");
    assert_eq!((status, body["reason"].clone()), (200, "DEFAULT".into()));
    sigterm(&child.0);
    assert_eq!(wait_exit(&mut child.0).code(), Some(0));
}

#[test]
fn serve_cors_origin_answers_preflights() {
    let dir = temp_dir("cors");
    replace(&dir.join("flags.json"), &config(true));
    let (_child, addr, _lines) = spawn_serve(
        &dir,
        &[
            "flags.json",
            "--cors-origin",
            "https://a.example",
            "--cors-origin",
            "https://b.example",
        ],
    );
    let head = |origin: &str| {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        write!(
            stream,
            "OPTIONS /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: {origin}\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        raw.to_ascii_lowercase()
    };
    let raw = head("https://b.example");
    assert!(raw.starts_with("http/1.1 204"), "{raw}");
    assert!(
        raw.contains("access-control-allow-origin: https://b.example\r\n"),
        "{raw}"
    );
    let raw = head("https://c.example");
    assert!(!raw.contains("access-control-allow-origin"), "{raw}");
}
