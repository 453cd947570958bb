//! The `killswitch` command end to end: output and exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn killswitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

/// A file in a fresh temporary directory, removed by the OS eventually.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "killswitch-cli-{}-{}",
        std::process::id(),
        name.replace('.', "-")
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("temp file");
    path
}

const SPEC_CONTEXT: &str = r#"{"user_id": "user_123", "email": "user@example.com", "segment": "beta", "is_internal": true}"#;

#[test]
fn eval_prints_one_line_per_flag() {
    let out = killswitch(&["eval", "examples/flags.json", "--context", SPEC_CONTEXT]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        r#"{"flag":"new_search_ui","user_id":"user_123","enabled":false,"reason":"out_of_rollout","bucket":45}
{"flag":"checkout_v2","user_id":"user_123","enabled":true,"reason":"allow_rule","rule":0}
{"flag":"legacy_reports","user_id":"user_123","enabled":false,"reason":"kill_switch"}
{"flag":"dark_mode","user_id":"user_123","enabled":false,"reason":"disabled"}
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
        "{\"flag\":\"new_search_ui\",\"user_id\":\"bo\",\"enabled\":false,\"reason\":\"deny_rule\",\"rule\":0}\n"
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
        "{\"flag\":\"new_search_ui\",\"user_id\":\"ana\",\"enabled\":true,\"reason\":\"allow_rule\",\"rule\":0}\n\
         {\"flag\":\"new_search_ui\",\"user_id\":null,\"enabled\":false,\"reason\":\"missing_user_id\"}\n"
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
        "{\"flag\":\"new_search\",\"user_id\":\"user_123\",\"enabled\":false,\"reason\":\"unknown_flag\"}\n"
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
