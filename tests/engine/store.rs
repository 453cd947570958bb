//! The live store: reloads from files (notifications and polling) and from
//! custom sources, rejected configs, whole versions under concurrency,
//! shutdown, and hostile files.
//!
//! Every wait is bounded by a generous deadline and polls for the expected
//! state, so the tests stay reliable on a loaded machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::TempDir;
use killswitch::store::{
    Fetched, FileSource, IfMissing, LoadError, Reload, Source, SourceError, Store, StoreEvent,
};
use killswitch::{Context, Decision, FlagSet, Reason};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single expected change may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// Replaces `path` atomically: a temporary file in the same directory,
/// renamed over it.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn config(kill_switch: bool) -> String {
    format!(
        r#"{{"flags": [{{"flag_key": "checkout_v2", "enabled": true,
            "kill_switch": {kill_switch}, "rollout_percentage": 100}}]}}"#
    )
}

fn user() -> Context<'static> {
    Context::new().with("user_id", "user_123")
}

/// Polls `check` until it holds, failing the test after [`DEADLINE`].
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The next event, failing the test after [`DEADLINE`].
fn next_event(rx: &Receiver<StoreEvent>) -> StoreEvent {
    rx.recv_timeout(DEADLINE)
        .expect("an event before the deadline")
}

/// A store on `path` telling its events to the returned channel.
fn file_store(
    path: &Path,
    notifications: bool,
    poll: Option<Duration>,
) -> (Store, Receiver<StoreEvent>) {
    let (tx, rx) = mpsc::channel();
    let store = Store::builder(FileSource::new(path))
        .notifications(notifications)
        .poll_interval(poll)
        .on_event(move |e: &StoreEvent| {
            let _ = tx.send(e.clone());
        })
        .start()
        .unwrap();
    (store, rx)
}

#[test]
fn a_notification_picks_up_a_flipped_kill_switch() {
    let dir = TempDir::new("notify");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    // No polling: only a notification can bring the change.
    let (store, rx) = file_store(&path, true, None);
    assert!(store.status().notifications, "{:?}", store.status());
    assert_eq!(store.version(), 1);
    assert!(store.evaluate("checkout_v2", &user()).enabled);

    replace(&path, &config(true));
    wait_for("the kill switch", || {
        store.evaluate("checkout_v2", &user()).reason == Reason::KillSwitch
    });
    assert_eq!(store.version(), 2);
    assert!(matches!(
        next_event(&rx),
        StoreEvent::Reloaded {
            version: 2,
            flags: 1
        }
    ));

    // Editors that rewrite in place (no rename) are followed too.
    std::fs::write(&path, config(false)).unwrap();
    wait_for("the kill switch off", || {
        store.evaluate("checkout_v2", &user()).enabled
    });
    assert_eq!(store.version(), 3);
}

#[test]
fn polling_picks_up_a_flipped_kill_switch() {
    let dir = TempDir::new("poll");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let (store, _rx) = file_store(&path, false, Some(Duration::from_millis(20)));
    let status = store.status();
    assert!(status.watching && !status.notifications, "{status:?}");

    replace(&path, &config(true));
    wait_for("the kill switch", || {
        store.evaluate("checkout_v2", &user()).reason == Reason::KillSwitch
    });
    assert_eq!(store.version(), 2);

    // Unchanged content is not a new version, however often it is polled.
    replace(&path, &config(true));
    assert!(matches!(
        store.reload(),
        Ok(Reload::Unchanged { version: 2 })
    ));
    assert_eq!(store.version(), 2);
}

