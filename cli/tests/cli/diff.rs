//! `killswitch diff`: each kind of change, its counts checked against the
//! library evaluating both configs here, independently of the command.

use super::{killswitch, stderr, stdout, TempDir};
use killswitch::{Context, FlagSet, Format, Limits};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Two configs written to a fresh directory.
fn pair(dir: &TempDir, old: &str, new: &str) -> (String, String) {
    let (o, n) = (dir.path("old.json"), dir.path("new.json"));
    std::fs::write(&o, old).unwrap();
    std::fs::write(&n, new).unwrap();
    (o.display().to_string(), n.display().to_string())
}

/// Runs `diff ... --format json`, checks the exit code, parses the report.
fn diff_json(args: &[&str], code: i32) -> Value {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = killswitch(&all);
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Flips counted by the library: `(on->off, off->on)` per step of NEW
/// (`reason` or `reason N`), over the contexts.
type Flips = (BTreeMap<String, u64>, BTreeMap<String, u64>);

fn expected(old: &str, new: &str, key: &str, contexts: &[Context<'_>]) -> Flips {
    let old = FlagSet::from_json(old).unwrap();
    let new = FlagSet::from_json(new).unwrap();
    let mut flips: Flips = Default::default();
    for ctx in contexts {
        let (a, b) = (old.evaluate(key, ctx), new.evaluate(key, ctx));
        if a.enabled == b.enabled {
            continue;
        }
        let step = match b.reason.rule() {
            Some(i) => format!("{} {i}", b.reason.as_str()),
            None => b.reason.as_str().to_string(),
        };
        let side = if a.enabled {
            &mut flips.0
        } else {
            &mut flips.1
        };
        *side.entry(step).or_default() += 1;
    }
    flips
}

/// The same counts, read from the report's first effect of `key`.
fn reported(report: &Value, key: &str) -> Flips {
    let flag = report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flag"] == key)
        .unwrap_or_else(|| panic!("{key} not in {report:#}"));
    let effect = &flag["effects"][0];
    let read = |side: &str| {
        effect[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let step = match g.get("rule") {
                    Some(i) => format!("{} {i}", g["reason"].as_str().unwrap()),
                    None => g["reason"].as_str().unwrap().to_string(),
                };
                (step, g["count"].as_u64().unwrap())
            })
            .collect::<BTreeMap<_, _>>()
    };
    (read("on_to_off"), read("off_to_on"))
}

fn flag<'v>(report: &'v Value, key: &str) -> &'v Value {
    report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flag"] == key)
        .unwrap_or_else(|| panic!("{key} not in {report:#}"))
}

fn sample_users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user-{i}")).collect()
}

/// Users with attributes, as JSON lines, and the same as contexts.
fn population(n: usize) -> Vec<String> {
    let plans = ["free", "pro", "enterprise"];
    let countries = ["FR", "DE", "US", "GB"];
    let versions = ["2.9.0", "3.1.0", "3.4.0"];
    (0..n)
        .map(|i| {
            let email = if i % 20 == 0 {
                format!("u{i}@internal.com")
            } else {
                format!("u{i}@example.com")
            };
            format!(
                r#"{{"user_id": "u{i}", "email": "{email}", "plan": "{}", "country": "{}", "app_version": "{}"}}"#,
                plans[i % 3],
                countries[(i / 3) % 4],
                versions[(i / 7) % 3]
            )
        })
        .collect()
}

const ROLLOUT_10: &str = r#"{"flags": [
    {"flag_key": "search_v2", "enabled": true, "rollout_percentage": 10},
    {"flag_key": "steady", "enabled": true, "rollout_percentage": 40}]}"#;
const ROLLOUT_30: &str = r#"{"flags": [
    {"flag_key": "search_v2", "enabled": true, "rollout_percentage": 30},
    {"flag_key": "steady", "enabled": true, "rollout_percentage": 40}]}"#;

