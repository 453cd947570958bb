//! `killswitch test`: expected outcomes kept next to the rules.

use crate::output::{parse_now, DecisionFields, INVALID, USAGE};
use clap::Args;
use killswitch::{Context, FlagSet};
use std::io::{self, Write};
use std::time::SystemTime;

pub(crate) const CASES_HELP: &str = "\
A cases file is a JSON array of cases:
  {\"name\": \"staff see it\", \"flag\": \"new_search_ui\",
   \"context\": {\"user_id\": \"u1\", \"email\": \"ana@internal.com\"},
   \"expect\": true}
`expect` is true/false (enabled), a reason name (\"deny_rule\"), or an object
with any of \"enabled\", \"reason\", \"rule\", \"prerequisite\", \"bucket\",
\"percentage\", \"schedule_step\". A case may set \"now\" (RFC 3339) to
evaluate rollout schedules as at that time.

Exit codes: 0 all cases pass, 1 a case fails or is malformed, 2 usage or I/O error.";

#[derive(Args)]
pub(crate) struct TestArgs {
    /// The config file (JSON, YAML or TOML, by its extension).
    #[arg(value_name = "FILE")]
    file: String,
    /// The cases file (JSON).
    #[arg(long, value_name = "CASES")]
    cases: String,
}

/// Runs a cases file against a config (`killswitch test`).
pub(crate) fn run(args: &TestArgs) -> u8 {
    let set = match FlagSet::load(&args.file) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            return if e.is_io() { USAGE } else { INVALID };
        }
    };
    let text = match std::fs::read_to_string(&args.cases) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.cases);
            return USAGE;
        }
    };
    let cases: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("error: `{}` is not a JSON array of cases: {e}", args.cases);
            return INVALID;
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut out = String::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"]
            .as_str()
            .map_or_else(|| format!("case {i}"), str::to_string);
        match run_case(&set, case) {
            Ok(()) => {
                passed += 1;
                out.push_str(&format!("ok      {name}\n"));
            }
            Err(why) => {
                failed += 1;
                out.push_str(&format!("FAILED  {name}\n{why}\n"));
            }
        }
    }
    out.push_str(&format!("\n{passed} passed, {failed} failed\n"));
    let _ = io::stdout().lock().write_all(out.as_bytes());
    if failed > 0 {
        INVALID
    } else {
        0
    }
}

/// One case: `Err` explains the failure (or the malformed case).
fn run_case(set: &FlagSet, case: &serde_json::Value) -> Result<(), String> {
    let flag = case["flag"]
        .as_str()
        .ok_or("        the case has no \"flag\" string")?;
    let context_text = case
        .get("context")
        .map(serde_json::Value::to_string)
        .ok_or("        the case has no \"context\"")?;
    let ctx = Context::from_json(&context_text).map_err(|e| format!("        {e}"))?;
    let now = match case.get("now") {
        None => SystemTime::now(),
        Some(serde_json::Value::String(t)) => parse_now(t).map_err(|e| format!("        {e}"))?,
        Some(_) => return Err("        \"now\" is an RFC 3339 date-time string".into()),
    };
    let decision = DecisionFields::new(set.evaluate_at(flag, &ctx, now), set.get(flag));
    let actual = serde_json::to_value(&decision).map_err(|e| format!("        {e}"))?;
    let expect = case
        .get("expect")
        .ok_or("        the case has no \"expect\"")?;
    let wanted: Vec<(&str, serde_json::Value)> = match expect {
        serde_json::Value::Bool(b) => vec![("enabled", serde_json::Value::Bool(*b))],
        serde_json::Value::String(r) => vec![("reason", serde_json::Value::String(r.clone()))],
        serde_json::Value::Object(fields) => {
            let mut wanted = Vec::new();
            for (k, v) in fields {
                match k.as_str() {
                    "enabled" | "reason" | "rule" | "bucket" | "prerequisite" | "percentage"
                    | "schedule_step" => wanted.push((k.as_str(), v.clone())),
                    other => {
                        return Err(format!("        unknown field \"{other}\" in \"expect\""))
                    }
                }
            }
            wanted
        }
        _ => return Err("        \"expect\" is true, false, a reason or an object".into()),
    };
    let mismatched: Vec<String> = wanted
        .iter()
        .filter(|(k, v)| actual.get(*k).unwrap_or(&serde_json::Value::Null) != v)
        .map(|(k, v)| format!("{k}: expected {v}, got {}", actual[*k]))
        .collect();
    if mismatched.is_empty() {
        return Ok(());
    }
    let mut why = String::new();
    for m in &mismatched {
        why.push_str(&format!("        {m}\n"));
    }
    why.push_str(&format!("        flag:     {flag}\n"));
    why.push_str(&format!("        context:  {context_text}\n"));
    why.push_str(&format!("        decision: {actual}"));
    Err(why)
}