#[test]
fn a_broken_file_keeps_the_old_version_and_reports_the_error() {
    let dir = TempDir::new("broken");
    let path = dir.path("flags.json");
    replace(&path, &config(true));
    let (store, rx) = file_store(&path, true, Some(Duration::from_millis(50)));

    let broken = r#"{"flag_key": "checkout_v2", "enabled": true, "rollout_percent": 100}"#;
    replace(&path, broken);
    let StoreEvent::Rejected { version, error } = next_event(&rx) else {
        panic!("expected a rejection");
    };
    assert_eq!(version, 1);
    let message = error.to_string();
    assert!(message.contains("rollout_percent"), "{message}");
    assert!(message.contains("flags.json:1:"), "{message}");
    assert!(error.config_error().is_some());

    // Still serving version 1, and saying why the update was refused.
    assert_eq!(store.version(), 1);
    assert_eq!(
        store.evaluate("checkout_v2", &user()).reason,
        Reason::KillSwitch
    );
    let status = store.status();
    assert_eq!(status.version, 1);
    assert!(status.last_error_at.is_some());
    assert_eq!(
        status.last_error.map(|e| e.to_string()),
        Some(message.clone())
    );
    // The same broken text is reported once, not on every poll.
    assert!(store.reload().is_err());
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());

    // A fixed file is picked up, and the status is healthy again.
    replace(&path, &config(false));
    wait_for("the fixed config", || store.version() == 2);
    assert!(store.evaluate("checkout_v2", &user()).enabled);
    assert!(store.status().last_error.is_none());
}

