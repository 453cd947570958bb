//! `killswitch watch` end to end: a line per flag at each version, an
//! error line per rejected reload, and the clock moving a schedule.

use super::{config, replace, TempDir, DEADLINE};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the child if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `killswitch watch flags.json` in `dir` for `context`; its
/// output lines arrive on the receiver.
#[cfg(unix)]
fn spawn_watch(dir: &TempDir, context: &str) -> (KillOnDrop, mpsc::Receiver<String>) {
    let (child, stdout, _) = spawn_watch_with(dir, &["--context", context]);
    (child, stdout)
}

/// Starts `killswitch watch flags.json` in `dir` with more `args`; its
/// standard output and error lines arrive on the receivers (standard error
/// is drained even when its receiver is dropped).
#[cfg(unix)]
fn spawn_watch_with(
    dir: &TempDir,
    args: &[&str],
) -> (KillOnDrop, mpsc::Receiver<String>, mpsc::Receiver<String>) {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_killswitch"))
            .args(["watch", "flags.json"])
            .args(args)
            .current_dir(&dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let stderr = child.0.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let (tx, errors) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    (child, lines, errors)
}

/// `killswitch watch`: a line per flag at each version, an error line
/// for a rejected change, exit 0 on Ctrl-C.
#[cfg(unix)]
#[test]
fn watch_prints_each_version_and_rejections_and_exits_0_on_ctrl_c() {
    let dir = TempDir::new("cli-watch");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let (mut child, lines) = spawn_watch(&dir, r#"{"user_id": "user_123"}"#);
    let child = &mut child.0;
    let next = || lines.recv_timeout(DEADLINE).expect("a line of output");
    let bucket = killswitch::bucket("user_123", "checkout_v2");
    let enabled = format!(
        r#"{{"version":{{}},"flag":"checkout_v2","enabled":true,"reason":"in_rollout","bucket":{bucket},"percentage":100,"variant":"on","value":true}}"#
    );

    assert_eq!(next(), enabled.replace("{}", "1"));
    replace(&path, &config(true));
    assert_eq!(
        next(),
        r#"{"version":2,"flag":"checkout_v2","enabled":false,"reason":"kill_switch","variant":"off","value":false}"#
    );
    replace(&path, r#"{"flags": [{"flag_key": "checkout_v2""#);
    let error: serde_json::Value = serde_json::from_str(&next()).unwrap();
    assert_eq!(error["version"], 2);
    let message = error["error"].as_str().unwrap();
    assert!(message.contains("--> flags.json:1:"), "{message}");
    replace(&path, &config(false));
    assert_eq!(next(), enabled.replace("{}", "3"));

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if start.elapsed() > DEADLINE {
            panic!("`watch` did not stop on Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(exit.code(), Some(0));
}

/// `secs` since the Unix epoch as RFC 3339 UTC.
#[cfg(unix)]
fn rfc3339(secs: u64) -> String {
    killswitch::format_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// `killswitch watch` on a config with a rollout schedule prints the
/// flag again when a step passes, with no change to the file.
#[cfg(unix)]
#[test]
fn watch_prints_a_decision_again_when_a_schedule_step_passes() {
    assert_eq!(rfc3339(1_893_456_000), "2030-01-01T00:00:00Z");
    let dir = TempDir::new("cli-watch-schedule");
    let path = dir.path("flags.json");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let started = Instant::now();
    let step = rfc3339(now + 3);
    replace(
        &path,
        &format!(
            r#"{{"flag_key": "ramp", "enabled": true, "rollout_percentage": 0,
                "rollout_schedule": [{{"at": "{step}", "percentage": 100}}]}}"#
        ),
    );
    let (_child, lines) = spawn_watch(&dir, r#"{"user_id": "u"}"#);
    let next = || -> serde_json::Value {
        let line = lines.recv_timeout(DEADLINE).expect("a line of output");
        serde_json::from_str(&line).unwrap()
    };
    let first = next();
    if started.elapsed() < Duration::from_millis(2_500) {
        // Printed before the step: off, at the base percentage.
        assert_eq!(first["enabled"], false, "{first}");
        assert_eq!(first["percentage"], 0, "{first}");
        let second = next();
        assert_eq!(second["version"], 1, "{second}");
        assert_eq!(second["enabled"], true, "{second}");
        assert_eq!(second["schedule_step"], 0, "{second}");
    } else {
        // A slow start: the step had passed already.
        assert_eq!(first["schedule_step"], 0, "{first}");
    }
}

#[test]
fn watch_fails_on_a_broken_or_missing_file() {
    let dir = TempDir::new("cli-watch-broken");
    let path = dir.path("flags.json");
    replace(&path, "{");
    let run = |file: &str| {
        Command::new(env!("CARGO_BIN_EXE_killswitch"))
            .args(["watch", file, "--context", "{}"])
            .current_dir(&dir.0)
            .output()
            .unwrap()
    };
    let out = run("flags.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--> flags.json:"));
    let out = run("nothing.json");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "`nothing.json` does not exist"
    );
}

/// `watch --flag` naming no flag warns as `eval` does, with the closest
/// key as a hint, and still prints the flag's decision.
#[cfg(unix)]
#[test]
fn watch_warns_about_an_unknown_flag() {
    let dir = TempDir::new("cli-watch-unknown-flag");
    replace(&dir.path("flags.json"), &config(false));
    let (_child, lines, errors) =
        spawn_watch_with(&dir, &["--context", "{}", "--flag", "checkout-v2"]);
    let warning = errors.recv_timeout(DEADLINE).expect("a warning");
    assert_eq!(
        warning,
        "warning: no flag `checkout-v2` in flags.json; did you mean `checkout_v2`?"
    );
    let line = lines.recv_timeout(DEADLINE).expect("a line of output");
    assert_eq!(
        line,
        r#"{"version":1,"flag":"checkout-v2","enabled":false,"reason":"unknown_flag","variant":"off","value":false}"#
    );
}

/// After an error line, a write that puts back the config serving (no new
/// version) prints a line saying the config is good again, so the stale
/// error is not the last word.
#[cfg(unix)]
#[test]
fn watch_says_when_the_file_is_good_again_after_an_error() {
    let dir = TempDir::new("cli-watch-recovered");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let (_child, lines) = spawn_watch(&dir, r#"{"user_id": "user_123"}"#);
    let next = || -> serde_json::Value {
        let line = lines.recv_timeout(DEADLINE).expect("a line of output");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next()["version"], 1);
    replace(&path, r#"{"flags": [{"flag_key": "checkout_v2""#);
    let error = next();
    assert_eq!(error["version"], 1, "{error}");
    assert!(error["error"].is_string(), "{error}");
    replace(&path, &config(false));
    assert_eq!(
        next(),
        serde_json::json!({
            "version": 1,
            "ok": "the config is valid again; version 1 keeps serving"
        })
    );
    // And a real change still prints the new version.
    replace(&path, &config(true));
    assert_eq!(next()["version"], 2);
}
