//! Every subcommand end to end: output and exit codes.

use super::{killswitch, stderr, stdout, temp_file, SPEC_CONTEXT};

#[test]
fn eval_prints_one_line_per_flag() {
    let out = killswitch(&["eval", "examples/flags.json", "--context", SPEC_CONTEXT]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        r#"{"flag":"new_search_ui","user_id":"user_123","enabled":false,"reason":"out_of_rollout","bucket":45,"percentage":20,"variant":"off","value":false}
{"flag":"checkout_v2","user_id":"user_123","enabled":true,"reason":"allow_rule","rule":0,"variant":"on","value":true}
{"flag":"legacy_reports","user_id":"user_123","enabled":false,"reason":"kill_switch","variant":"off","value":false}
{"flag":"dark_mode","user_id":"user_123","enabled":false,"reason":"disabled","variant":"off","value":false}
"#
    );
}

#[test]
fn eval_one_flag_from_a_context_file() {
    let ctx = temp_file(
        "ctx.json",
        r#"{"user_id": "bo", "email": "bo@internal.com", "segment": "legacy"}"#,
    );
    let arg = format!("@{}", ctx.display());
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--context",
        &arg,
        "--flag",
        "new_search_ui",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"flag\":\"new_search_ui\",\"user_id\":\"bo\",\"enabled\":false,\"reason\":\"deny_rule\",\"rule\":0,\"variant\":\"off\",\"value\":false}\n"
    );
}

#[test]
fn eval_streams_contexts_and_skips_bad_lines() {
    let users = temp_file(
        "users.jsonl",
        "{\"user_id\": \"ana\", \"email\": \"ana@internal.com\"}\n\
         {not json}\n\
         \n\
         {\"user_id\": 42}\n\
         {\"email\": \"anon@example.com\"}\n",
    );
    let path = users.display().to_string();
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--contexts",
        &path,
        "--flag",
        "new_search_ui",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "{\"flag\":\"new_search_ui\",\"user_id\":\"ana\",\"enabled\":true,\"reason\":\"allow_rule\",\"rule\":0,\"variant\":\"on\",\"value\":true}\n\
         {\"flag\":\"new_search_ui\",\"user_id\":null,\"enabled\":false,\"reason\":\"missing_user_id\",\"percentage\":20,\"variant\":\"off\",\"value\":false}\n"
    );
    let err = stderr(&out);
    assert!(err.contains(&format!("{path}:2: invalid context")), "{err}");
    assert!(
        err.contains(&format!(
            "{path}:4: invalid context: `user_id` must be a string"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn eval_stops_a_stream_of_garbage_but_not_a_stream_with_bad_lines() {
    let good = "{\"user_id\": \"ana\"}\n";
    let eval = |path: &str| {
        killswitch(&[
            "eval",
            "examples/flags.json",
            "--contexts",
            path,
            "--flag",
            "new_search_ui",
        ])
    };
    // Not JSON lines at all: 100 invalid lines in a row end the run.
    let garbage = temp_file(
        "garbage.jsonl",
        &"\u{7f}ELF garbage, not JSON\n".repeat(250),
    );
    let path = garbage.display().to_string();
    let out = eval(&path);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.matches("; skipped").count(), 100, "{err}");
    assert!(
        err.ends_with(&format!(
            "{path}:101: stopped after 100 invalid lines in a row; --contexts takes JSON lines, \
             one context object a line\n"
        )),
        "{err}"
    );
    // 99 bad lines, a good one, 99 bad, a good one: every line is read.
    let mixed = format!("{}{good}", "{not json}\n".repeat(99)).repeat(2);
    let mixed = temp_file("mixed.jsonl", &mixed);
    let out = eval(&mixed.display().to_string());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 2);
    let err = stderr(&out);
    assert_eq!(err.matches("; skipped").count(), 198, "{err}");
    assert!(!err.contains("stopped"), "{err}");
}

#[test]
fn eval_unknown_flag_is_reported() {
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--context",
        SPEC_CONTEXT,
        "--flag",
        "new_search",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "{\"flag\":\"new_search\",\"user_id\":\"user_123\",\"enabled\":false,\"reason\":\"unknown_flag\",\"variant\":\"off\",\"value\":false}\n"
    );
    assert_eq!(
        stderr(&out),
        "warning: no flag `new_search` in examples/flags.json; did you mean `new_search_ui`?\n"
    );
}