#[test]
fn undoing_a_rejected_change_is_told_as_a_recovery() {
    let dir = TempDir::new("undone");
    let path = dir.path("flags.json");
    replace(&path, &config(true));
    let (store, rx) = file_store(&path, true, Some(Duration::from_millis(50)));

    replace(&path, r#"{"flag_key": "checkout_v2""#);
    assert!(matches!(
        next_event(&rx),
        StoreEvent::Rejected { version: 1, .. }
    ));
    // The config serving, written back: no new version, but the error
    // no longer stands, and the listeners are told so, once.
    replace(&path, &config(true));
    match next_event(&rx) {
        StoreEvent::Recovered { version: 1 } => {}
        other => panic!("expected a recovery, got {other:?}"),
    }
    assert!(store.status().last_error.is_none());
    assert_eq!(store.version(), 1);
    assert!(matches!(
        store.reload(),
        Ok(Reload::Unchanged { version: 1 })
    ));
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
}

#[test]
fn a_file_that_is_not_utf8_is_a_placed_config_error_not_a_read_failure() {
    let dir = TempDir::new("utf16");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let (store, rx) = file_store(&path, true, Some(Duration::from_millis(50)));

    // A UTF-8 config with one stray Latin-1 byte on its second line.
    let mut bytes = b"{\"flag_key\": \"checkout_v2\",\n \"enabled\": tru\xe9}".to_vec();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let StoreEvent::Rejected { error, .. } = next_event(&rx) else {
        panic!("expected a rejection");
    };
    let problems = error
        .config_error()
        .expect("a config error, not an I/O one");
    assert_eq!(
        problems.diagnostics()[0].kind(),
        killswitch::ErrorKind::InvalidEncoding
    );
    assert_eq!(problems.diagnostics()[0].line_column(), Some((2, 16)));
    assert!(error.to_string().contains("flags.json:2:16"), "{error}");
    assert_eq!(store.version(), 1);

    // A UTF-16 file is named as such; the next good write lands.
    bytes = vec![0xFF, 0xFE, b'{', 0, b'}', 0];
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let StoreEvent::Rejected { error, .. } = next_event(&rx) else {
        panic!("expected a rejection");
    };
    assert!(error.to_string().contains("UTF-16"), "{error}");
    replace(&path, &config(true));
    wait_for("the kill switch", || store.version() == 2);
    assert_eq!(
        store.evaluate("checkout_v2", &user()).reason,
        Reason::KillSwitch
    );
}

#[test]
fn a_truncated_write_then_a_good_write_ends_on_the_good_version() {
    use std::io::Write;
    let dir = TempDir::new("truncated");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let (store, rx) = file_store(&path, true, Some(Duration::from_millis(50)));

    // A writer that truncates and writes in place, caught half-way.
    let good = config(true);
    let (head, tail) = good.split_at(good.len() / 2);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    file.write_all(head.as_bytes()).unwrap();
    file.flush().unwrap();
    match next_event(&rx) {
        StoreEvent::Rejected { version: 1, error } => {
            assert!(error.config_error().is_some(), "{error}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(store.evaluate("checkout_v2", &user()).enabled);

    // The rest of the write arrives.
    file.write_all(tail.as_bytes()).unwrap();
    file.flush().unwrap();
    drop(file);
    wait_for("the complete config", || {
        store.evaluate("checkout_v2", &user()).reason == Reason::KillSwitch
    });
    let status = store.status();
    assert_eq!(status.version, 2);
    assert!(status.last_error.is_none(), "{status:?}");
}

/// A file source that counts its fetches.
struct CountingFile(FileSource, Arc<AtomicUsize>);

impl Source for CountingFile {
    fn name(&self) -> String {
        self.0.name()
    }
    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.fetch()
    }
    fn watch_path(&self) -> Option<&Path> {
        self.0.watch_path()
    }
}

#[test]
fn the_store_reading_the_file_does_not_wake_itself_up() {
    let dir = TempDir::new("quiet");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let fetches = Arc::new(AtomicUsize::new(0));
    let store = Store::builder(CountingFile(FileSource::new(&path), Arc::clone(&fetches)))
        .poll_interval(None)
        .start()
        .unwrap();
    assert!(store.status().notifications);
    replace(&path, &config(true));
    wait_for("the change", || store.version() == 2);
    // The events of the change itself may still be on their way on a busy
    // machine (one more read after the version is served): wait until the
    // reads stop for a while. A busy loop never does.
    let mut last = fetches.load(Ordering::SeqCst);
    let mut quiet_since = Instant::now();
    wait_for("the reads to stop", || {
        let now = fetches.load(Ordering::SeqCst);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
        quiet_since.elapsed() >= Duration::from_millis(100)
    });
    // Opening and reading the file are events too; they must not lead to
    // another read (a busy loop).
    let after_change = fetches.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fetches.load(Ordering::SeqCst), after_change);
    // At startup, once more when the watch starts, and for the change.
    assert!(after_change <= 4, "{after_change} fetches");
}

#[test]
fn startup_with_a_broken_file_is_an_error() {
    let dir = TempDir::new("startup-broken");
    let path = dir.path("flags.json");
    replace(&path, r#"{"flag_key": "x", "enabled": tru}"#);
    let err = Store::watch_file(&path).unwrap_err();
    assert!(err.config_error().is_some());
    assert!(!err.is_missing());
    assert_eq!(err.source_name(), path.display().to_string());
    assert!(err.to_string().contains("flags.json:1:"), "{err}");
}

#[test]
fn startup_with_a_missing_file_fails_or_starts_empty() {
    let dir = TempDir::new("missing");
    let path = dir.path("flags.json");
    let err = Store::watch_file(&path).unwrap_err();
    assert!(err.is_missing(), "{err}");

    let store = Store::builder(FileSource::new(&path))
        .if_missing(IfMissing::StartEmpty)
        .poll_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    assert_eq!(store.version(), 0);
    assert_eq!(
        store.evaluate("checkout_v2", &user()),
        FlagSet::default().evaluate("checkout_v2", &user())
    );
    assert_eq!(
        store.evaluate("checkout_v2", &user()).reason,
        Reason::UnknownFlag
    );
    assert!(store.status().last_error.is_some_and(|e| e.is_missing()));

    replace(&path, &config(false));
    wait_for("the new file", || store.version() == 1);
    assert!(store.evaluate("checkout_v2", &user()).enabled);
    assert!(store.status().last_error.is_none());

    // A file deleted later is a failed load: version 1 keeps serving.
    std::fs::remove_file(&path).unwrap();
    wait_for("the missing file to be reported", || {
        store.status().last_error.is_some_and(|e| e.is_missing())
    });
    assert_eq!(store.version(), 1);
    assert!(store.evaluate("checkout_v2", &user()).enabled);
}

/// A source fed by the test, counting fetches.
#[derive(Clone, Default)]
struct TestSource {
    text: Arc<Mutex<Option<String>>>,
    fetches: Arc<AtomicUsize>,
}

impl Source for TestSource {
    fn name(&self) -> String {
        "test-source".to_string()
    }

    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        match self.text.lock().unwrap().clone() {
            Some(text) if text == "unreachable" => Err("connection refused".into()),
            Some(text) => Ok(Fetched::Text(text)),
            None => Ok(Fetched::NotModified),
        }
    }
}

#[test]
fn a_source_unreachable_at_startup_fails_or_is_waited_for() {
    let source = TestSource::default();
    *source.text.lock().unwrap() = Some("unreachable".into());
    let err = Store::builder(source.clone()).start().unwrap_err();
    assert!(err.to_string().contains("connection refused"), "{err}");

    let store = Store::builder(source.clone())
        .if_missing(IfMissing::StartEmpty)
        .poll_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    assert_eq!(store.version(), 0);
    let status = store.status();
    assert_eq!(status.degraded.as_deref(), Some("connection refused"));
    assert!(status.last_error.is_some());
    assert_eq!(
        store.evaluate("checkout_v2", &user()).reason,
        Reason::UnknownFlag
    );

    // The source answers: its config serves, and the status is healthy.
    *source.text.lock().unwrap() = Some(config(true));
    wait_for("the first config", || store.version() == 1);
    assert_eq!(
        store.evaluate("checkout_v2", &user()).reason,
        Reason::KillSwitch
    );
    let status = store.status();
    assert!(status.degraded.is_none() && status.last_error.is_none());

    // A config that is there but invalid still fails the start.
    *source.text.lock().unwrap() = Some("{\"flag_key\": 3}".into());
    let err = Store::builder(source)
        .if_missing(IfMissing::StartEmpty)
        .start()
        .unwrap_err();
    assert!(err.config_error().is_some(), "{err}");
}

#[test]
fn a_custom_source_is_reloaded_on_demand_and_by_polling() {
    let source = TestSource::default();
    *source.text.lock().unwrap() = Some(config(false));
    let store = Store::builder(source.clone())
        .poll_interval(None)
        .start()
        .unwrap();
    assert!(!store.status().watching);
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);

    *source.text.lock().unwrap() = Some(config(true));
    assert_eq!(store.reload().unwrap(), Reload::Applied { version: 2 });
    assert_eq!(
        store.evaluate("checkout_v2", &user()).reason,
        Reason::KillSwitch
    );
    assert_eq!(store.reload().unwrap(), Reload::Unchanged { version: 2 });
    *source.text.lock().unwrap() = None;
    assert_eq!(store.reload().unwrap(), Reload::Unchanged { version: 2 });

    *source.text.lock().unwrap() = Some("unreachable".to_string());
    let err: LoadError = store.reload().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read `test-source`: connection refused"
    );
    assert_eq!(store.version(), 2);

    // With polling, the store fetches by itself.
    let polled = Store::builder(source.clone())
        .poll_interval(Duration::from_millis(10))
        .start();
    assert!(polled.is_err(), "an unreachable source fails at startup");
    *source.text.lock().unwrap() = Some(config(false));
    let polled = Store::builder(source.clone())
        .poll_interval(Duration::from_millis(10))
        .start()
        .unwrap();
    *source.text.lock().unwrap() = Some(config(true));
    wait_for("the polled change", || polled.version() == 2);
}