#[test]
fn a_raised_rollout_turns_users_on_as_counted_by_the_library() {
    let dir = TempDir::new("diff-rollout");
    let (old, new) = pair(&dir, ROLLOUT_10, ROLLOUT_30);
    let report = diff_json(&[&old, &new, "--sample", "5000"], 0);
    let ids = sample_users(5000);
    let contexts: Vec<Context<'_>> = ids
        .iter()
        .map(|id| Context::new().with("user_id", id.as_str()))
        .collect();
    let want = expected(ROLLOUT_10, ROLLOUT_30, "search_v2", &contexts);
    assert!(want.0.is_empty() && want.1["in_rollout"] > 800, "{want:?}");
    assert_eq!(reported(&report, "search_v2"), want);
    // Only the changed flag is listed; the rest is counted.
    assert_eq!(report["flags_compared"], 2);
    assert_eq!(report["flags_changed"], 1);
    assert_eq!(report["decisions_changed"], want.1["in_rollout"]);
    let f = flag(&report, "search_v2");
    assert_eq!(f["status"], "changed");
    assert_eq!(
        f["definition"],
        serde_json::json!([{"what": "rollout_percentage", "old": "10", "new": "30"}])
    );
    // Examples are the first users flipped, in input order.
    let examples = &f["effects"][0]["off_to_on"][0]["examples"];
    let first: Vec<&String> = ids
        .iter()
        .zip(&contexts)
        .filter(|(_, c)| {
            let o = FlagSet::from_json(ROLLOUT_10).unwrap();
            let n = FlagSet::from_json(ROLLOUT_30).unwrap();
            o.evaluate("search_v2", c).enabled != n.evaluate("search_v2", c).enabled
        })
        .map(|(id, _)| id)
        .take(3)
        .collect();
    assert_eq!(examples, &serde_json::json!(first));

    let out = killswitch(&["diff", &old, &new, "--sample", "5000", "--fail-on-change"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("search_v2: changed\n  rollout_percentage: 10 -> 30\n"),
        "{text}"
    );
    assert!(text.contains("now in_rollout"), "{text}");
}

const RULES_OLD: &str = r#"{"segments": {"legacy": "app_version semVerLessThan \"3.0.0\""},
  "flags": [
    {"flag_key": "checkout", "enabled": true, "rollout_percentage": 50,
     "targeting_rules": {"allow_list": ["email endsWith \"@internal.com\""],
                         "deny_list": ["country == \"FR\""]}},
    {"flag_key": "reports", "enabled": true, "rollout_percentage": 100,
     "targeting_rules": {"deny_list": ["@legacy"]}},
    {"flag_key": "pay", "enabled": true, "requires": ["checkout"], "rollout_percentage": 100},
    {"flag_key": "refactored", "enabled": true,
     "targeting_rules": {"allow_list": ["plan == \"pro\""]}}]}"#;

/// A rule tightened, a segment edited, a rule rewritten equivalently.
const RULES_NEW: &str = r#"{"segments": {"legacy": "app_version semVerLessThan \"3.2.0\""},
  "flags": [
    {"flag_key": "checkout", "enabled": true, "rollout_percentage": 50,
     "targeting_rules": {"allow_list": ["email endsWith \"@internal.com\""],
                         "deny_list": ["country in [\"FR\", \"DE\"]"]}},
    {"flag_key": "reports", "enabled": true, "rollout_percentage": 100,
     "targeting_rules": {"deny_list": ["@legacy"]}},
    {"flag_key": "pay", "enabled": true, "requires": ["checkout"], "rollout_percentage": 100},
    {"flag_key": "refactored", "enabled": true,
     "targeting_rules": {"allow_list": ["plan in [\"pro\"]"]}}]}"#;

