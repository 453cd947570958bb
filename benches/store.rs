//! Benchmarks of the live store.
//!
//! Ids:
//! - `store/evaluate_{rollout,kill_switch}` against
//!   `flagset/evaluate_{rollout,kill_switch}`: the cost of going through the
//!   store's atomic snapshot load (target: within 10 % of the set itself);
//! - `reader/evaluate_{rollout,kill_switch}`: the same through a per-thread
//!   `StoreReader` (one atomic read per call);
//! - `store/snapshot_evaluate_rollout`: taking an owned snapshot first;
//! - `reload_latency/{notify,poll_20ms}`: from the atomic replacement of
//!   the file (write a temporary file, rename it over the config) to the
//!   first evaluation that sees the flipped kill switch (target: under
//!   50 ms with notifications).

#![allow(clippy::panic, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use killswitch::store::{FileSource, Store};
use killswitch::{bucket, Context, FlagSet, Reason};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The specification's flag (the fixture the tests share) and a flag
/// whose kill switch the benchmark flips.
fn config(kill_switch: bool) -> String {
    let spec = include_str!("../tests/fixtures/spec_flag.json");
    format!(
        r#"{{"flags": [
            {spec},
            {{"flag_key": "checkout_v2", "enabled": true, "kill_switch": {kill_switch},
              "rollout_percentage": 100}}
        ]}}"#
    )
}

fn flag_set(kill_switch: bool) -> FlagSet {
    match FlagSet::from_json(&config(kill_switch)) {
        Ok(flags) => flags,
        Err(e) => panic!("{e}"),
    }
}

/// A user out of the 20 % rollout: the full path (rules, then SHA-256).
fn user_out() -> String {
    (0..)
        .map(|i| format!("user_{i}"))
        .find(|u| bucket(u, "new_search_ui") >= 20)
        .unwrap_or_default()
}

fn throughput(c: &mut Criterion) {
    let user = user_out();
    let ctx = Context::new()
        .with("user_id", user.as_str())
        .with("email", "user@example.com")
        .with("segment", "beta");
    let set = flag_set(true);
    let store = Store::new(flag_set(true));
    assert_eq!(
        store.evaluate("new_search_ui", &ctx),
        set.evaluate("new_search_ui", &ctx)
    );

    c.bench_function("flagset/evaluate_rollout", |b| {
        b.iter(|| set.evaluate(black_box("new_search_ui"), black_box(&ctx)))
    });
    c.bench_function("store/evaluate_rollout", |b| {
        b.iter(|| store.evaluate(black_box("new_search_ui"), black_box(&ctx)))
    });
    c.bench_function("flagset/evaluate_kill_switch", |b| {
        b.iter(|| set.evaluate(black_box("checkout_v2"), black_box(&ctx)))
    });
    c.bench_function("store/evaluate_kill_switch", |b| {
        b.iter(|| store.evaluate(black_box("checkout_v2"), black_box(&ctx)))
    });
    let mut reader = store.reader();
    c.bench_function("reader/evaluate_rollout", |b| {
        b.iter(|| reader.evaluate(black_box("new_search_ui"), black_box(&ctx)))
    });
    c.bench_function("reader/evaluate_kill_switch", |b| {
        b.iter(|| reader.evaluate(black_box("checkout_v2"), black_box(&ctx)))
    });
    c.bench_function("store/snapshot_evaluate_rollout", |b| {
        b.iter(|| {
            store
                .snapshot()
                .evaluate(black_box("new_search_ui"), black_box(&ctx))
        })
    });
}

/// A scratch directory, removed at the end.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("json.tmp");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
        panic!("cannot replace {}: {e}", path.display());
    }
}

/// Flips the kill switch `iters` times, timing each flip from the rename to
/// the first evaluation that sees it.
fn flip_latency(store: &Store, path: &Path, kill: &mut bool, iters: u64) -> Duration {
    let ctx = Context::new().with("user_id", "user_123");
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        *kill = !*kill;
        let want = if *kill {
            Reason::KillSwitch
        } else {
            Reason::InRollout
        };
        let text = config(*kill);
        let start = Instant::now();
        replace(path, &text);
        while store.evaluate("checkout_v2", &ctx).reason != want {
            if start.elapsed() > Duration::from_secs(10) {
                panic!("the store did not pick up the change");
            }
            // A busy service evaluates continuously; leave the other core
            // to the store's thread on small machines.
            std::thread::yield_now();
        }
        total += start.elapsed();
    }
    total
}

fn latency(c: &mut Criterion) {
    let dir =
        TempDir(std::env::temp_dir().join(format!("killswitch-bench-{}", std::process::id())));
    if let Err(e) = std::fs::create_dir_all(&dir.0) {
        panic!("{e}");
    }
    let mut group = c.benchmark_group("reload_latency");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    let cases = [
        ("notify", true, None),
        ("poll_20ms", false, Some(Duration::from_millis(20))),
    ];
    for (id, notifications, poll) in cases {
        let path = dir.0.join(format!("{id}.json"));
        replace(&path, &config(false));
        let store = match Store::builder(FileSource::new(&path))
            .notifications(notifications)
            .poll_interval(poll)
            .start()
        {
            Ok(store) => store,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(store.status().notifications, notifications);
        let mut kill = false;
        group.bench_function(id, |b| {
            b.iter_custom(|iters| flip_latency(&store, &path, &mut kill, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, throughput, latency);
criterion_main!(benches);