/// The config of version `v` (1..=1023): a `marker` flag decided by allow
/// rule `v % 16`, and six flags whose kill switches spell `v / 16` in
/// binary, so every version gives a different set of decisions.
fn versioned_config(v: usize) -> String {
    let mut allow: Vec<String> = (0..v % 16).map(|_| "\"never\"".to_string()).collect();
    allow.push("\"always\"".to_string());
    let mut flags = vec![format!(
        r#"{{"flag_key": "marker", "enabled": true,
            "targeting_rules": {{"allow_list": [{}]}}}}"#,
        allow.join(", ")
    )];
    for bit in 0..6 {
        flags.push(format!(
            r#"{{"flag_key": "bit{bit}", "enabled": true, "rollout_percentage": 100,
                "kill_switch": {}}}"#,
            ((v / 16) >> bit) & 1 == 1
        ));
    }
    format!("[{}]", flags.join(", "))
}

const KEYS: [&str; 7] = ["marker", "bit0", "bit1", "bit2", "bit3", "bit4", "bit5"];

#[test]
fn readers_during_a_thousand_reloads_only_see_whole_versions() {
    const RELOADS: usize = 1000;
    const READERS: usize = 8;
    let ctx = Context::new()
        .with("user_id", "user_123")
        .with("always", true);

    // Each version's answers, computed on the flag sets directly.
    let configs: Vec<String> = (0..=RELOADS + 1).map(versioned_config).collect();
    let expected: Vec<Vec<Decision>> = configs
        .iter()
        .map(|text| {
            let set = FlagSet::from_json(text).unwrap();
            KEYS.iter().map(|k| set.evaluate(k, &ctx)).collect()
        })
        .collect();
    let mut distinct = expected[1..].to_vec();
    distinct.sort_by_key(|d| format!("{d:?}"));
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        RELOADS + 1,
        "versions must be distinguishable"
    );

    let store = Store::new(FlagSet::from_json(&configs[1]).unwrap());
    let done = AtomicBool::new(false);
    let observations = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = 0usize;
                    let mut last_version = 0;
                    loop {
                        // A snapshot: all seven decisions are those of its version.
                        let snapshot = store.snapshot();
                        let v = snapshot.version() as usize;
                        let got: Vec<Decision> =
                            KEYS.iter().map(|k| snapshot.evaluate(k, &ctx)).collect();
                        assert_eq!(got, expected[v], "version {v}");
                        assert!(v >= last_version, "versions go forward");
                        last_version = v;

                        // Straight through the store: each decision is that of
                        // a version current at some point during the call.
                        let key = KEYS[seen % KEYS.len()];
                        let before = store.version() as usize;
                        let decision = store.evaluate(key, &ctx);
                        let after = store.version() as usize;
                        let column = seen % KEYS.len();
                        assert!(
                            (before..=after).any(|v| expected[v][column] == decision),
                            "{key}: {decision:?} is not from versions {before}..={after}"
                        );
                        seen += 1;
                        if done.load(Ordering::Acquire) {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        for (v, text) in configs.iter().enumerate().skip(2) {
            assert_eq!(
                store.update_json(text).unwrap(),
                Reload::Applied { version: v as u64 }
            );
        }
        done.store(true, Ordering::Release);
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(store.version() as usize, RELOADS + 1);
    assert!(observations.iter().all(|&n| n > 0), "{observations:?}");
}

/// Whether a thread of this process has this name (Linux).
#[cfg(target_os = "linux")]
fn thread_exists(name: &str) -> bool {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .any(|comm| comm.trim_end() == name)
}

#[test]
fn the_watcher_stops_cleanly() {
    let dir = TempDir::new("shutdown");
    let path = dir.path("flags.json");
    replace(&path, &config(false));

    // The listener is owned by the store; its drop shows the thread let go.
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(Arc::clone(&dropped));
    let store = Store::builder(FileSource::new(&path))
        .poll_interval(Duration::from_millis(10))
        .thread_name("ks-stop-test")
        .on_event(move |_: &StoreEvent| {
            let _ = &flag;
        })
        .start()
        .unwrap();
    assert!(store.status().watching);
    #[cfg(target_os = "linux")]
    wait_for("the thread to start", || thread_exists("ks-stop-test"));

    store.shutdown();
    assert!(!store.status().watching);
    assert!(!store.status().notifications);
    #[cfg(target_os = "linux")]
    wait_for("the thread to exit", || !thread_exists("ks-stop-test"));
    store.shutdown(); // twice is fine

    // No thread follows the file any more; an explicit reload still works.
    replace(&path, &config(true));
    assert_eq!(store.version(), 1);
    assert_eq!(store.reload().unwrap(), Reload::Applied { version: 2 });

    assert!(!dropped.load(Ordering::SeqCst));
    drop(store);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the store let go of everything"
    );
}

