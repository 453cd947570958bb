//! The HTTP source against a local server that answers as scripted: 200
//! with an ETag, 304, 500, a truncated body, a slow answer, an oversized
//! body, 404.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use killswitch::store::{IfMissing, Store};
use killswitch::{Context, Limits};
use killswitch_fleet::HttpSource;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does with the next request.
#[derive(Clone)]
enum Answer {
    Ok {
        body: String,
        etag: &'static str,
        content_type: &'static str,
    },
    /// 304 when `If-None-Match` names `etag`, else 200 with `body`.
    Conditional {
        body: String,
        etag: &'static str,
    },
    Status(u16),
    Truncated(String),
    Slow(Duration),
    Raw(String),
}

struct Server {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    requests: mpsc::Receiver<Vec<String>>,
}

fn serve(first: Answer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(Mutex::new(first));
    let script = Arc::clone(&answer);
    let (tx, requests) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let answer = script.lock().unwrap().clone();
            let tx = tx.clone();
            std::thread::spawn(move || handle(stream, &answer, &tx));
        }
    });
    Server {
        addr,
        answer,
        requests,
    }
}

fn handle(mut stream: TcpStream, answer: &Answer, tx: &mpsc::Sender<Vec<String>>) {
    let mut head = Vec::new();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_ascii_lowercase());
    }
    let _ = tx.send(head.clone());
    let response = match answer {
        Answer::Ok { body, etag, content_type } => format!(
            "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Answer::Conditional { body, etag } => {
            if head.iter().any(|h| h == &format!("if-none-match: {etag}")) {
                format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            }
        }
        Answer::Status(code) => {
            format!("HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        Answer::Truncated(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            body.len() + 100,
            body
        ),
        Answer::Slow(wait) => {
            std::thread::sleep(*wait);
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]".to_string()
        }
        Answer::Raw(raw) => raw.clone(),
    };
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn config(killed: bool) -> String {
    format!(
        r#"{{"flag_key": "checkout_v2", "enabled": true, "kill_switch": {killed}, "rollout_percentage": 100}}"#
    )
}

fn set(server: &Server, answer: Answer) {
    *server.answer.lock().unwrap() = answer;
}

/// Waits out the source's backoff (at most 2 s) so that the next reload
/// really asks the server.
fn after_backoff() {
    std::thread::sleep(Duration::from_millis(2100));
}

#[test]
fn conditional_gets_errors_and_limits_keep_the_last_good_version() {
    let server = serve(Answer::Conditional {
        body: config(false),
        etag: "\"v1\"",
    });
    let url = format!("http://{}/flags.json", server.addr);
    let source = HttpSource::new(&url)
        .unwrap()
        .timeout(Duration::from_millis(500));
    let mut limits = Limits::default();
    limits.max_config_bytes = 4096;
    let store = Store::builder(source)
        .poll_interval(None)
        .limits(limits)
        .start()
        .unwrap();
    let user = Context::new().with("user_id", "u1");
    assert!(store.evaluate("checkout_v2", &user).enabled);
    assert_eq!(store.version(), 1);
    let first = server.requests.recv().unwrap();
    assert!(!first.iter().any(|h| h.starts_with("if-none-match")));

    // 304: nothing changes, and the request was conditional.
    assert_eq!(store.reload().unwrap().version(), 1);
    let second = server.requests.recv().unwrap();
    assert!(
        second.contains(&"if-none-match: \"v1\"".to_string()),
        "{second:?}"
    );

    // 500: an error, degraded; the last good version serves.
    set(&server, Answer::Status(500));
    let e = store.reload().unwrap_err();
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    assert!(store.status().degraded.is_some());
    assert!(store.evaluate("checkout_v2", &user).enabled);

    // A truncated body.
    after_backoff();
    set(&server, Answer::Truncated(config(true)));
    let e = store.reload().unwrap_err();
    assert!(store.evaluate("checkout_v2", &user).enabled, "{e}");

    // A slow answer: the timeout ends it.
    after_backoff();
    set(&server, Answer::Slow(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let e = store.reload().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{e}");
    assert!(
        e.to_string().contains("timeout") || e.to_string().contains("time"),
        "{e}"
    );

    // An oversized body, declared or not.
    after_backoff();
    let huge = format!("[{}]", " ".repeat(10_000));
    set(
        &server,
        Answer::Ok {
            body: huge.clone(),
            etag: "\"big\"",
            content_type: "application/json",
        },
    );
    let e = store.reload().unwrap_err();
    assert!(e.to_string().contains("over the limit"), "{e}");
    after_backoff();
    set(
        &server,
        Answer::Raw(format!(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{huge}"
        )),
    );
    let e = store.reload().unwrap_err();
    assert!(e.to_string().contains("over the limit"), "{e}");
    assert!(store.evaluate("checkout_v2", &user).enabled);

    // Back to a good answer: a new version, healthy again; YAML by its
    // Content-Type.
    after_backoff();
    set(
        &server,
        Answer::Ok {
            body: "flag_key: checkout_v2\nenabled: true\nkill_switch: true\n".into(),
            etag: "\"v2\"",
            content_type: "application/yaml",
        },
    );
    assert_eq!(store.reload().unwrap().version(), 2);
    assert!(!store.evaluate("checkout_v2", &user).enabled);
    assert!(store.status().degraded.is_none());
}

#[test]
fn a_missing_config_and_a_bad_url() {
    let server = serve(Answer::Status(404));
    let url = format!("http://{}/flags.yaml", server.addr);
    let store = Store::builder(HttpSource::new(&url).unwrap())
        .poll_interval(None)
        .if_missing(IfMissing::StartEmpty)
        .start()
        .unwrap();
    assert_eq!(store.version(), 0);
    let e = HttpSource::new("ftp://u:secret@h/x").unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
    let e = Store::builder(HttpSource::new("http://u:secret@127.0.0.1:1/flags.json").unwrap())
        .start()
        .unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
}