#[test]
fn eval_rejects_bad_context_and_missing_files() {
    let out = killswitch(&["eval", "examples/flags.json", "--context", "{\"user_id\": "]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: invalid context"),
        "{}",
        stderr(&out)
    );

    let out = killswitch(&["eval", "missing.json", "--context", SPEC_CONTEXT]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `missing.json`"),
        "{}",
        stderr(&out)
    );

    let out = killswitch(&["eval", "examples/flags.json", "--context", "@missing.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_accepts_the_example() {
    let out = killswitch(&["check", "examples/flags.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "ok: 1 file, 4 flags\n");
}

#[test]
fn check_reports_every_error_with_its_place() {
    let bad = temp_file(
        "bad.json",
        r#"[
  {"flag_key": "search", "enabled": true, "rollout_percent": 20,
   "targeting_rules": {"allow_list": ["email endswith \"@internal.com\""]}},
  {"flag_key": "beta", "enabled": true,
   "targeting_rules": {"deny_list": ["age < '18'", {"attribute": "plan", "operator": "in"}]}}
]
"#,
    );
    let path = bad.display().to_string();
    let out = killswitch(&["check", &path, "examples/flags.json"]);
    assert_eq!(out.status.code(), Some(1));
    let expected = r#"error[E0102]: unknown field "rollout_percent"
 --> FILE:2:43
  |
2 |   {"flag_key": "search", "enabled": true, "rollout_percent": 20,
  |                                           ^^^^^^^^^^^^^^^^^
  = in flags[0] "search" > rollout_percent
  = help: did you mean "rollout_percentage"?

error[E0002]: unknown operator `endswith`
 --> FILE:3:46
  |
3 |    "targeting_rules": {"allow_list": ["email endswith \"@internal.com\""]}},
  |                                              ^^^^^^^^
  = in flags[0] "search" > targeting_rules.allow_list[0]
  = help: did you mean `endsWith`?

error[E0008]: `<` compares numbers, but this is a string
 --> FILE:5:45
  |
5 |    "targeting_rules": {"deny_list": ["age < '18'", {"attribute": "plan", "operator": "in"}]}}
  |                                             ^^^^
  = in flags[1] "beta" > targeting_rules.deny_list[0]
  = help: to compare with the number, drop the quotes: 18

error[E0103]: this rule has no "value"
 --> FILE:5:52
  |
5 |    "targeting_rules": {"deny_list": ["age < '18'", {"attribute": "plan", "operator": "in"}]}}
  |                                                    ^
  = in flags[1] "beta" > targeting_rules.deny_list[1]
  = help: a structured rule is {"attribute": ..., "operator": ..., "value": ...}

4 errors in 1 of 2 files
"#
    .replace("FILE", &path);
    assert_eq!(stdout(&out), expected);
}

#[test]
fn check_lints_expiry_at_now() {
    let file = temp_file(
        "expiring.yaml",
        "flag_key: promo\nenabled: true\nexpires: 2026-11-30\n",
    );
    let path = file.to_str().unwrap();
    let check = |now: &str, deny: bool| {
        let mut args = vec!["check", "--color", "never", path, "--now", now];
        if deny {
            args.push("--deny-warnings");
        }
        killswitch(&args)
    };
    // The last second of the day is still valid...
    let out = check("2026-11-30T23:59:59Z", true);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("ok: 1 file, 1 flag"));
    // ...the next one is past it: a warning, an error when denied.
    let out = check("2026-12-01T00:00:00Z", false);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("warning[W0015]: this flag expired at 2026-12-01T00:00:00Z"));
    let out = check("2026-12-01T00:00:00Z", true);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("error[W0015]"), "{}", stdout(&out));
    let out = check("next tuesday", false);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an RFC 3339 date-time"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_io_errors_exit_2() {
    let out = killswitch(&["check", "no/such/file.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("error[E0301]: cannot read `no/such/file.json`"));
}

#[test]
fn bucket_prints_the_bucket() {
    // printf 'user_123new_search_ui' | sha256sum -> bd08f8f5...; 0xbd08f8f5 % 100 = 45
    let out = killswitch(&["bucket", "user_123", "new_search_ui"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "45\n");
}

#[test]
fn usage_errors_exit_2_and_help_has_examples() {
    assert_eq!(killswitch(&[]).status.code(), Some(2));
    assert_eq!(
        killswitch(&["eval", "examples/flags.json"]).status.code(),
        Some(2)
    );
    assert_eq!(killswitch(&["check"]).status.code(), Some(2));
    let help = killswitch(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("killswitch eval flags.json --contexts users.jsonl"));
}

const LINTY: &str = r#"[
  {"flag_key": "a", "enabled": true,
   "targeting_rules": {"allow_list": ["beta"], "deny_list": ["beta"]}},
  {"flag_key": "b", "enabled": true, "allow_lints": ["shadowed-rule"],
   "targeting_rules": {"allow_list": ["beta"], "deny_list": ["beta"]}}
]
"#;

#[test]
fn check_reports_lints_as_warnings_and_allows_them_per_flag() {
    let file = temp_file("linty.json", LINTY);
    let path = file.display().to_string();
    let out = killswitch(&["check", &path]);
    assert_eq!(out.status.code(), Some(0), "warnings alone pass");
    let expected = r#"warning[W0001]: this deny rule never decides: allow_list[0] is the same rule and is checked first
 --> FILE:3:62
  |
3 |    "targeting_rules": {"allow_list": ["beta"], "deny_list": ["beta"]}},
  |                                                              ^^^^^^
  = in flags[0] "a" > targeting_rules.deny_list[0]
  = help: remove it from one of the lists; or allow it: "allow_lints": ["shadowed-rule"]

ok with 1 warning: 1 file, 2 flags
"#
    .replace("FILE", &path);
    assert_eq!(stdout(&out), expected);

    let denied = killswitch(&["check", "--deny-warnings", &path]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stdout(&denied).starts_with("error[W0001]"),
        "{}",
        stdout(&denied)
    );
    assert!(stdout(&denied).ends_with("1 error in 1 of 1 file\n"));
}