#[test]
fn dropping_a_running_store_joins_its_thread() {
    let dir = TempDir::new("drop");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let store = Store::builder(FileSource::new(&path))
        .thread_name("ks-drop-test")
        .start()
        .unwrap();
    #[cfg(target_os = "linux")]
    wait_for("the thread to start", || thread_exists("ks-drop-test"));
    drop(store);
    #[cfg(target_os = "linux")]
    wait_for("the thread to exit", || !thread_exists("ks-drop-test"));
}

#[test]
fn a_panicking_listener_does_not_stop_the_store() {
    let dir = TempDir::new("panic");
    let path = dir.path("flags.json");
    replace(&path, &config(false));
    let (tx, rx) = mpsc::channel();
    let store = Store::builder(FileSource::new(&path))
        .poll_interval(Duration::from_millis(20))
        .on_event(|_: &StoreEvent| panic!("a listener bug"))
        .on_event(move |e: &StoreEvent| {
            let _ = tx.send(e.clone());
        })
        .start()
        .unwrap();
    replace(&path, &config(true));
    assert!(matches!(
        next_event(&rx),
        StoreEvent::Reloaded { version: 2, .. }
    ));
    replace(&path, &config(false));
    assert!(matches!(
        next_event(&rx),
        StoreEvent::Reloaded { version: 3, .. }
    ));
    assert!(store.status().watching);
}

