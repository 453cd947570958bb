//! Benchmarks of the hot path, each compared with the floor: one SHA-256
//! over `user_id ++ flag_key`, which every rollout decision must compute.
//!
//! Ids: `floor/sha256`, `evaluate/{allow,deny,rollout_in,rollout_out,split}`,
//! `context/build_evaluate`, `compile/spec_rule`, `compile/example_config`,
//! `check/10k_flags`.
//! Ids: `floor/sha256`, `evaluate/{allow,deny,rollout_in,rollout_out,split}`,
//! `evaluate/{scheduled,prerequisite}`, `context/{build,set}_evaluate`,
//! `lookup/{1,100,10k,100k}` (finding one of n flags keyed like
//! `checkout_00042_enabled`), `evaluate_all/100` (every flag for one
//! context into a reused buffer), `compile/{spec_rule,spec_config,example_config}`,
//! `check/10k_flags`. `benches/README.md` has a table of one run.

#![allow(clippy::panic, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use killswitch::{bucket, CheckReport, Context, FlagSet, Limits, Reason, Rule};
use sha2::{Digest, Sha256};

const SPEC_RULE: &str = r#"email endsWith "@internal.com" and not segment == "legacy""#;

/// The specification's flag: the fixture the tests share.
fn spec_flags() -> FlagSet {
    match FlagSet::from_json(include_str!("../tests/fixtures/spec_flag.json")) {
        Ok(flags) => flags,
        Err(e) => panic!("{e}"),
    }
}

/// A user id whose bucket for the flag is in (or out of) a 20 % rollout.
fn user(in_rollout: bool) -> String {
    (0..)
        .map(|i| format!("user_{i}"))
        .find(|u| (bucket(u, "new_search_ui") < 20) == in_rollout)
        .unwrap_or_default()
}

fn ten_thousand_flags() -> String {
    let flags: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                r#"{{"flag_key": "feature_{i}", "enabled": true, "kill_switch": false,
                    "rollout_percentage": {p},
                    "targeting_rules": {{
                        "allow_list": ["email endsWith '@internal.com' and not segment == 'legacy'",
                                       "account.plan in ['pro', 'enterprise'] and app_version semVerGreaterThanOrEqual '2.{i}'"],
                        "deny_list": [{{"attribute": "country", "operator": "in", "value": ["KP", "IR", "C{i}"]}}]}}}}"#,
                p = i % 101
            )
        })
        .collect();
    format!("{{\"flags\": [{}]}}", flags.join(",\n"))
}

