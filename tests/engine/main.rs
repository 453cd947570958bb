//! Integration tests of the `killswitch` library: the specification's
//! example, bucketing, the targeting language, diagnostics, config files,
//! hostile input, the property tests, the fuzz seeds and regressions
//! replayed, and the live store. One binary, so one link.

// clippy.toml's allow-*-in-tests covers `#[test]` functions only, not the
// helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bucket;
mod config;
mod conformance;
mod errors;
mod formats;
mod fuzz_regressions;
mod hostile;
mod language;
mod load_cost;
mod plans;
mod properties;
mod spec;
#[cfg(feature = "store")]
mod store;
mod variants;

use killswitch::{Context, FlagSet, Rule};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The specification's example flag, with a structured deny rule: the one
/// fixture the tests and benchmarks share (`tests/fixtures/spec_flag.json`).
pub(crate) const SPEC_FLAG: &str = include_str!("../fixtures/spec_flag.json");

/// A fresh, empty directory for one test, removed when dropped. Names
/// carry the process id and a counter, so tests running in parallel (and
/// earlier runs' leftovers) never share one.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "killswitch-engine-{}-{}-{name}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    /// The path of `name` inside the directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `bytes` to `name` inside the directory and returns its path.
    pub(crate) fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles a config that must be valid, showing every diagnostic if not.
pub(crate) fn flags(json: &str) -> FlagSet {
    FlagSet::from_json(json).unwrap_or_else(|e| panic!("config rejected:\n{e}"))
}

/// Compiles a rule that must be valid, showing the diagnostic if not.
pub(crate) fn rule(text: &str) -> Rule {
    Rule::parse(text).unwrap_or_else(|e| panic!("rule {text:?} rejected:\n{e}"))
}

/// Whether `text` matches `ctx`.
pub(crate) fn holds(text: &str, ctx: &Context<'_>) -> bool {
    rule(text).matches(ctx)
}

/// Runs `f` on a new thread with a stack of `stack` bytes and returns its
/// result; a panic in `f` fails the calling test with the panic's message
/// (a stack overflow would abort the whole process, which fails it too).
pub(crate) fn on_stack<T, F>(stack: usize, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle = std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(stack)
        .spawn(f)
        .expect("spawn a thread");
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Like [`on_stack`], and the harness also bounds the time: when `f` has
/// not returned after `bound`, the calling test fails (the thread is left
/// behind). The bound is generous, many times the expected cost: it tells a
/// hang or a quadratic blow-up from linear work, it is not a benchmark.
pub(crate) fn on_stack_within<T, F>(stack: usize, bound: std::time::Duration, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("small-stack-bounded".into())
        .stack_size(stack)
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(result);
        })
        .expect("spawn a thread");
    match rx.recv_timeout(bound) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("did not finish within {bound:?}: a hang or a superlinear cost"),
    }
}