/// How long a hostile piece (a store start, a reload, a shutdown) may run
/// before the test fails instead of hanging the run.
const HARNESS_BOUND: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread with a small stack; a panic in `f` fails the
/// test, and so does `f` not returning within [`HARNESS_BOUND`] (a hang, for
/// example a watcher blocked in `open()` on a FIFO, or a shutdown that never
/// returns).
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("bounded".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    match rx.recv_timeout(HARNESS_BOUND) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{what} ended without an answer"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {HARNESS_BOUND:?}: it hangs")
        }
    }
}

/// Makes a FIFO at `path` (with the `mkfifo` tool: the crate forbids
/// `unsafe`, and `libc::mkfifo` needs it).
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// The next rejection, skipping reloads; fails after [`DEADLINE`].
#[cfg(unix)]
fn next_rejection(rx: &Receiver<StoreEvent>) -> LoadError {
    loop {
        match next_event(rx) {
            StoreEvent::Rejected { error, .. } => return error,
            StoreEvent::Reloaded { .. } => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// Writes the kill switch and waits for it to be served; returns how long
/// it took (for the failure messages: a hostile write must not delay it).
fn kill_switch_lands(store: &Store, path: &Path) -> Duration {
    let start = Instant::now();
    replace(path, &config(true));
    wait_for("the kill switch after a hostile write", || {
        store.evaluate("checkout_v2", &user()).reason == Reason::KillSwitch
    });
    start.elapsed()
}

/// The hostile writes of issue 11, each followed by a kill-switch write: a
/// file over `Limits::max_config_bytes`, a sparse file of a terabyte, a
/// symlink to `/dev/zero` and a FIFO. Each is reported as a rejected
/// reload (with what it was), version 1 keeps serving meanwhile, and the
/// kill switch written next lands through a notification (no polling).
#[cfg(unix)]
#[test]
fn a_hostile_write_is_rejected_and_the_next_kill_switch_lands() {
    type Hostile = fn(&Path, &Path);
    let cases: [(&str, Hostile, &str); 4] = [
        (
            "over the cap",
            |path, _| replace(path, &format!("{}{}", config(false), " ".repeat(300_000))),
            "over the limit of 262144 (Limits::max_config_bytes)",
        ),
        (
            "sparse terabyte",
            |path, dir| {
                let tmp = dir.join("sparse.tmp");
                let file = std::fs::File::create(&tmp).unwrap();
                file.set_len(1 << 40).unwrap();
                drop(file);
                std::fs::rename(&tmp, path).unwrap();
            },
            "it is 1099511627776 bytes, over the limit of 262144",
        ),
        (
            "/dev/zero",
            |path, dir| {
                let tmp = dir.join("zero.tmp");
                std::os::unix::fs::symlink("/dev/zero", &tmp).unwrap();
                std::fs::rename(&tmp, path).unwrap();
            },
            "it is a character device, not a regular file",
        ),
        (
            "FIFO",
            |path, dir| {
                let tmp = dir.join("fifo.tmp");
                mkfifo(&tmp);
                std::fs::rename(&tmp, path).unwrap();
            },
            "it is a FIFO (named pipe), not a regular file",
        ),
    ];
    for (name, write_hostile, expected) in cases {
        let took = bounded(name, move || {
            let dir = TempDir::new("hostile");
            let path = dir.path("flags.json");
            replace(&path, &config(false));
            let mut limits = killswitch::Limits::default();
            limits.max_config_bytes = 256 * 1024;
            let (tx, rx) = mpsc::channel();
            let store = Store::builder(FileSource::new(&path))
                .poll_interval(None)
                .limits(limits)
                .on_event(move |e: &StoreEvent| {
                    let _ = tx.send(e.clone());
                })
                .start()
                .unwrap();
            assert!(store.status().notifications, "{name}: {:?}", store.status());

            write_hostile(&path, &dir.0);
            let error = next_rejection(&rx);
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("cannot read `{}`: ", path.display())),
                "{name}: {message}"
            );
            assert!(message.contains(expected), "{name}: {message}");
            assert!(error.config_error().is_none() && !error.is_missing());
            let status = store.status();
            assert_eq!(status.version, 1, "{name}");
            assert_eq!(
                status.last_error.map(|e| e.to_string()),
                Some(message),
                "{name}"
            );
            assert!(store.evaluate("checkout_v2", &user()).enabled, "{name}");

            let took = kill_switch_lands(&store, &path);
            assert!(
                matches!(next_event(&rx), StoreEvent::Reloaded { version: 2, .. }),
                "{name}"
            );
            assert!(store.status().last_error.is_none(), "{name}");
            // The watcher is free: shutdown returns (bounded by the harness).
            store.shutdown();
            assert!(!store.status().watching, "{name}");
            took
        });
        eprintln!("{name}: the kill switch was served {took:?} after its write");
    }
}

/// Defect 3 of issue 11: a FIFO moved over the config (`mkfifo tmp && mv
/// tmp flags.json`) under a running store, with polling too, must not block
/// the watcher: it is a rejected reload, polls keep running without
/// reporting it again, a later good write is applied, and shutdown returns.
#[cfg(unix)]
#[test]
fn a_fifo_swapped_in_under_a_running_store_does_not_block_it() {
    bounded("the FIFO test", || {
        let dir = TempDir::new("fifo");
        let path = dir.path("flags.json");
        replace(&path, &config(false));
        let (store, rx) = file_store(&path, true, Some(Duration::from_millis(20)));
        let tmp = dir.path("tmp");
        mkfifo(&tmp);
        std::fs::rename(&tmp, &path).unwrap();
        let error = next_rejection(&rx);
        assert!(error.to_string().contains("FIFO"), "{error}");
        assert_eq!(store.version(), 1);
        // Several polls later: not reported again, and `reload` answers.
        std::thread::sleep(Duration::from_millis(100));
        assert!(rx.try_recv().is_err());
        assert!(store.reload().unwrap_err().to_string().contains("FIFO"));

        kill_switch_lands(&store, &path);
        assert_eq!(store.version(), 2);
        assert!(store.status().last_error.is_none());
        drop(store);
    });
}

/// A source whose fetch blocks until the test lets it go: a slow network
/// source, say.
struct StuckSource {
    release: Arc<Mutex<Receiver<()>>>,
    stuck: Arc<AtomicBool>,
    fetches: usize,
}

impl Source for StuckSource {
    fn name(&self) -> String {
        "stuck".to_string()
    }

    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        self.fetches += 1;
        if self.fetches > 1 {
            self.stuck.store(true, Ordering::SeqCst);
            let _ = self.release.lock().unwrap().recv();
        }
        Ok(Fetched::Text(config(false)))
    }
}