#[test]
fn rules_segments_and_prerequisites_are_counted_and_attributed() {
    let dir = TempDir::new("diff-rules");
    let (old, new) = pair(&dir, RULES_OLD, RULES_NEW);
    let lines = population(3000);
    let users = dir.path("users.jsonl");
    std::fs::write(&users, lines.join("\n") + "\n").unwrap();
    let users = users.display().to_string();
    let report = diff_json(&[&old, &new, "--contexts", &users], 0);
    let contexts: Vec<Context<'_>> = lines
        .iter()
        .map(|l| Context::from_json(l).unwrap())
        .collect();
    assert_eq!(report["contexts"]["evaluated"], 3000);

    // The tightened rule: users in DE now denied by rule 0.
    let want = expected(RULES_OLD, RULES_NEW, "checkout", &contexts);
    assert!(want.0["deny_rule 0"] > 100, "{want:?}");
    assert_eq!(reported(&report, "checkout"), want);
    assert_eq!(
        flag(&report, "checkout")["definition"][0]["what"],
        "deny_list[0]"
    );

    // The segment: `reports` is unchanged itself, affected through @legacy.
    let want = expected(RULES_OLD, RULES_NEW, "reports", &contexts);
    assert!(want.0["deny_rule 0"] > 100, "{want:?}");
    assert_eq!(reported(&report, "reports"), want);
    let reports = flag(&report, "reports");
    assert_eq!(reports["status"], "affected");
    assert_eq!(reports["definition"], serde_json::json!([]));
    assert_eq!(
        reports["through"],
        serde_json::json!([{"what": "segment @legacy",
            "old": "app_version semVerLessThan \"3.0.0\"",
            "new": "app_version semVerLessThan \"3.2.0\""}])
    );

    // The dependent: `pay` changes because `checkout` did.
    let pay = flag(&report, "pay");
    assert_eq!(pay["status"], "affected");
    assert_eq!(
        pay["through"][0]["what"],
        "prerequisite checkout > deny_list[0]"
    );
    let group = &pay["effects"][0]["on_to_off"][0];
    assert_eq!(group["reason"], "prerequisite_off");
    assert_eq!(group["prerequisite"], "checkout");
    let want = expected(RULES_OLD, RULES_NEW, "pay", &contexts);
    assert_eq!(
        group["count"].as_u64(),
        want.0.get("prerequisite_off").copied()
    );

    // The equivalent rewrite: reported, with no decision changed.
    let refactored = flag(&report, "refactored");
    assert_eq!(refactored["status"], "changed");
    assert_eq!(refactored["effects"][0]["on_to_off"], serde_json::json!([]));
    assert_eq!(refactored["effects"][0]["off_to_on"], serde_json::json!([]));

    let out = killswitch(&["diff", &old, &new, "--contexts", &users]);
    let text = stdout(&out);
    assert!(
        text.contains("refactored: changed\n  allow_list[0]: plan == \"pro\" -> plan in [\"pro\"]\n  definition changed, but no decision changed"),
        "{text}"
    );
    assert!(
        text.contains("reports: definition unchanged; changed through what it uses\n  through segment @legacy:"),
        "{text}"
    );
    assert!(text.contains("now prerequisite_off checkout"), "{text}");
}

#[test]
fn a_killed_parent_shows_every_dependent() {
    let old = r#"{"flags": [
        {"flag_key": "parent", "enabled": true, "rollout_percentage": 100},
        {"flag_key": "child", "enabled": true, "requires": ["parent"], "rollout_percentage": 100},
        {"flag_key": "grandchild", "enabled": true, "requires": ["child"], "rollout_percentage": 100}]}"#;
    let new = old.replacen(
        r#""enabled": true, "rollout"#,
        r#""enabled": true, "kill_switch": true, "rollout"#,
        1,
    );
    let dir = TempDir::new("diff-kill");
    let (o, n) = pair(&dir, old, &new);
    let report = diff_json(&[&o, &n, "--sample", "100"], 0);
    assert_eq!(report["decisions_changed"], 300);
    let parent = flag(&report, "parent");
    assert_eq!(
        parent["effects"][0]["on_to_off"][0]["reason"],
        "kill_switch"
    );
    assert_eq!(
        flag(&report, "grandchild")["through"][0]["what"],
        "prerequisite child > prerequisite parent > kill_switch"
    );
    assert_eq!(
        flag(&report, "grandchild")["effects"][0]["on_to_off"][0]["prerequisite"],
        "child"
    );
}