#[test]
fn check_formats_json_and_github() {
    let file = temp_file("linty-formats.json", LINTY);
    let path = file.display().to_string();
    let out = killswitch(&["check", "--format", "json", &path]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1);
    let d = &lines[0];
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["code"], "W0001");
    assert_eq!(d["lint"], "shadowed-rule");
    assert_eq!(d["file"], path.as_str());
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(62))
    );
    assert_eq!(
        (d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(3), Some(68))
    );
    assert_eq!(d["flag"], "a");
    assert_eq!(d["path"], "flags[0] \"a\" > targeting_rules.deny_list[0]");

    let out = killswitch(&["check", "--format", "github", &path]);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "::warning file={path},line=3,col=62,endLine=3,endColumn=68,title=W0001::this deny rule never decides"
        )),
        "{text}"
    );
    assert!(text.contains("%0Ahelp: remove it"), "{text}");
    assert_eq!(text.lines().count(), 1);
}

#[test]
fn check_colours_only_when_asked() {
    let file = temp_file("linty-colour.json", LINTY);
    let path = file.display().to_string();
    let plain = stdout(&killswitch(&["check", &path]));
    assert!(!plain.contains('\x1b'), "not a terminal: no colour");
    let coloured = stdout(&killswitch(&["check", "--color", "always", &path]));
    assert!(
        coloured.starts_with("\x1b[1;33mwarning[W0001]\x1b[0m: "),
        "{coloured:?}"
    );
}

