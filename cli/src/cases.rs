//! `killswitch test`: expected outcomes kept next to the rules.

use crate::output::{escape, key_hint, parse_now, read_input, DecisionFields, INVALID, USAGE};
use clap::Args;
use killswitch::{Context, FlagSet, Limits};
use std::io::{self, Write};
use std::time::SystemTime;

pub(crate) const CASES_HELP: &str = "\
A cases file is a JSON array of cases:
  {\"name\": \"staff see it\", \"flag\": \"new_search_ui\",
   \"context\": {\"user_id\": \"u1\", \"email\": \"ana@internal.com\"},
   \"expect\": true}
`expect` is true/false (enabled), a reason name (\"deny_rule\"), or an object
with any of \"enabled\", \"reason\", \"rule\", \"prerequisite\", \"bucket\",
\"percentage\", \"schedule_step\", \"split_bucket\", \"variant\" (its name, or
\"on\"/\"off\") and \"value\" (the variant's JSON value). A case may set \"now\" (RFC 3339) to
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
    let text = match read_input(&args.cases, Limits::default().max_config_bytes) {
        Ok(text) => text,
        Err(msg) => {
            eprintln!("error: {msg}");
            return USAGE;
        }
    };
    let cases: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!(
                "error: `{}` is not a JSON array of cases: {e}",
                escape(&args.cases)
            );
            return INVALID;
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut out = String::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"]
            .as_str()
            .map_or_else(|| format!("case {i}"), |name| escape(name).into_owned());
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
    let ctx = Context::from_json(&context_text)
        .map_err(|e| format!("        {}", escape(&e.to_string())))?;
    let now = match case.get("now") {
        None => SystemTime::now(),
        Some(serde_json::Value::String(t)) => parse_now(t).map_err(|e| format!("        {e}"))?,
        Some(_) => return Err("        \"now\" is an RFC 3339 date-time string".into()),
    };
    let expect = case
        .get("expect")
        .ok_or("        the case has no \"expect\"")?;
    if let serde_json::Value::String(reason) = expect {
        check_reason(reason)?;
    }
    if let Some(reason) = expect.get("reason") {
        match reason {
            serde_json::Value::String(reason) => check_reason(reason)?,
            _ => {
                return Err(format!(
                    "        \"reason\" in \"expect\" is a string naming {}",
                    reason_names()
                ))
            }
        }
    }
    if set.get(flag).is_none() {
        let known: Vec<&str> = set.flags().iter().map(|f| f.key()).collect();
        let hint = key_hint(flag, &known);
        return Err(format!(
            "        no flag `{}` in the config{hint}",
            escape(flag)
        ));
    }
    let decision = DecisionFields::new(set.evaluate_at(flag, &ctx, now), set.get(flag));
    let actual = serde_json::to_value(&decision).map_err(|e| format!("        {e}"))?;
    let wanted: Vec<(&str, serde_json::Value)> = match expect {
        serde_json::Value::Bool(b) => vec![("enabled", serde_json::Value::Bool(*b))],
        serde_json::Value::String(r) => vec![("reason", serde_json::Value::String(r.clone()))],
        serde_json::Value::Object(fields) => {
            let mut wanted = Vec::new();
            for (k, v) in fields {
                match k.as_str() {
                    "enabled" | "reason" | "rule" | "bucket" | "prerequisite" | "percentage"
                    | "schedule_step" | "split_bucket" | "variant" | "value" => {
                        wanted.push((k.as_str(), v.clone()))
                    }
                    other => {
                        return Err(format!(
                            "        unknown field \"{}\" in \"expect\"",
                            escape(other)
                        ))
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
        .map(|(k, v)| {
            let got = escape(&actual[*k].to_string()).into_owned();
            format!("{k}: expected {}, got {got}", escape(&v.to_string()))
        })
        .collect();
    if mismatched.is_empty() {
        return Ok(());
    }
    let mut why = String::new();
    for m in &mismatched {
        why.push_str(&format!("        {m}\n"));
    }
    why.push_str(&format!("        flag:     {}\n", escape(flag)));
    why.push_str(&format!("        context:  {}\n", escape(&context_text)));
    why.push_str(&format!(
        "        decision: {}",
        escape(&actual.to_string())
    ));
    Err(why)
}

/// Every reason a decision can give, as `expect` names them.
const REASONS: [&str; 10] = [
    "kill_switch",
    "disabled",
    "allow_rule",
    "deny_rule",
    "in_rollout",
    "out_of_rollout",
    "missing_user_id",
    "no_rollout",
    "unknown_flag",
    "prerequisite_off",
];

fn reason_names() -> String {
    format!("one of {}", REASONS.map(|r| format!("`{r}`")).join(", "))
}

/// A reason named in `expect`: a malformed case unless it is one of
/// [`REASONS`].
fn check_reason(reason: &str) -> Result<(), String> {
    if REASONS.contains(&reason) {
        return Ok(());
    }
    Err(format!(
        "        \"{}\" is not a reason: \"expect\" names {}",
        escape(reason),
        reason_names()
    ))
}

#[cfg(test)]
mod tests {
    use super::REASONS;
    use killswitch::Reason;

    #[test]
    fn the_reason_names_are_the_library_s() {
        let reasons = [
            Reason::KillSwitch,
            Reason::Disabled,
            Reason::AllowRule(0),
            Reason::DenyRule(0),
            Reason::InRollout,
            Reason::OutOfRollout,
            Reason::MissingUserId,
            Reason::NoRollout,
            Reason::UnknownFlag,
            Reason::PrerequisiteOff(0),
        ];
        assert_eq!(REASONS, reasons.map(Reason::as_str));
    }
}