#[test]
fn added_and_removed_flags_are_listed() {
    let old = r#"[{"flag_key": "gone", "enabled": true, "rollout_percentage": 100},
                  {"flag_key": "kept", "enabled": true}]"#;
    let new = r#"[{"flag_key": "kept", "enabled": true},
                  {"flag_key": "fresh", "enabled": true, "rollout_percentage": 50}]"#;
    let dir = TempDir::new("diff-added");
    let (o, n) = pair(&dir, old, new);
    let report = diff_json(&[&o, &n, "--sample", "1000"], 0);
    assert_eq!(flag(&report, "gone")["status"], "removed");
    assert_eq!(
        flag(&report, "gone")["effects"][0]["on_to_off"][0],
        serde_json::json!({"count": 1000, "reason": "unknown_flag",
                           "examples": ["user-0", "user-1", "user-2"]})
    );
    let fresh = flag(&report, "fresh");
    assert_eq!(fresh["status"], "added");
    let on = FlagSet::from_json(new).unwrap();
    let want = sample_users(1000)
        .iter()
        .filter(|id| {
            on.evaluate("fresh", &Context::new().with("user_id", id.as_str()))
                .enabled
        })
        .count();
    assert_eq!(fresh["effects"][0]["on_new"].as_u64(), Some(want as u64));
    assert_eq!(report["flags_changed"], 2);
}

#[test]
fn a_schedule_is_compared_at_each_time() {
    let old = r#"{"flag_key": "ramp", "enabled": true, "rollout_percentage": 0,
        "rollout_schedule": [{"at": "2026-12-02T09:00:00Z", "percentage": 10}]}"#;
    let new = r#"{"flag_key": "ramp", "enabled": true, "rollout_percentage": 0,
        "rollout_schedule": [{"at": "2026-12-02T09:00:00Z", "percentage": 10},
                             {"at": "2026-12-03T09:00:00Z", "percentage": 30}]}"#;
    let dir = TempDir::new("diff-schedule");
    let (o, n) = pair(&dir, old, new);
    let report = diff_json(
        &[
            &o,
            &n,
            "--sample",
            "2000",
            "--at",
            "2026-12-02T12:00:00Z,2026-12-03T12:00:00Z",
        ],
        0,
    );
    let ramp = flag(&report, "ramp");
    let effects = ramp["effects"].as_array().unwrap();
    assert_eq!(effects.len(), 2);
    assert_eq!(effects[0]["at"], "2026-12-02T12:00:00Z");
    assert_eq!(effects[0]["off_to_on"], serde_json::json!([]));
    let t = killswitch::parse_time("2026-12-03T12:00:00Z").unwrap();
    let (a, b) = (
        FlagSet::from_json(old).unwrap(),
        FlagSet::from_json(new).unwrap(),
    );
    let want = sample_users(2000)
        .iter()
        .filter(|id| {
            let ctx = Context::new().with("user_id", id.as_str());
            a.evaluate_at("ramp", &ctx, t).enabled != b.evaluate_at("ramp", &ctx, t).enabled
        })
        .count() as u64;
    assert!(want > 200);
    assert_eq!(effects[1]["off_to_on"][0]["count"].as_u64(), Some(want));
    assert_eq!(
        ramp["definition"],
        serde_json::json!([{"what": "rollout percentage at 2026-12-03T12:00:00Z", "old": "10", "new": "30"}])
    );
}