#[test]
fn test_runs_the_bundled_cases() {
    let out = killswitch(&[
        "test",
        "examples/flags.json",
        "--cases",
        "examples/cases.json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with("\n5 passed, 0 failed\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn test_explains_a_failing_case() {
    let cases = temp_file(
        "cases.json",
        r#"[{"name": "wrong", "flag": "new_search_ui", "context": {"user_id": "bo", "segment": "legacy"}, "expect": true},
            {"flag": "new_search_ui", "context": {"user_id": "x"}, "expect": {"colour": 1}}]"#,
    );
    let path = cases.display().to_string();
    let out = killswitch(&["test", "examples/flags.json", "--cases", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        r#"FAILED  wrong
        enabled: expected true, got false
        flag:     new_search_ui
        context:  {"segment":"legacy","user_id":"bo"}
        decision: {"enabled":false,"reason":"deny_rule","rule":0,"value":false,"variant":"off"}
FAILED  case 1
        unknown field "colour" in "expect"

0 passed, 2 failed
"#
    );
}

#[test]
fn eval_explains_decisions() {
    let ctx = r#"{"user_id": "bo", "email": "bo@internal.com", "segment": "legacy"}"#;
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--context",
        ctx,
        "--flag",
        "new_search_ui",
        "--explain",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        r#"{"flag":"new_search_ui","user_id":"bo","enabled":false,"reason":"deny_rule","rule":0,"variant":"off","value":false}
  kill_switch: off
  enabled: on
  allow_list[0]: no match
    email endsWith "@internal.com" and not segment == "legacy": false
      email endsWith "@internal.com": true (email = "bo@internal.com")
      not segment == "legacy": false
        segment == "legacy": true (segment = "legacy")
  deny_list[0]: matched (decides: off)
    segment == "legacy": true (segment = "legacy")
"#
    );
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--context",
        ctx,
        "--flag",
        "new_search_ui",
        "--explain",
        "json",
    ]);
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["explanation"][3]["step"], "deny_list[0]");
    assert_eq!(
        line["explanation"][3]["trace"]["seen"],
        "segment = \"legacy\""
    );
}

