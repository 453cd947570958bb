//! The `killswitch` command end to end: every subcommand's output and exit
//! codes, the `check` snapshots, and `watch` following a file.

// clippy.toml's allow-*-in-tests covers `#[test]` functions only, not the
// helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod commands;
mod dashboard;
mod diff;
mod help;
mod hostile;
mod refs;
mod snapshots;
mod variants;
mod watch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long any single expected change may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// The repository root, where `examples/` lives.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `killswitch` with `args` from the repository root.
fn killswitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

/// A file in a fresh temporary directory, removed by the OS eventually.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "killswitch-cli-{}-{}",
        std::process::id(),
        name.replace('.', "-")
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("temp file");
    path
}

/// A fresh directory, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "killswitch-cli-{}-{}-{name}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Replaces `path` atomically: a temporary file in the same directory,
/// renamed over it.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A one-flag config whose kill switch is `kill_switch`.
fn config(kill_switch: bool) -> String {
    format!(
        r#"{{"flags": [{{"flag_key": "checkout_v2", "enabled": true,
            "kill_switch": {kill_switch}, "rollout_percentage": 100}}]}}"#
    )
}

const SPEC_CONTEXT: &str = r#"{"user_id": "user_123", "email": "user@example.com", "segment": "beta", "is_internal": true}"#;
