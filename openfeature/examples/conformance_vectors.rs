//! Writes a small conformance vector file, in the schema of the shared
//! `tests/conformance/vectors.json`, from the engine: every flag of a
//! config evaluated for a few contexts at one time. The JavaScript package
//! and this crate's tests read it until the shared file is in the tree.
//!
//! ```sh
//! cargo run -p killswitch-openfeature --example conformance_vectors -- \
//!     bindings/js/test/conformance/flags.json 2026-06-15T00:00:00Z \
//!     > bindings/js/test/conformance/vectors.json
//! ```

use killswitch::{Context, FlagSet, Reason};
use serde_json::{json, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(config), Some(now)) = (args.next(), args.next()) else {
        return Err("usage: conformance_vectors CONFIG RFC3339-TIME".into());
    };
    let flags = FlagSet::load(&config)?;
    let at = killswitch::parse_time(&now).ok_or("the time is not RFC 3339")?;
    let contexts = contexts();
    let mut cases = Vec::new();
    for flag in flags.flags() {
        for context in &contexts {
            let text = context.to_string();
            let mut ctx = Context::from_json(&text)?;
            if let Some(key) = context.get("targetingKey").and_then(Value::as_str) {
                ctx.set("user_id", key);
            }
            let d = flag.evaluate_at(&ctx, at);
            let (variant, value) = match d.variant.and_then(|i| flag.variant(i)) {
                Some(v) => (json!(v.name()), serde_json::from_str(v.json())?),
                None => (
                    json!(if d.enabled { "on" } else { "off" }),
                    json!(d.enabled),
                ),
            };
            cases.push(json!({
                "flag": flag.key(), "context": context, "enabled": d.enabled,
                "variant": variant, "value": value, "reason": openfeature_reason(d.reason),
                "engine_reason": d.reason.as_str(), "rule": d.reason.rule(), "bucket": d.bucket,
            }));
        }
    }
    let file = std::path::Path::new(&config)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("flags.json");
    println!(
        "{{\"config\": {}, \"now\": {}, \"cases\": [",
        json!(file),
        json!(now)
    );
    for (i, case) in cases.iter().enumerate() {
        println!("{case}{}", if i + 1 < cases.len() { "," } else { "" });
    }
    println!("]}}");
    Ok(())
}

fn openfeature_reason(reason: Reason) -> &'static str {
    match reason {
        Reason::KillSwitch | Reason::Disabled => "DISABLED",
        Reason::AllowRule(_) | Reason::DenyRule(_) | Reason::PrerequisiteOff(_) => {
            "TARGETING_MATCH"
        }
        Reason::InRollout | Reason::OutOfRollout => "SPLIT",
        Reason::MissingUserId | Reason::NoRollout => "DEFAULT",
        _ => "UNKNOWN",
    }
}

fn contexts() -> Vec<Value> {
    let mut out = vec![
        json!({"targetingKey": "user_123", "email": "ana@internal.com", "segment": "beta"}),
        json!({"targetingKey": "user_456", "email": "bo@internal.com", "segment": "legacy"}),
        json!({"targetingKey": "Zoë", "segment": "legacy"}),
        json!({"targetingKey": "用户-7", "account": {"id": "acct-1"}}),
        json!({"email": "no-key@example.com"}),
    ];
    for i in 0..15 {
        out.push(json!({"targetingKey": format!("user-{i}"), "account": {"id": format!("acct-{}", i % 4)},
                        "email": format!("u{i}@example.com")}));
    }
    out
}