/// `n` flags keyed `checkout_00000_enabled`, `checkout_00001_enabled`, ...
fn checkout_flags(n: usize) -> (FlagSet, Vec<String>) {
    let keys: Vec<String> = (0..n).map(|i| format!("checkout_{i:05}_enabled")).collect();
    let json: Vec<String> = keys
        .iter()
        .map(|k| format!(r#"{{"flag_key": "{k}", "enabled": true, "rollout_percentage": 50}}"#))
        .collect();
    match FlagSet::from_json(&format!("[{}]", json.join(","))) {
        Ok(flags) => (flags, keys),
        Err(e) => panic!("{e}"),
    }
}

/// The specification's flag a hundred times under different keys: every
/// flag runs its rule and (for a user who is neither staff nor legacy)
/// hashes the user, the most expensive path.
fn hundred_spec_flags() -> FlagSet {
    let spec = include_str!("../tests/fixtures/spec_flag.json");
    let flags: Vec<String> = (0..100)
        .map(|i| spec.replace("new_search_ui", &format!("new_search_ui_{i:03}")))
        .collect();
    match FlagSet::from_json(&format!("[{}]", flags.join(","))) {
        Ok(flags) => flags,
        Err(e) => panic!("{e}"),
    }
}

fn benches(c: &mut Criterion) {
    let flags = spec_flags();
    let user_in = user(true);
    let user_out = user(false);

    c.bench_function("floor/sha256", |b| {
        b.iter(|| {
            let digest = Sha256::new()
                .chain_update(black_box(user_out.as_bytes()))
                .chain_update(black_box("new_search_ui".as_bytes()))
                .finalize();
            u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 100
        })
    });

    let cases = [
        (
            "evaluate/allow",
            user_out.as_str(),
            "ana@internal.com",
            "beta",
            Reason::AllowRule(0),
        ),
        (
            "evaluate/deny",
            user_out.as_str(),
            "bo@example.com",
            "legacy",
            Reason::DenyRule(0),
        ),
        (
            "evaluate/rollout_in",
            user_in.as_str(),
            "user@example.com",
            "beta",
            Reason::InRollout,
        ),
        (
            "evaluate/rollout_out",
            user_out.as_str(),
            "user@example.com",
            "beta",
            Reason::OutOfRollout,
        ),
    ];
    for (id, user_id, email, segment, expected) in cases {
        let ctx = Context::new()
            .with("user_id", user_id)
            .with("email", email)
            .with("segment", segment)
            .with("is_internal", false);
        assert_eq!(
            flags.evaluate("new_search_ui", &ctx).reason,
            expected,
            "{id}"
        );
        c.bench_function(id, |b| {
            b.iter(|| flags.evaluate(black_box("new_search_ui"), black_box(&ctx)))
        });
    }

    // The spec flag with three variants and a weighted split: the same
    // user and context as `evaluate/rollout_in`, so the difference is what
    // serving a variant costs (the split bucket comes from the same digest).
    let split =
        match FlagSet::from_json(&include_str!("../tests/fixtures/spec_flag.json").replacen(
            "\"enabled\"",
            r#""variants": {"a": "A", "b": {"size": 10}, "off": "OF"}, "off_variant": "off",
               "split": [{"variant": "a", "weight": 33.33}, {"variant": "b", "weight": 66.67}],
               "enabled""#,
            1,
        )) {
            Ok(flags) => flags,
            Err(e) => panic!("{e}"),
        };
    let ctx = Context::new()
        .with("user_id", user_in.as_str())
        .with("email", "user@example.com")
        .with("segment", "beta")
        .with("is_internal", false);
    let d = split.evaluate("new_search_ui", &ctx);
    assert_eq!(d.reason, Reason::InRollout, "evaluate/split");
    assert!(d.split_bucket.is_some(), "evaluate/split");
    c.bench_function("evaluate/split", |b| {
        b.iter(|| split.evaluate(black_box("new_search_ui"), black_box(&ctx)))
    });

    // Rollout plans: a scheduled flag read at a given time (a ramp in
    // progress), and a flag whose prerequisite is itself in a rollout, so
    // two flags are bucketed.
    let plans = match FlagSet::from_json(
        r#"[{"flag_key": "parent", "enabled": true, "rollout_percentage": 100},
            {"flag_key": "scheduled", "enabled": true, "rollout_schedule": [
                {"at": "2026-12-01T00:00:00Z", "percentage": 10},
                {"from": "2026-12-02T00:00:00Z", "to": "2026-12-04T00:00:00Z",
                 "start_percentage": 10, "end_percentage": 100}]},
            {"flag_key": "child", "enabled": true, "requires": ["parent"],
             "rollout_percentage": 100}]"#,
    ) {
        Ok(flags) => flags,
        Err(e) => panic!("{e}"),
    };
    let now = killswitch::parse_time("2026-12-03T00:00:00Z").unwrap_or(std::time::UNIX_EPOCH);
    let ctx = Context::for_user(user_out.as_str());
    assert_eq!(
        plans.evaluate_at("scheduled", &ctx, now).percentage,
        Some(55)
    );
    c.bench_function("evaluate/scheduled", |b| {
        b.iter(|| plans.evaluate_at(black_box("scheduled"), black_box(&ctx), black_box(now)))
    });
    assert_eq!(plans.evaluate("child", &ctx).reason, Reason::InRollout);
    c.bench_function("evaluate/prerequisite", |b| {
        b.iter(|| plans.evaluate(black_box("child"), black_box(&ctx)))
    });

    // What a service does per request: build the context from its own
    // data, then evaluate (the rollout path, the most expensive one).
    let email = String::from("user@example.com");
    c.bench_function("context/build_evaluate", |b| {
        b.iter(|| {
            let ctx = Context::new()
                .with("user_id", black_box(user_out.as_str()))
                .with("email", black_box(email.as_str()))
                .with("segment", black_box("beta"))
                .with("is_internal", black_box(false));
            flags.evaluate("new_search_ui", &ctx)
        })
    });

    // The same, filling one context in place with `set`.
    c.bench_function("context/set_evaluate", |b| {
        b.iter(|| {
            let mut ctx = Context::new();
            ctx.set("user_id", black_box(user_out.as_str()))
                .set("email", black_box(email.as_str()))
                .set("segment", black_box("beta"))
                .set("is_internal", black_box(false));
            flags.evaluate("new_search_ui", &ctx)
        })
    });

    // Finding a flag by key among n flags whose keys share a long prefix
    // and suffix: the cost must not grow with n. Each iteration looks up
    // the next of 1,024 keys (spread over the set), so the bench does not
    // measure one cached key.
    for (id, n) in [
        ("lookup/1", 1),
        ("lookup/100", 100),
        ("lookup/10k", 10_000),
        ("lookup/100k", 100_000),
    ] {
        let (set, keys) = checkout_flags(n);
        // The probed keys lie side by side in one buffer, as a caller's
        // keys (literals) do: the bench measures the index, not misses on
        // 1,024 scattered strings of its own.
        let spread: Vec<&str> = (0..1024).map(|i| keys[(i * 7919) % n].as_str()).collect();
        let buffer = spread.concat();
        let mut rest = buffer.as_str();
        let probes: Vec<&str> = spread
            .iter()
            .map(|k| {
                let (key, tail) = rest.split_at(k.len());
                rest = tail;
                key
            })
            .collect();
        assert!(probes.iter().all(|k| set.get(k).is_some()));
        let mut at = 0usize;
        c.bench_function(id, |b| {
            b.iter(|| {
                at = (at + 1) & 1023;
                set.get(black_box(probes[at])).is_some()
            })
        });
    }

    // Every flag for one context, into a buffer the caller reuses.
    let hundred = hundred_spec_flags();
    let ctx = Context::new()
        .with("user_id", user_out.as_str())
        .with("email", "user@example.com")
        .with("segment", "beta")
        .with("is_internal", false);
    let mut out = Vec::with_capacity(hundred.len());
    hundred.evaluate_all_into(&ctx, &mut out);
    assert_eq!(out.len(), 100);
    assert!(out.iter().all(|(_, d)| d.bucket.is_some()));
    c.bench_function("evaluate_all/100", |b| {
        b.iter(|| {
            out.clear();
            hundred.evaluate_all_into(black_box(&ctx), &mut out);
            out.len()
        })
    });

    let spec_config = include_str!("../tests/fixtures/spec_flag.json");
    c.bench_function("compile/spec_config", |b| {
        b.iter(|| FlagSet::from_json(black_box(spec_config)).is_ok())
    });

    c.bench_function("compile/spec_rule", |b| {
        b.iter(|| Rule::parse(black_box(SPEC_RULE)).is_ok())
    });

    // `killswitch check` on a large file: 10,000 flags with three rules each
    // (text and structured), loaded and linted.
    let big = ten_thousand_flags();
    let limits = Limits::default();
    assert!(CheckReport::from_json(&big, &limits).flags().is_some());
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("10k_flags", |b| {
        b.iter(|| {
            CheckReport::from_json(black_box(&big), &limits)
                .diagnostics()
                .len()
        })
    });
    group.finish();

    let example = include_str!("../examples/flags.json");
    c.bench_function("compile/example_config", |b| {
        b.iter(|| FlagSet::from_json(black_box(example)).is_ok())
    });
}

criterion_group!(engine, benches);
criterion_main!(engine);
