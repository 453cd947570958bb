//! Embedding the live flag store in a service.
//!
//! The store loads `flags.json` at startup (a broken file is an error the
//! service sees), follows its changes while the service runs, and keeps
//! serving the last good version when a change is broken. Request handlers
//! evaluate through it lock-free.
//!
//! Run with `cargo run --example store`. It works in a temporary directory,
//! plays both the service and the operator who edits the file, and exits.

use killswitch::store::{FileSource, IfMissing, Store, StoreEvent};
use killswitch::{Context, Reason};
use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLAGS: &str = r#"{"flags": [{
    "flag_key": "checkout_v2",
    "enabled": true,
    "kill_switch": false,
    "rollout_percentage": 100,
    "targeting_rules": {"deny_list": ["country in ['KP', 'IR']"]}
}]}"#;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("killswitch-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("flags.json");
    replace_file(&path, FLAGS)?;

    // --- Service startup -------------------------------------------------
    let store = Arc::new(
        Store::builder(FileSource::new(&path))
            // A change is noticed through OS notifications at once; polling
            // is the fallback where notifications do not work (NFS).
            .poll_interval(Duration::from_secs(2))
            // Refuse to start without a config (the default); or start with
            // every flag off with `IfMissing::StartEmpty`.
            .if_missing(IfMissing::Fail)
            // Log reloads and rejections (here: print them). A service would
            // also export `store.status()` as metrics.
            .on_event(|event: &StoreEvent| match event {
                StoreEvent::Reloaded { version, flags } => {
                    println!("[store] version {version} serving ({flags} flags)");
                }
                StoreEvent::Rejected { version, error } => {
                    println!("[store] change rejected, version {version} keeps serving:\n{error}");
                }
                _ => {}
            })
            .start()?,
    );
    println!("[store] version {} serving", store.version());

    // --- A request handler ------------------------------------------------
    let handle_request = |store: &Store, user_id: &str| -> bool {
        let ctx = Context::new()
            .with("user_id", user_id)
            .with("country", "FR");
        let decision = store.evaluate("checkout_v2", &ctx);
        println!(
            "request from {user_id}: checkout_v2 {} ({})",
            if decision.enabled { "on" } else { "off" },
            decision.reason
        );
        decision.enabled
    };
    // Handlers on other threads share the store through the `Arc`.
    let worker = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || handle_request(&store, "user_1"))
    };
    assert!(worker.join().map_err(|_| "the handler panicked")?);

    // --- An operator flips the kill switch --------------------------------
    replace_file(
        &path,
        &FLAGS.replace(r#""kill_switch": false"#, r#""kill_switch": true"#),
    )?;
    wait_until(|| {
        store
            .evaluate("checkout_v2", &Context::for_user("probe"))
            .reason
            == Reason::KillSwitch
    })?;
    assert!(!handle_request(&store, "user_1"));

    // --- A broken change is rejected; the kill switch stays on ------------
    replace_file(
        &path,
        r#"{"flags": [{"flag_key": "checkout_v2", "enabled": tru"#,
    )?;
    wait_until(|| store.status().last_error.is_some())?;
    assert!(!handle_request(&store, "user_1"));
    let status = store.status();
    println!(
        "status: version {} ({} flags), last error at {:?}",
        status.version, status.flags, status.last_error_at
    );

    // --- Shutdown ----------------------------------------------------------
    // Stops the file watcher and joins its thread (dropping the store does
    // the same).
    store.shutdown();
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Updates the config safely: write a temporary file in the same directory
/// (the same file system), then rename it over the config. Readers see the
/// old file or the new one, never half of one.
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Waits (at most 5 s) for the store to catch up.
fn wait_until(mut done: impl FnMut() -> bool) -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > Duration::from_secs(5) {
            return Err("the store did not pick up the change".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
