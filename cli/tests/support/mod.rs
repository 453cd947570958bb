//! What the end-to-end tests of the `killswitch` binary share: a child
//! killed when a test fails, a fresh directory, `killswitch serve` started
//! on a free loopback port with its log followed, and raw HTTP/1.1.
//! Each test file takes what it uses (`mod support;`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for a process, a log line or an answer.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Kills the child if the test fails before it exits.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `killswitch ARGS` in `dir` to its end (as the user `ci-user`, the
/// default author of fleet writes).
pub fn killswitch(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(args)
        .current_dir(dir)
        .env("USER", "ci-user")
        .output()
        .unwrap()
}

/// What a finished command printed on standard output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a finished command printed on standard error.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The version number a fleet command (`publish`, `kill`, ...) printed,
/// after checking that it succeeded.
pub fn version_of(out: &Output) -> u64 {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    stdout(out).trim().parse().unwrap()
}

/// An empty directory of its own for `name`, made afresh.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("killswitch-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes beside `path` and renames over it, as a deploy should.
pub fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A running `killswitch serve`.
pub struct Served {
    pub child: KillOnDrop,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The log lines before the address was announced.
    pub before: Vec<String>,
    /// Its later stderr lines.
    pub log: mpsc::Receiver<String>,
}

/// Starts `killswitch serve ARGS --listen 127.0.0.1:0` in `dir` and waits
/// for the address it announces. No log line may contain `secret`.
pub fn serve(dir: &Path, args: &[&str], secret: Option<&str>) -> Served {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_killswitch"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let mut before = Vec::new();
    let addr = loop {
        let line = log.recv_timeout(DEADLINE).expect("a log line");
        if let Some(secret) = secret {
            assert!(!line.contains(secret), "{line}");
        }
        if let Some(rest) = line.strip_prefix("serve: listening on http://") {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
        before.push(line);
    };
    Served {
        child,
        addr,
        before,
        log,
    }
}

/// Sends one request (`headers` are whole lines, each ending in CRLF);
/// returns the status and the body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let (head, body) = exchange(addr, method, path, headers, body);
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body)
}

/// The same, returning the answer's head (status line and headers) whole.
pub fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

/// The same, the body read as JSON (`null` when it is not).
pub fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let (status, body) = http(addr, method, path, headers, body);
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Sends a signal (`TERM`, `HUP`) with `kill`.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to exit, failing after the deadline.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < DEADLINE, "still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}
