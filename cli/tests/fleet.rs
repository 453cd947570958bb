//! The fleet, end to end, on a real PostgreSQL (a throw-away cluster;
//! skipped without PostgreSQL unless `CI` is set): three `killswitch
//! serve --source postgres://...` replicas follow one database; `kill`,
//! `unkill`, `rollback`, `publish` (racing, and compare-and-set),
//! `history` and `pull` through the command; PostgreSQL stopped and
//! started; a bad version inserted behind the tool's back.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fleet/tests/support/pg.rs"]
mod pg;

mod support;

use pg::{Cluster, PASSWORD};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{killswitch, stderr, stdout, temp_dir, version_of, KillOnDrop, DEADLINE};

struct Replica {
    _child: KillOnDrop,
    addr: SocketAddr,
    log: mpsc::Receiver<String>,
}

fn spawn_replica(dir: &Path, url: &str) -> Replica {
    spawn_replica_with(dir, url, &["--poll-ms", "30000"])
}

fn spawn_replica_with(dir: &Path, url: &str, extra: &[&str]) -> Replica {
    let mut args = vec!["--source", url];
    args.extend(extra);
    let served = support::serve(dir, &args, Some(PASSWORD));
    Replica {
        _child: served.child,
        addr: served.addr,
        log: served.log,
    }
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    support::http(addr, method, path, "", body)
}