#[test]
fn check_against_a_context_schema() {
    let out = killswitch(&[
        "check",
        "--schema",
        "examples/schema.json",
        "examples/flags.json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let bad = temp_file(
        "schema-bad.json",
        r#"[{"flag_key": "f", "enabled": true, "targeting_rules": {
  "allow_list": ["emial endsWith '@x.com'", "app_version > 2"],
  "deny_list": [{"attribute": "account.plan.id", "operator": "equals", "value": 1}]}}]"#,
    );
    let path = bad.display().to_string();
    let out = killswitch(&[
        "check",
        "--format",
        "json",
        "--schema",
        "examples/schema.json",
        &path,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(String, String, Option<String>)> = lines
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
                d["help"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "E0011".to_string(),
                "the schema has no attribute `emial`".to_string(),
                Some("did you mean `email`?".to_string())
            ),
            (
                "E0008".to_string(),
                "`app_version` is a semver, which `>` does not compare".to_string(),
                Some("compare versions with a semVer operator: `app_version semVerGreaterThan \"2.0\"`".to_string())
            ),
            (
                "E0008".to_string(),
                "`account.plan` is a string, so it has no attribute `id`".to_string(),
                None
            ),
        ]
    );
    assert_eq!(
        (lines[0]["line"].as_u64(), lines[0]["column"].as_u64()),
        (Some(2), Some(19))
    );

    let broken = temp_file(
        "schema-broken.json",
        r#"{"attributes": {"age": "integer"}}"#,
    );
    let out = killswitch(&[
        "check",
        "--schema",
        &broken.display().to_string(),
        "examples/flags.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown type \"integer\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_samples_the_rollout_plan_at_each_step() {
    let share = |now: &str| -> (u64, Option<u64>) {
        let out = killswitch(&[
            "eval",
            "examples/rollout_plan.json",
            "--flag",
            "new_checkout",
            "--sample",
            "10000",
            "--now",
            now,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(line["sample"], 10000);
        (line["on"].as_u64().unwrap(), line["schedule_step"].as_u64())
    };
    assert_eq!(share("2026-12-01T09:00:00Z"), (0, None));
    let (ten, step) = share("2026-12-02T09:00:00Z");
    assert!((900..1100).contains(&ten), "{ten}");
    assert_eq!(step, Some(0));
    // The same instant written with an offset.
    assert_eq!(share("2026-12-02T10:00:00+01:00"), (ten, Some(0)));
    let (thirty, step) = share("2026-12-03T09:00:00Z");
    assert!((2850..3150).contains(&thirty), "{thirty}");
    assert_eq!(step, Some(1));
    assert_eq!(share("2026-12-04T09:00:00Z"), (10000, Some(2)));
}

#[test]
fn eval_at_a_time_names_the_step_and_the_prerequisite() {
    let out = killswitch(&[
        "eval",
        "examples/rollout_plan.json",
        "--context",
        r#"{"user_id": "user_123"}"#,
        "--now",
        "2026-12-03T12:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[1]["flag"], "new_checkout");
    assert_eq!(lines[1]["percentage"], 30);
    assert_eq!(lines[1]["schedule_step"], 1);
    let bucket = killswitch::bucket("user_123", "new_checkout");
    assert_eq!(lines[1]["enabled"], bucket < 30);
    // one_click_pay requires new_checkout; before its own ramp it would be
    // at 0% anyway, but the prerequisite decides first when it is off.
    if bucket >= 30 {
        assert_eq!(lines[2]["reason"], "prerequisite_off");
        assert_eq!(lines[2]["prerequisite"], "new_checkout");
    }

    let out = killswitch(&[
        "eval",
        "examples/rollout_plan.json",
        "--sample",
        "10",
        "--now",
        "2026-12-03",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an RFC 3339 date-time"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_cases_may_fix_the_time() {
    let cases = temp_file(
        "plan_cases.json",
        r#"[{"name": "nobody before the plan", "flag": "new_checkout", "now": "2026-12-01T12:00:00Z",
             "context": {"user_id": "user-1"}, "expect": {"enabled": false, "percentage": 0}},
            {"name": "everyone at the end", "flag": "new_checkout", "now": "2026-12-04T09:00:00Z",
             "context": {"user_id": "user-1"}, "expect": {"enabled": true, "schedule_step": 2}},
            {"name": "staff from launch", "flag": "new_checkout", "now": "2026-12-01T09:00:00Z",
             "context": {"user_id": "u", "email": "ana@internal.com"}, "expect": "allow_rule"},
            {"name": "wrong", "flag": "one_click_pay", "now": "2026-12-01T09:00:00Z",
             "context": {"user_id": "u"}, "expect": {"enabled": true}}]"#,
    );
    let path = cases.display().to_string();
    let out = killswitch(&["test", "examples/rollout_plan.json", "--cases", &path]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("ok      staff from launch\n"), "{text}");
    assert!(
        text.contains(r#"decision: {"enabled":false,"prerequisite":"new_checkout","reason":"prerequisite_off","value":false,"variant":"off"}"#),
        "{text}"
    );
    assert!(text.ends_with("\n3 passed, 1 failed\n"), "{text}");
}

#[test]
fn check_and_eval_read_yaml_and_toml_by_extension() {
    let out = killswitch(&["check", "examples/flags.yaml", "examples/flags.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "ok: 2 files, 8 flags\n");

    let json = killswitch(&["eval", "examples/flags.json", "--context", SPEC_CONTEXT]);
    for file in ["examples/flags.yaml", "examples/flags.toml"] {
        let out = killswitch(&["eval", file, "--context", SPEC_CONTEXT]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), stdout(&json), "{file}");
    }

    // Errors are placed in the YAML file, and `test` reads YAML too.
    let bad = temp_file(
        "bad.yaml",
        "flag_key: a\nenabled: true\nkill_switch: nope\n",
    );
    let out = killswitch(&["check", "--color", "never", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("bad.yaml:3:14"), "{}", stdout(&out));
    let out = killswitch(&[
        "test",
        "examples/flags.yaml",
        "--cases",
        "examples/cases.json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Issue 11, defect 8: every year RFC 3339 can write is a valid `--now`
/// (not only 1385-2554), and a bad one is told with the range.
#[test]
fn now_accepts_every_rfc3339_year_and_names_the_range() {
    for now in [
        "1200-01-01T00:00:00Z",
        "2600-06-30T12:00:00+02:00",
        "9999-12-31T23:59:59Z",
    ] {
        let out = killswitch(&[
            "eval",
            "examples/rollout_plan.json",
            "--context",
            r#"{"user_id": "u"}"#,
            "--flag",
            "new_checkout",
            "--now",
            now,
        ]);
        assert_eq!(out.status.code(), Some(0), "{now}: {}", stderr(&out));
    }
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--context",
        "{}",
        "--now",
        "10000-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not an RFC 3339 date-time with a time zone (years 0000 to 9999"),
        "{}",
        stderr(&out)
    );
    let cases = temp_file(
        "far_cases.json",
        r#"[{"name": "far future", "flag": "new_checkout", "now": "2999-01-01T00:00:00Z",
             "context": {"user_id": "user-1"}, "expect": {"enabled": true, "schedule_step": 2}}]"#,
    );
    let path = cases.display().to_string();
    let out = killswitch(&["test", "examples/rollout_plan.json", "--cases", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Issue 11, defect 8: a case naming a flag the config does not have
/// fails (with the closest key), and an `expect` reason that is no reason
/// name is a malformed case listing the names.
#[test]
fn test_fails_unknown_flags_and_unknown_reasons() {
    let cases = temp_file(
        "bad_cases.json",
        r#"[{"name": "typo", "flag": "new-search-ui", "context": {"user_id": "u"}, "expect": false},
            {"name": "no such reason", "flag": "new_search_ui", "context": {"user_id": "u"},
             "expect": "killswitch"},
            {"name": "no such reason either", "flag": "new_search_ui", "context": {"user_id": "u"},
             "expect": {"reason": "rollout"}}]"#,
    );
    let path = cases.display().to_string();
    let out = killswitch(&["test", "examples/flags.json", "--cases", &path]);
    assert_eq!(out.status.code(), Some(1));
    let names = "one of `kill_switch`, `disabled`, `allow_rule`, `deny_rule`, `in_rollout`, \
                 `out_of_rollout`, `missing_user_id`, `no_rollout`, `unknown_flag`, `prerequisite_off`";
    assert_eq!(
        stdout(&out),
        format!(
            "FAILED  typo
        no flag `new-search-ui` in the config; did you mean `new_search_ui`?
FAILED  no such reason
        \"killswitch\" is not a reason: \"expect\" names {names}
FAILED  no such reason either
        \"rollout\" is not a reason: \"expect\" names {names}

0 passed, 3 failed
"
        )
    );
}

/// A file that is not UTF-8 is a located error of the file (exit 1), not
/// an I/O error: a UTF-16 file is named as such, a bad byte is placed.
#[test]
fn check_places_bytes_that_are_not_utf8() {
    let dir = std::env::temp_dir().join(format!("killswitch-cli-{}-utf8", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let utf16 = dir.join("utf16.json");
    std::fs::write(&utf16, b"\xff\xfe{\x00}\x00").unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, b"{\"flag_key\": \"a\xe9\", \"enabled\": true}").unwrap();

    let out = killswitch(&["check", "--color", "never", utf16.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("error[E0114]: this file is UTF-16"), "{text}");
    assert!(text.contains("utf16.json:1:1"), "{text}");

    let out = killswitch(&["check", "--color", "never", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("error[E0114]: invalid UTF-8: 0xE9"), "{text}");
    assert!(text.contains("bad.json:1:16"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_misspelt_key_or_subcommand_gets_a_did_you_mean() {
    // A typo in a flag key (not a prefix of it): the engine's helper finds it.
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--context",
        SPEC_CONTEXT,
        "--flag",
        "new_serch_ui",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "warning: no flag `new_serch_ui` in examples/flags.json; did you mean `new_search_ui`?\n"
    );
    // An option tried as a subcommand: where it is.
    let out = killswitch(&["explain", "examples/flags.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: unrecognized subcommand 'explain'\n\n  tip: `explain` is not a subcommand: to see why flags decide as they do, run `killswitch eval FILE --context JSON --explain`\n"),
        "{err}"
    );
    // A misspelt subcommand.
    let out = killswitch(&["evl", "examples/flags.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "error: unrecognized subcommand 'evl'\n\n  tip: a similar subcommand exists: 'eval'\n"
        ),
        "{err}"
    );
    // A word like none: no tip.
    let out = killswitch(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("tip:"), "{}", stderr(&out));
}

#[test]
fn eval_without_a_context_names_every_way_to_give_one() {
    let out = killswitch(&["eval", "examples/flags.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "error: the following required arguments were not provided:\n  \
             <--context <JSON>|--contexts <FILE>|--sample <N>>\n"
        ),
        "{err}"
    );
    // Each of them alone still works, and two of them still conflict.
    for args in [
        ["--context", SPEC_CONTEXT],
        ["--contexts", "examples/users.jsonl"],
        ["--sample", "10"],
    ] {
        let mut all = vec!["eval", "examples/flags.json"];
        all.extend(args);
        let out = killswitch(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    let out = killswitch(&[
        "eval",
        "examples/flags.json",
        "--sample",
        "10",
        "--contexts",
        "examples/users.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