#[test]
fn shutdown_returns_while_a_reload_is_stuck_in_the_source() {
    let (release, released) = mpsc::channel();
    let stuck = Arc::new(AtomicBool::new(false));
    let source = StuckSource {
        release: Arc::new(Mutex::new(released)),
        stuck: Arc::clone(&stuck),
        fetches: 0,
    };
    let store = Store::builder(source)
        .poll_interval(Duration::from_millis(10))
        .thread_name("ks-stuck-test")
        .start()
        .unwrap();
    wait_for("the stuck fetch", || stuck.load(Ordering::SeqCst));
    let store = bounded("shutdown", move || {
        // The status does not wait for the fetch either.
        assert!(store.status().watching);
        store.shutdown();
        store
    });
    assert!(!store.status().watching);
    assert!(store.evaluate("checkout_v2", &user()).enabled);
    // Let the fetch go: the thread ends on its own.
    release.send(()).unwrap();
    #[cfg(target_os = "linux")]
    wait_for("the thread to exit", || !thread_exists("ks-stuck-test"));
    drop(store);
}

/// Defect 5 of issue 11: the watched directory deleted and created again.
/// The store reports that it fell back to polling, watches the new
/// directory when it appears, and a kill switch written there arrives by
/// notification again (there is no polling here at all).
#[test]
fn a_deleted_and_recreated_directory_is_watched_again() {
    bounded("the directory test", || {
        let parent = TempDir::new("rewatch");
        let dir = parent.path("config");
        let path = dir.join("flags.json");
        std::fs::create_dir(&dir).unwrap();
        replace(&path, &config(false));
        let (store, rx) = file_store(&path, true, None);
        let status = store.status();
        assert!(status.notifications, "{status:?}");
        assert_eq!(status.notifications_lost, None);

        std::fs::remove_dir_all(&dir).unwrap();
        wait_for("the fallback to polling", || !store.status().notifications);
        let lost = store.status().notifications_lost.unwrap();
        assert!(lost.contains("is gone"), "{lost}");
        assert!(lost.contains(&dir.display().to_string()), "{lost}");
        assert!(store.evaluate("checkout_v2", &user()).enabled);

        std::fs::create_dir(&dir).unwrap();
        wait_for("notifications again", || store.status().notifications);
        assert_eq!(store.status().notifications_lost, None);
        kill_switch_lands(&store, &path);
        // The file deleted with its directory was reported missing; the
        // kill switch is version 2.
        assert_eq!(store.version(), 2);
        let mut saw_missing = false;
        while let Ok(event) = rx.try_recv() {
            if let StoreEvent::Rejected { error, .. } = event {
                saw_missing |= error.is_missing();
            }
        }
        assert!(saw_missing, "the missing file was reported");

        // And once more: notifications keep working after the re-watch.
        replace(&path, &config(false));
        wait_for("the kill switch off", || {
            store.evaluate("checkout_v2", &user()).enabled
        });
        assert_eq!(store.version(), 3);
    });
}