/// The value a replica serves for `checkout_v2`.
fn served(r: &Replica) -> serde_json::Value {
    let (status, body) = request(
        r.addr,
        "POST",
        "/ofrep/v1/evaluate/flags/checkout_v2",
        r#"{"context": {"targetingKey": "user_123"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    body["value"].clone()
}

fn readyz(r: &Replica) -> serde_json::Value {
    let (status, body) = request(r.addr, "GET", "/readyz", "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The bulk answer's ETag and body from a replica.
fn bulk(r: &Replica) -> (String, serde_json::Value) {
    let body = r#"{"context": {"targetingKey": "user_123"}}"#;
    let (head, body) = support::exchange(r.addr, "POST", "/ofrep/v1/evaluate/flags", "", body);
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an ETag")
        .to_string();
    (etag, serde_json::from_str(&body).unwrap())
}

#[test]
fn replicas_on_one_published_version_answer_alike() {
    let Some(pg) = Cluster::start("fleet-etag") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("etag");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();
    version_of(&killswitch(&dir, &["publish", "flags.toml", "--to", &url]));
    let early = spawn_replica(&dir, &url);
    let v2 = version_of(&killswitch(
        &dir,
        &["kill", "checkout_v2", "--to", &url, "--message", "INC-9"],
    ));
    wait_all(std::slice::from_ref(&early), "the kill", |r| {
        served(r) == false
    });
    // The early replica has loaded two configs, the late one only one:
    // both name the published version, and their ETags agree.
    let late = spawn_replica(&dir, &url);
    let (early_tag, early_body) = bulk(&early);
    let (late_tag, late_body) = bulk(&late);
    assert_eq!(early_tag, late_tag);
    assert_eq!(early_body, late_body);
    assert_eq!(early_body["flags"][0]["metadata"]["config_version"], v2);
}

#[test]
fn a_replica_started_while_the_database_is_down_waits_for_it() {
    let Some(mut pg) = Cluster::start("fleet-late") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("late");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();
    pg.stop_server();

    // Without --allow-missing: a clear error naming the database, exit 2.
    let out = killswitch(
        &dir,
        &["serve", "--source", &url, "--listen", "127.0.0.1:0"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(PASSWORD), "{}", stderr(&out));

    // With it: up at once, not ready, the source degraded, flags off.
    let replica = spawn_replica_with(&dir, &url, &["--allow-missing", "--poll-ms", "100"]);
    let (status, body) = request(replica.addr, "GET", "/readyz", "");
    assert_eq!(status, 503, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["source"], "degraded", "{body}");
    assert!(!body.contains(PASSWORD), "{body}");
    let (status, _) = request(replica.addr, "GET", "/healthz", "");
    assert_eq!(status, 200);

    // The database comes up and a config is published: the replica serves it.
    pg.start_server();
    version_of(&killswitch(
        &dir,
        &["publish", "flags.toml", "--to", &url, "--message", "late"],
    ));
    wait_all(std::slice::from_ref(&replica), "the first version", |r| {
        request(r.addr, "GET", "/readyz", "").0 == 200
    });
    assert_eq!(served(&replica), true);
    assert_eq!(readyz(&replica)["source"], "ok");
    while let Ok(line) = replica.log.try_recv() {
        assert!(!line.contains(PASSWORD), "{line}");
    }
}

#[test]
fn sighup_makes_a_replica_read_the_database_at_once() {
    let Some(pg) = Cluster::start("fleet-hup") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("hup");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();
    version_of(&killswitch(&dir, &["publish", "flags.toml", "--to", &url]));
    // Polling only, once a minute: only SIGHUP can show the kill sooner.
    let r = spawn_replica_with(&dir, &url, &["--no-listen", "--poll-ms", "60000"]);
    assert_eq!(served(&r), true);
    let v2 = version_of(&killswitch(
        &dir,
        &["kill", "checkout_v2", "--to", &url, "--message", "INC-10"],
    ));
    assert_eq!(
        served(&r),
        true,
        "a replica that only polls saw the kill early"
    );
    support::signal(&r._child.0, "HUP");
    let start = Instant::now();
    let line = loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        let line = r.log.recv_timeout(left).expect("a SIGHUP line");
        assert!(!line.contains(PASSWORD), "{line}");
        if line.starts_with("serve: SIGHUP: config") {
            break line;
        }
    };
    assert!(line.contains("config reloaded"), "{line}");
    assert_eq!(served(&r), false);
    assert_eq!(readyz(&r)["published_version"], v2);
}

fn metric(r: &Replica, name: &str) -> String {
    let (_, body) = request(r.addr, "GET", "/metrics", "");
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_default()
        .to_string()
}

fn wait_all(replicas: &[Replica], what: &str, mut done: impl FnMut(&Replica) -> bool) {
    let start = Instant::now();
    for r in replicas {
        while !done(r) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

const CONFIG: &str = "# checkout\n[[flags]]\nflag_key = \"checkout_v2\"\nenabled = true\nrollout_percentage = 100\n\n[[flags]]\nflag_key = \"search\"\nenabled = true\n";

#[test]
fn three_replicas_follow_one_database() {
    let Some(mut pg) = Cluster::start("fleet") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("replicas");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();

    // An invalid config: check's diagnostics, exit 1, nothing written.
    std::fs::write(
        dir.join("bad.toml"),
        "[[flags]]\nflag_key = \"x\"\nenabled = 3\n",
    )
    .unwrap();
    let out = killswitch(&dir, &["publish", "bad.toml", "--to", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad.toml:3:"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    let v1 = version_of(&killswitch(
        &dir,
        &["publish", "flags.toml", "--to", &url, "--message", "first"],
    ));
    assert_eq!(v1, 1);
    let replicas: Vec<Replica> = (0..3).map(|_| spawn_replica(&dir, &url)).collect();
    for r in &replicas {
        assert_eq!(served(r), true);
        let ready = readyz(r);
        assert_eq!(ready["source"], "ok");
        assert_eq!(ready["published_version"], 1);
        assert_eq!(ready["published_by"], "ci-user");
    }

    // The kill switch reaches every replica.
    let out = killswitch(&dir, &["kill", "checkout_v2", "--to", &url]);
    assert_eq!(out.status.code(), Some(2), "--message is required");
    let v2 = version_of(&killswitch(
        &dir,
        &[
            "kill",
            "checkout_v2",
            "--to",
            &url,
            "--message",
            "INC-7: errors",
        ],
    ));
    assert_eq!(v2, 2);
    wait_all(&replicas, "the kill", |r| served(r) == false);

    // PostgreSQL goes away: every replica serves the last good version,
    // stays healthy, and reports the source degraded.
    pg.stop_server();
    wait_all(&replicas, "degraded", |r| readyz(r)["source"] == "degraded");
    for r in &replicas {
        assert_eq!(served(r), false);
        let (status, _) = request(r.addr, "GET", "/healthz", "");
        assert_eq!(status, 200);
        assert_eq!(metric(r, "killswitch_source_degraded"), "1");
        let ready = readyz(r);
        assert!(!ready["source_error"].as_str().unwrap().contains(PASSWORD));
        // RFC 3339, as every time the service gives.
        let since = ready["degraded_since"].as_str().unwrap();
        assert!(since.len() == 20 && since.ends_with('Z'), "{since}");
    }
    let out = killswitch(
        &dir,
        &["unkill", "checkout_v2", "--to", &url, "--message", "x"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains(PASSWORD), "{}", stderr(&out));
    assert!(stderr(&out).contains("postgres:***@"), "{}", stderr(&out));

    // Back: they catch up and are healthy again.
    pg.start_server();
    let v3 = version_of(&killswitch(
        &dir,
        &[
            "unkill",
            "checkout_v2",
            "--to",
            &url,
            "--message",
            "INC-7 over",
        ],
    ));
    wait_all(&replicas, "the catch-up", |r| served(r) == true);
    wait_all(&replicas, "healthy", |r| {
        let ready = readyz(r);
        ready["source"] == "ok" && ready["published_version"] == v3
    });
    for r in &replicas {
        assert_eq!(metric(r, "killswitch_source_degraded"), "0");
    }

    // A version that does not compile, inserted behind the tool's back:
    // every replica rejects it and keeps serving.
    let out = pg.psql(
        "postgres",
        "INSERT INTO killswitch_versions (version, format, config, author) \
         VALUES (50, 'toml', 'flag_key = 1', 'eve')",
    );
    assert!(out.status.success(), "{}", pg::text(&out));
    wait_all(&replicas, "the rejection", |r| {
        metric(r, "killswitch_config_error") == "1"
    });
    for r in &replicas {
        assert_eq!(served(r), true);
        assert_eq!(readyz(r)["published_version"], v3);
    }

    // Rollback re-publishes an old version as a new one.
    let v4 = version_of(&killswitch(
        &dir,
        &["rollback", &v2.to_string(), "--to", &url],
    ));
    assert!(v4 > 50);
    wait_all(&replicas, "the rollback", |r| served(r) == false);
    wait_all(&replicas, "healthy again", |r| {
        metric(r, "killswitch_config_error") == "0"
    });

    // Compare-and-set: a stale expectation fails and writes nothing.
    let out = killswitch(
        &dir,
        &[
            "publish",
            "flags.toml",
            "--to",
            &url,
            "--expect-version",
            &v2.to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("version {v4} is")),
        "{}",
        stderr(&out)
    );
    let v5 = version_of(&killswitch(
        &dir,
        &[
            "publish",
            "flags.toml",
            "--to",
            &url,
            "--expect-version",
            &v4.to_string(),
        ],
    ));
    assert_eq!(v5, v4 + 1);

    // Two publishers racing: both become versions, one after the other.
    let racers: Vec<Child> = ["a", "b"]
        .iter()
        .map(|who| {
            Command::new(env!("CARGO_BIN_EXE_killswitch"))
                .args(["publish", "flags.toml", "--to", &url, "--author", who])
                .current_dir(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut raced: Vec<u64> = racers
        .into_iter()
        .map(|c| version_of(&c.wait_with_output().unwrap()))
        .collect();
    raced.sort_unstable();
    assert_eq!(raced, [v5 + 1, v5 + 2]);
    wait_all(&replicas, "the newest", |r| {
        readyz(r)["published_version"] == v5 + 2
    });

    // History: every version, with who, why and what changed.
    let out = killswitch(&dir, &["history", "--from", &url, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let entries: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<u64> = entries
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [v5 + 2, v5 + 1, v5, v4, 50, v3, v2, v1]);
    let kill = &entries[6];
    assert_eq!(kill["author"], "ci-user");
    assert_eq!(kill["message"], "INC-7: errors");
    assert_eq!(kill["changed"], serde_json::json!(["checkout_v2"]));
    assert_eq!(entries[4]["valid"], false);
    let out = killswitch(&dir, &["history", "--from", &url, "--limit", "2"]);
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));

    // Pull: the killed version back to a file, byte for byte.
    let out = killswitch(
        &dir,
        &["pull", &v2.to_string(), "--from", &url, "-o", "v2.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pulled = std::fs::read_to_string(dir.join("v2.toml")).unwrap();
    assert_eq!(
        pulled,
        CONFIG.replace(
            "[[flags]]\nflag_key = \"checkout_v2\"",
            "[[flags]]\nkill_switch = true\nflag_key = \"checkout_v2\""
        )
    );
    let out = killswitch(&dir, &["check", "v2.toml"]);
    assert_eq!(out.status.code(), Some(0));

    // No replica ever logged the password.
    for r in &replicas {
        for line in r.log.try_iter() {
            assert!(!line.contains(PASSWORD), "{line}");
        }
    }
    drop(replicas);
}

/// `serve --source http://...`: a config behind a URL, followed with
/// conditional GETs; a server error keeps the last good version serving.
#[test]
fn a_replica_follows_a_config_behind_a_url() {
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(Mutex::new(Some(CONFIG.to_string())));
    let script = Arc::clone(&answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let response = match script.lock().unwrap().clone() {
                Some(body) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/toml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    let dir = temp_dir("http");
    let url = format!("http://bot:{PASSWORD}@{addr}/flags");
    let replica = spawn_replica_with(&dir, &url, &["--poll-ms", "50"]);
    assert_eq!(served(&replica), true);
    *answer.lock().unwrap() = None;
    wait_all(std::slice::from_ref(&replica), "degraded", |r| {
        readyz(r)["source"] == "degraded"
    });
    assert_eq!(served(&replica), true);
    *answer.lock().unwrap() = Some(CONFIG.replace(
        "flag_key = \"checkout_v2\"",
        "flag_key = \"checkout_v2\"\nkill_switch = true",
    ));
    wait_all(std::slice::from_ref(&replica), "the kill", |r| {
        served(r) == false
    });
    for line in replica.log.try_iter() {
        assert!(!line.contains(PASSWORD), "{line}");
    }
}

/// The versions of the database, newest first, as `history` prints them.
fn history_versions(dir: &Path, url: &str) -> Vec<u64> {
    let out = killswitch(dir, &["history", "--from", url, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let entry: serde_json::Value = serde_json::from_str(l).unwrap();
            entry["version"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn a_kill_or_unkill_that_changes_nothing_writes_nothing() {
    let Some(pg) = Cluster::start("fleet-noop") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("noop");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();
    let v1 = version_of(&killswitch(&dir, &["publish", "flags.toml", "--to", &url]));
    let no_op = |command: &str, state: &str, newest: u64| {
        let out = killswitch(
            &dir,
            &[command, "checkout_v2", "--to", &url, "--message", "again"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // The newest version is printed, as a write prints its new one.
        assert_eq!(stdout(&out), format!("{newest}\n"));
        assert_eq!(
            stderr(&out),
            format!(
                "note: flag `checkout_v2` is already {state} in version {newest}, the newest: \
                 nothing was written\n"
            )
        );
    };
    no_op("unkill", "not killed", v1);
    assert_eq!(history_versions(&dir, &url), [v1]);
    let v2 = version_of(&killswitch(
        &dir,
        &["kill", "checkout_v2", "--to", &url, "--message", "INC-1"],
    ));
    assert_eq!(v2, v1 + 1);
    no_op("kill", "killed", v2);
    assert_eq!(history_versions(&dir, &url), [v2, v1]);
    // Compare-and-set is still checked: a stale expectation fails.
    let out = killswitch(
        &dir,
        &[
            "kill",
            "checkout_v2",
            "--to",
            &url,
            "--message",
            "again",
            "--expect-version",
            &v1.to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(history_versions(&dir, &url), [v2, v1]);
}

#[test]
fn kill_of_a_misspelt_flag_suggests_the_key() {
    let Some(pg) = Cluster::start("fleet-typo") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("typo");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();
    let v1 = version_of(&killswitch(&dir, &["publish", "flags.toml", "--to", &url]));
    let out = killswitch(
        &dir,
        &["kill", "chekout_v2", "--to", &url, "--message", "INC-2"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: cannot edit version {v1} (nothing was written): the config has no flag \
             `chekout_v2`; did you mean `checkout_v2`?\n"
        )
    );
    assert_eq!(history_versions(&dir, &url), [v1]);
}

/// The next log line of `r` starting with `prefix`, within the deadline.
fn log_line(r: &Replica, prefix: &str) -> String {
    let start = Instant::now();
    loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        let line = r
            .log
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line starting {prefix:?}"));
        assert!(!line.contains(PASSWORD), "{line}");
        if line.starts_with(prefix) {
            return line;
        }
    }
}

#[test]
fn a_replica_logs_that_the_database_is_back() {
    let Some(mut pg) = Cluster::start("fleet-back") else {
        return;
    };
    let url = pg.url("postgres");
    let dir = temp_dir("back");
    std::fs::write(dir.join("flags.toml"), CONFIG).unwrap();
    version_of(&killswitch(&dir, &["publish", "flags.toml", "--to", &url]));
    let r = spawn_replica_with(&dir, &url, &["--poll-ms", "100"]);
    let name = killswitch_fleet::redact_url(&url);
    pg.stop_server();
    let line = log_line(&r, "serve: source `");
    assert!(
        line.starts_with(&format!(
            "serve: source `{name}` is degraded (version 1 keeps serving): "
        )),
        "{line}"
    );
    // Back, with no new version: the error no longer stands, and the log
    // says so rather than leaving the error as its last word.
    pg.start_server();
    let line = log_line(&r, &format!("serve: `{name}`"));
    assert_eq!(
        line,
        format!(
            "serve: `{name}` is healthy again (version 1 keeps serving): the last error no \
             longer stands"
        )
    );
    assert_eq!(readyz(&r)["source"], "ok");
}