#[test]
fn identical_configs_in_json_and_yaml_show_no_change() {
    let dir = TempDir::new("diff-formats");
    let json = dir.path("flags.json");
    std::fs::write(&json, RULES_OLD).unwrap();
    // The same config in YAML, through the library's own reading.
    let yaml = dir.path("flags.yaml");
    let text = r#"segments:
  legacy: app_version semVerLessThan "3.0.0"
flags:
  - flag_key: checkout
    enabled: true
    rollout_percentage: 50
    targeting_rules:
      allow_list: ['email endsWith "@internal.com"']
      deny_list: ['country == "FR"']
  - {flag_key: reports, enabled: true, rollout_percentage: 100, targeting_rules: {deny_list: ["@legacy"]}}
  - {flag_key: pay, enabled: true, requires: [checkout], rollout_percentage: 100}
  - {flag_key: refactored, enabled: true, targeting_rules: {allow_list: ['plan == "pro"']}}
"#;
    FlagSet::from_text(text, Format::Yaml, &Limits::default()).unwrap();
    std::fs::write(&yaml, text).unwrap();
    let (j, y) = (json.display().to_string(), yaml.display().to_string());
    let out = killswitch(&["diff", &j, &y, "--sample", "500", "--fail-on-change"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("\n0 flags of 4 compared, 0 decisions changed\n"),
        "{}",
        stdout(&out)
    );
    let out = killswitch(&["diff", &j, &y, "--format", "markdown"]);
    assert_eq!(stdout(&out).lines().last(), Some("No flag changed."));

    // YAML against a changed JSON: the mixed formats are compared.
    let (_, n) = pair(&dir, RULES_OLD, RULES_NEW);
    let report = diff_json(&[&y, &n], 0);
    assert_eq!(report["flags_changed"], 4);
    assert_eq!(report["decisions_changed"], Value::Null);
}

#[test]
fn invalid_configs_are_reported_as_check_does() {
    let dir = TempDir::new("diff-invalid");
    let (old, new) = pair(
        &dir,
        ROLLOUT_10,
        r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"allow_list": ["email endswith \"@a.com\""]}}"#,
    );
    let out = killswitch(&["diff", &old, &new]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("did you mean `endsWith`?"), "{err}");
    assert!(err.contains(&format!("--> {new}:1:")), "{err}");
    assert_eq!(stdout(&out), "");

    let out = killswitch(&["diff", "missing.json", &old]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `missing.json`"),
        "{}",
        stderr(&out)
    );

    let out = killswitch(&["diff", &old, &old, "--flag", "search_v"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `search_v2`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_context_lines_are_skipped_and_counted() {
    let dir = TempDir::new("diff-lines");
    let (old, new) = pair(&dir, ROLLOUT_10, ROLLOUT_30);
    let users = dir.path("users.jsonl");
    let long = format!("{{\"user_id\": \"{}\"}}", "x".repeat(2 << 20));
    std::fs::write(
        &users,
        format!("{{\"user_id\": \"a\"}}\n{{not json}}\n\n{long}\n{{\"user_id\": \"b\"}}"),
    )
    .unwrap();
    let users = users.display().to_string();
    let out = killswitch(&["diff", &old, &new, "--contexts", &users, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["contexts"]["evaluated"], 2);
    assert_eq!(report["contexts"]["skipped"], 2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{users}:2: invalid context")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{users}:4: line longer than")),
        "{err}"
    );
}

#[test]
fn markdown_and_github_summarise_each_flag() {
    let dir = TempDir::new("diff-md");
    let (old, new) = pair(&dir, ROLLOUT_10, ROLLOUT_30);
    let out = killswitch(&[
        "diff", &old, &new, "--sample", "1000", "--format", "markdown",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("| flag | change | on | on → off | off → on |"),
        "{text}"
    );
    assert!(
        text.contains(
            "| `search_v2` | rollout_percentage: `10` → `30` | 95 → 292 | 0 | 197 (in_rollout: 197) |"
        ),
        "{text}"
    );
    let out = killswitch(&["diff", &old, &new, "--sample", "1000", "--format", "github"]);
    assert_eq!(
        stdout(&out),
        "::warning title=killswitch diff%3A search_v2 changed::rollout_percentage: 10 -> 30%0Aoff -> on 197 (in_rollout: 197) of 1,000 contexts\n"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn git_revisions_are_read_with_git_show() {
    let dir = TempDir::new("diff-git");
    let repo = dir.path("");
    std::fs::write(dir.path("flags.json"), ROLLOUT_10).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "flags.json"]);
    git(&repo, &["commit", "-q", "-m", "flags"]);
    std::fs::write(dir.path("flags.json"), ROLLOUT_30).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_killswitch"))
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap()
    };
    let out = run(&[
        "diff",
        "git:HEAD:flags.json",
        "flags.json",
        "--sample",
        "1000",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["old"], "git:HEAD:flags.json");
    assert_eq!(report["decisions_changed"], 197);

    let out = run(&["diff", "git:HEAD:missing.json", "flags.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot read `git:HEAD:missing.json`: git show failed:"),
        "{err}"
    );

    let out = run(&["diff", "git:HEAD", "flags.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("git:REV:PATH"), "{}", stderr(&out));
}

#[test]
fn without_contexts_only_definitions_are_compared() {
    let old = r#"{"flags": [
        {"flag_key": "a", "enabled": true, "targeting_rules": {"allow_list": ["x", "y"]}},
        {"flag_key": "b", "enabled": true, "requires": ["a"]},
        {"flag_key": "c", "enabled": true, "bucket_by": "account.id", "rollout_percentage": 5}]}"#;
    let new = r#"{"flags": [
        {"flag_key": "a", "enabled": false, "targeting_rules": {"allow_list": ["x", "z", "y"]}},
        {"flag_key": "b", "enabled": true},
        {"flag_key": "c", "enabled": true, "rollout_percentage": 5}]}"#;
    let dir = TempDir::new("diff-definitions");
    let (o, n) = pair(&dir, old, new);
    let report = diff_json(&[&o, &n, "--fail-on-change"], 1);
    assert_eq!(report["contexts"], Value::Null);
    assert_eq!(report["decisions_changed"], Value::Null);
    assert_eq!(
        flag(&report, "a")["definition"],
        serde_json::json!([
            {"what": "enabled", "old": "true", "new": "false"},
            {"what": "allow_list[1]", "old": null, "new": "z"}])
    );
    assert_eq!(
        flag(&report, "b")["definition"],
        serde_json::json!([{"what": "requires", "old": "a", "new": null}])
    );
    assert_eq!(
        flag(&report, "c")["definition"],
        serde_json::json!([{"what": "bucket_by", "old": "account.id", "new": "user_id"}])
    );
    let out = killswitch(&["diff", &o, &n]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("a: changed\n  enabled: true -> false\n  allow_list[1]: added: z\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).ends_with("\n3 flags of 3 compared\n"),
        "{}",
        stdout(&out)
    );

    // Only the flags asked for.
    let report = diff_json(&[&o, &n, "--flag", "c"], 0);
    assert_eq!(report["flags_compared"], 1);
    assert_eq!(report["flags"].as_array().unwrap().len(), 1);
}

#[test]
fn contexts_are_read_from_standard_input() {
    use std::io::Write;
    let dir = TempDir::new("diff-stdin");
    let (old, new) = pair(&dir, ROLLOUT_10, ROLLOUT_30);
    let ids = sample_users(1000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(["diff", &old, &new, "--contexts", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for id in &ids {
        writeln!(stdin, "{{\"user_id\": \"{id}\"}}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    // The same users as `--sample 1000`, so the same count.
    assert_eq!(report["contexts"]["evaluated"], 1000);
    assert_eq!(report["decisions_changed"], 197);
}

/// Served-variant changes counted by the library, on/off unchanged:
/// `(from, to, step of NEW) -> count`.
type VariantFlips = BTreeMap<(String, String, String), u64>;

fn expected_variants(old: &str, new: &str, key: &str, contexts: &[Context<'_>]) -> VariantFlips {
    let old = FlagSet::from_json(old).unwrap();
    let new = FlagSet::from_json(new).unwrap();
    let (of, nf) = (old.get(key).unwrap(), new.get(key).unwrap());
    let mut flips = VariantFlips::new();
    for ctx in contexts {
        let (a, b) = (of.evaluate(ctx), nf.evaluate(ctx));
        if a.enabled != b.enabled {
            continue;
        }
        let from = of.variant(a.variant.unwrap()).unwrap().name().to_string();
        let to = nf.variant(b.variant.unwrap()).unwrap().name().to_string();
        if from == to {
            continue;
        }
        let step = match b.reason.rule() {
            Some(i) => format!("{} {i}", b.reason.as_str()),
            None => b.reason.as_str().to_string(),
        };
        *flips.entry((from, to, step)).or_default() += 1;
    }
    flips
}

/// The same counts, read from the report's first effect of `key`.
fn reported_variants(report: &Value, key: &str) -> VariantFlips {
    let mut flips = VariantFlips::new();
    let effect = &flag(report, key)["effects"][0];
    let Some(changes) = effect.get("variant_changes") else {
        return flips;
    };
    for vc in changes.as_array().unwrap() {
        let (from, to) = (vc["from"].as_str().unwrap(), vc["to"].as_str().unwrap());
        let mut total = 0;
        for g in vc["groups"].as_array().unwrap() {
            let step = match g.get("rule") {
                Some(i) => format!("{} {i}", g["reason"].as_str().unwrap()),
                None => g["reason"].as_str().unwrap().to_string(),
            };
            let count = g["count"].as_u64().unwrap();
            total += count;
            assert!(g["examples"].as_array().unwrap().len() <= 3);
            *flips
                .entry((from.to_string(), to.to_string(), step))
                .or_default() += count;
        }
        assert_eq!(vc["count"].as_u64().unwrap(), total);
    }
    flips
}

fn split_flag(a: &str, b: &str) -> String {
    format!(
        r##"{{"flags": [{{"flag_key": "button", "enabled": true, "rollout_percentage": 100,
            "variants": {{"a": "#1f6feb", "b": "#2da44e", "off": "#8c959f"}},
            "off_variant": "off",
            "split": [{{"variant": "a", "weight": {a}}}, {{"variant": "b", "weight": {b}}}]}},
           {{"flag_key": "plain", "enabled": true, "rollout_percentage": 40}}]}}"##
    )
}

#[test]
fn a_reweighted_split_moves_users_between_variants_as_counted_by_the_library() {
    let dir = TempDir::new("diff-split");
    let (old_text, new_text) = (split_flag("50", "50"), split_flag("30", "70"));
    let (old, new) = pair(&dir, &old_text, &new_text);
    let report = diff_json(&[&old, &new, "--sample", "2000"], 0);
    let ids = sample_users(2000);
    let contexts: Vec<Context<'_>> = ids
        .iter()
        .map(|id| Context::new().with("user_id", id.as_str()))
        .collect();
    let want = expected_variants(&old_text, &new_text, "button", &contexts);
    let moved: u64 = want.values().sum();
    // About a fifth of the users move, all from a to b.
    assert!((300..500).contains(&moved), "{want:?}");
    assert!(want.keys().all(|(from, to, _)| from == "a" && to == "b"));
    assert_eq!(reported_variants(&report, "button"), want);
    // On/off did not change: no flips, and the boolean flag is not listed.
    assert_eq!(reported(&report, "button"), Default::default());
    assert_eq!(report["flags_changed"], 1);
    assert_eq!(report["decisions_changed"], moved);
    let button = flag(&report, "button");
    assert_eq!(button["status"], "changed");
    let split = &button["definition"][0];
    assert_eq!(split["what"], "split");
    assert_eq!(split["old"], "a 50%, b 50%");
    assert_eq!(split["new"], "a 30%, b 70%");
    let examples = &button["effects"][0]["variant_changes"][0]["groups"][0]["examples"];
    assert_eq!(examples.as_array().unwrap().len(), 3);
    // The other formats say the same.
    let out = killswitch(&["diff", &old, &new, "--sample", "2000"]);
    let text = stdout(&out);
    assert!(
        text.contains("  split: a 50%, b 50% -> a 30%, b 70%\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("    variant a -> b: {moved}\n")),
        "{text}"
    );
    let out = killswitch(&[
        "diff", &old, &new, "--sample", "2000", "--format", "markdown",
    ]);
    let text = stdout(&out);
    assert!(text.contains("| variant changed |"), "{text}");
    assert!(text.contains(&format!("variant a → b {moved} (")), "{text}");
    let out = killswitch(&["diff", &old, &new, "--sample", "2000", "--format", "github"]);
    let text = stdout(&out);
    assert!(text.starts_with("::warning "), "{text}");
    assert!(
        text.contains(&format!("variant a -> b {moved} (")),
        "{text}"
    );
}

fn off_variant_flags(off: &str) -> String {
    format!(
        r#"{{"flags": [
           {{"flag_key": "killed", "enabled": true, "kill_switch": true, "rollout_percentage": 100,
            "variants": {{"on": true, "grey": "grey", "black": "black"}},
            "off_variant": "{off}", "on_variant": "on"}},
           {{"flag_key": "half", "enabled": true, "rollout_percentage": 50,
            "variants": {{"on": true, "grey": "grey", "black": "black"}},
            "off_variant": "{off}", "on_variant": "on"}}]}}"#
    )
}