/// The directory replaced by another one under the same name (`mv config
/// config.old && mkdir config`): the old watch follows the moved directory,
/// so the store must notice and watch the new one.
#[test]
fn a_directory_moved_away_and_replaced_is_watched_again() {
    bounded("the replaced directory test", || {
        let parent = TempDir::new("replaced");
        let dir = parent.path("config");
        let path = dir.join("flags.json");
        std::fs::create_dir(&dir).unwrap();
        replace(&path, &config(false));
        let (store, _rx) = file_store(&path, true, None);
        assert!(store.status().notifications);

        let staged = parent.path("config.new");
        std::fs::create_dir(&staged).unwrap();
        std::fs::rename(&dir, parent.path("config.old")).unwrap();
        std::fs::rename(&staged, &dir).unwrap();
        // A write to the old directory (now elsewhere) is not the config.
        replace(&parent.path("config.old").join("flags.json"), &config(true));
        // Let a reload that write may cause pass, so that only a notification
        // from the new directory can bring the next write.
        std::thread::sleep(Duration::from_millis(200));
        assert!(store.evaluate("checkout_v2", &user()).enabled);
        kill_switch_lands(&store, &path);
        wait_for("notifications on the new directory", || {
            store.status().notifications
        });
        replace(&path, &config(false));
        wait_for("the kill switch off", || {
            store.evaluate("checkout_v2", &user()).enabled
        });
    });
}

/// A store started empty on a file whose directory does not exist yet (a
/// volume mounted later): it says it polls, and watches the directory once
/// it is created, so that the config (and later changes) arrive by
/// notification, with no polling at all.
#[test]
fn a_directory_created_after_startup_is_watched() {
    bounded("the late directory test", || {
        let parent = TempDir::new("late");
        let dir = parent.path("config");
        let path = dir.join("flags.json");
        let store = Store::builder(FileSource::new(&path))
            .if_missing(IfMissing::StartEmpty)
            .poll_interval(None)
            .start()
            .unwrap();
        let status = store.status();
        assert!(status.watching && !status.notifications, "{status:?}");
        assert_eq!(status.notification_error, None);
        assert!(
            status
                .notifications_lost
                .is_some_and(|why| why.contains("is gone")),
            "{:?}",
            store.status()
        );

        std::fs::create_dir(&dir).unwrap();
        wait_for("notifications", || store.status().notifications);
        assert_eq!(store.status().notifications_lost, None);
        replace(&path, &config(false));
        wait_for("the first config", || store.version() == 1);
        kill_switch_lands(&store, &path);
        assert_eq!(store.version(), 2);
    });
}
