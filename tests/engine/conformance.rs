//! The cross-language conformance vectors (`tests/conformance/`): every
//! flag of `flags.json` evaluated for a fixed set of OFREP contexts at a
//! fixed time. The file is what every binding (Python, TypeScript, the
//! Rust OpenFeature provider) checks itself against; this test regenerates
//! it in memory and fails when it drifts from the engine.
//!
//! To regenerate the committed file after a deliberate change:
//!
//! ```text
//! KILLSWITCH_BLESS=1 cargo test --test engine conformance
//! ```

use killswitch::{Context, Decision, Flag, FlagSet, Reason, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The time every case is evaluated at (schedules read it): during the
/// ramp of `scheduled_rollout`, a quarter of the way from 10 % to 90 %.
const NOW: &str = "2026-12-03T21:00:00Z";

/// How many contexts with a `targetingKey` the vectors use.
const USERS: usize = 48;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// Compact JSON object text from `(key, JSON text)` pairs, in the order
/// given: the file's text must not depend on how `serde_json` orders maps
/// (its `preserve_order` feature, which any crate of the workspace may turn
/// on, would change it).
fn object(pairs: &[(&str, String)]) -> String {
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{v}", string(k)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The contexts, as JSON objects the OFREP service accepts (keys in
/// alphabetical order): 48 users with a `targetingKey` and varied
/// attributes (a few ids not ASCII), and two without any key (never in a
/// rollout).
fn contexts() -> Vec<String> {
    let countries = ["US", "FR", "DE", "IR", "JP", "BR", "US"];
    let plans = ["free", "pro", "enterprise"];
    let mut out = Vec::new();
    for i in 0..USERS {
        let key = match i {
            3 => "Zoë".to_string(),
            4 => "用户-7".to_string(),
            5 => "user_123".to_string(),
            _ => format!("user-{i}"),
        };
        let mut ctx: Vec<(&str, String)> = Vec::new();
        if i % 8 != 7 {
            let id = format!("acct-{}", i / 4);
            let account = object(&[("id", string(&id)), ("plan", string(plans[i % 3]))]);
            ctx.push(("account", account));
        }
        ctx.push(("age", (15 + (i * 7) % 50).to_string()));
        let version = if i % 4 == 0 {
            "2.9.1".to_string()
        } else {
            format!("3.{}.0", i % 5)
        };
        ctx.push(("app_version", string(&version)));
        ctx.push(("country", string(countries[i % 7])));
        let domain = if i % 6 == 0 {
            "internal.com"
        } else {
            "example.com"
        };
        ctx.push(("email", string(&format!("u{i}@{domain}"))));
        if i % 11 == 0 {
            ctx.push(("is_internal", "true".to_string()));
        }
        ctx.push(("plan", string(plans[i % 3])));
        match i % 5 {
            0 => ctx.push(("segment", string("legacy"))),
            1 => ctx.push(("segment", string("beta"))),
            _ => {}
        }
        match i % 4 {
            1 => ctx.push(("tags", r#"["alpha","beta"]"#.to_string())),
            2 => ctx.push(("tags", r#"["alpha"]"#.to_string())),
            _ => {}
        }
        ctx.push(("targetingKey", string(&key)));
        out.push(object(&ctx));
    }
    out.push(object(&[("email", string("ops@internal.com"))]));
    out.push(object(&[
        ("account", object(&[("id", string("acct-1"))])),
        ("plan", string("pro")),
        ("tags", r#"["beta"]"#.to_string()),
    ]));
    out
}

/// An OFREP context as the service reads it: `targetingKey` is the user
/// id (the contexts here never give a conflicting `user_id`).
fn ofrep_context(json: &str) -> Context<'_> {
    let mut ctx = Context::from_json(json).unwrap();
    if let Some(Value::String(key)) = ctx.get("targetingKey").cloned() {
        ctx.set("user_id", Value::String(key));
    }
    ctx
}

/// The served variant's name and JSON text, as the service sends them: a
/// boolean flag serves `on`/`off` with `true`/`false`.
fn served<'f>(flag: &'f Flag, d: &Decision) -> (&'f str, &'f str) {
    match d.variant.and_then(|i| flag.variant(i)) {
        Some(v) => (v.name(), v.json()),
        None if d.enabled => ("on", "true"),
        None => ("off", "false"),
    }
}

fn number_or_null(n: Option<impl std::fmt::Display>) -> String {
    n.map_or_else(|| "null".to_string(), |n| n.to_string())
}

/// The vectors file, one case a line (so that a change reads as a diff).
fn generate() -> String {
    let text = std::fs::read_to_string(dir().join("flags.json")).unwrap();
    let flags = FlagSet::from_json(&text).unwrap();
    let now = killswitch::parse_time(NOW).unwrap();
    let contexts = contexts();
    let mut out = String::new();
    writeln!(
        out,
        "{{\"config\": \"flags.json\", \"now\": \"{NOW}\", \"cases\": ["
    )
    .unwrap();
    let mut first = true;
    for flag in flags.flags() {
        for context in &contexts {
            let d = flags.evaluate_at(flag.key(), &ofrep_context(context), now);
            let (variant, value) = served(flag, &d);
            if !first {
                out.push_str(",\n");
            }
            first = false;
            write!(
                out,
                "{{\"flag\": {}, \"context\": {context}, \"enabled\": {}, \"variant\": {}, \
                 \"value\": {value}, \"reason\": \"{}\", \"engine_reason\": \"{}\", \
                 \"rule\": {}, \"bucket\": {}}}",
                serde_json::to_string(flag.key()).unwrap(),
                d.enabled,
                serde_json::to_string(variant).unwrap(),
                d.reason.openfeature_reason(),
                d.reason.as_str(),
                number_or_null(d.reason.rule()),
                number_or_null(d.bucket),
            )
            .unwrap();
        }
    }
    out.push_str("\n]}\n");
    out
}

#[test]
fn vectors_are_current() {
    let path = dir().join("vectors.json");
    let fresh = generate();
    if std::env::var_os("KILLSWITCH_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some((n, (old, new))) = committed
        .lines()
        .zip(fresh.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!(
            "tests/conformance/vectors.json differs from the engine at line {}:\n\
             committed: {old}\nengine:    {new}\n\
             (after a deliberate change: KILLSWITCH_BLESS=1 cargo test --test engine conformance)",
            n + 1
        );
    }
    assert_eq!(
        committed.lines().count(),
        fresh.lines().count(),
        "tests/conformance/vectors.json has a different number of cases than the engine gives \
         (after a deliberate change: KILLSWITCH_BLESS=1 cargo test --test engine conformance)"
    );
}

/// The vectors exercise every step of the evaluation order and every kind
/// of value a variant may hold.
#[test]
fn vectors_cover_every_reason_and_value_type() {
    let vectors: serde_json::Value = serde_json::from_str(&generate()).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 500, "{} cases", cases.len());
    let reasons: BTreeSet<&str> = cases
        .iter()
        .map(|c| c["engine_reason"].as_str().unwrap())
        .collect();
    let every = [
        Reason::KillSwitch,
        Reason::Disabled,
        Reason::PrerequisiteOff(0),
        Reason::AllowRule(0),
        Reason::DenyRule(0),
        Reason::InRollout,
        Reason::OutOfRollout,
        Reason::MissingUserId,
        Reason::NoRollout,
    ];
    for reason in every {
        assert!(reasons.contains(reason.as_str()), "no case for {reason}");
    }
    let kinds: BTreeSet<&str> = cases
        .iter()
        .map(|c| match &c["value"] {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "bool",
            serde_json::Value::Number(n) if n.is_i64() => "int",
            serde_json::Value::Number(_) => "float",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        })
        .collect();
    for kind in ["null", "bool", "int", "float", "string", "object"] {
        assert!(kinds.contains(kind), "no case serves a {kind}");
    }
    // The schedule is mid-ramp at NOW, and some of the split and rollout
    // flags both admit and refuse users.
    for (flag, reason) in [
        ("scheduled_rollout", "in_rollout"),
        ("scheduled_rollout", "out_of_rollout"),
        ("team_rollout", "in_rollout"),
        ("team_rollout", "out_of_rollout"),
        ("team_rollout", "missing_user_id"),
        ("new_checkout", "prerequisite_off"),
    ] {
        assert!(
            cases
                .iter()
                .any(|c| c["flag"] == flag && c["engine_reason"] == reason),
            "no case of {flag} with {reason}"
        );
    }
}