#[test]
fn a_new_off_variant_is_served_to_killed_and_off_contexts() {
    let dir = TempDir::new("diff-off-variant");
    let (old_text, new_text) = (off_variant_flags("grey"), off_variant_flags("black"));
    let (old, new) = pair(&dir, &old_text, &new_text);
    let report = diff_json(&[&old, &new, "--sample", "1000"], 0);
    let ids = sample_users(1000);
    let contexts: Vec<Context<'_>> = ids
        .iter()
        .map(|id| Context::new().with("user_id", id.as_str()))
        .collect();
    for key in ["killed", "half"] {
        let f = flag(&report, key);
        assert_eq!(f["definition"][0]["what"], "off_variant");
        assert_eq!(f["definition"][0]["old"], "grey");
        assert_eq!(f["definition"][0]["new"], "black");
        let want = expected_variants(&old_text, &new_text, key, &contexts);
        assert_eq!(reported_variants(&report, key), want);
    }
    // Every killed context moves; about half of the others do (those out of
    // the rollout), and none that is on.
    let killed = reported_variants(&report, "killed");
    assert_eq!(killed.len(), 1);
    assert_eq!(
        killed[&("grey".into(), "black".into(), "kill_switch".into())],
        1000
    );
    let half: u64 = reported_variants(&report, "half").values().sum();
    assert!((400..600).contains(&half), "{half}");
    let on = flag(&report, "half")["effects"][0]["on_new"]
        .as_u64()
        .unwrap();
    assert_eq!(half + on, 1000);
}

#[test]
fn a_changed_variant_value_is_a_definition_change() {
    let dir = TempDir::new("diff-variant-value");
    let old_text = split_flag("50", "50");
    let new_text = old_text.replace("#2da44e", "#00ff00");
    let (old, new) = pair(&dir, &old_text, &new_text);
    let report = diff_json(&[&old, &new, "--sample", "200"], 0);
    let button = flag(&report, "button");
    assert_eq!(button["status"], "changed");
    assert_eq!(
        button["definition"],
        serde_json::json!([{"what": "variants.b", "old": "\"#2da44e\"", "new": "\"#00ff00\""}])
    );
    // The same variants are served: no decision changed.
    assert_eq!(report["decisions_changed"], 0);
    assert!(button["effects"][0].get("variant_changes").is_none());
    let report = diff_json(&[&old, &new], 0);
    assert_eq!(
        flag(&report, "button")["definition"][0]["what"],
        "variants.b"
    );
    let out = killswitch(&["diff", &old, &new]);
    let text = stdout(&out);
    assert!(
        text.contains("  variants.b: \"#2da44e\" -> \"#00ff00\"\n"),
        "{text}"
    );
}
