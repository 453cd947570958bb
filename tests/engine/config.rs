//! Config files: the accepted shapes, and every problem reported with its
//! place in the file and in the config.

use crate::{flags, SPEC_FLAG};
use killswitch::{ConfigError, Context, Diagnostic, ErrorKind, FlagSet, Reason};

fn errors(json: &str) -> ConfigError {
    match FlagSet::from_json(json) {
        Ok(flags) => panic!("accepted {} flags from:\n{json}", flags.len()),
        Err(e) => e,
    }
}

/// The only diagnostic of a config with exactly one problem.
fn only(json: &str) -> Diagnostic {
    let e = errors(json);
    assert_eq!(e.diagnostics().len(), 1, "{e}");
    e.diagnostics()[0].clone()
}

fn kinds(e: &ConfigError) -> Vec<ErrorKind> {
    e.diagnostics().iter().map(Diagnostic::kind).collect()
}

// --- Shapes -----------------------------------------------------------------

#[test]
fn a_config_is_one_flag_an_array_or_an_object_with_flags() {
    let one = flags(SPEC_FLAG);
    let array = flags(&format!("[{SPEC_FLAG}]"));
    let wrapped = flags(&format!(r#"{{"flags": [{SPEC_FLAG}]}}"#));
    let with_schema = flags(&format!(
        r#"{{"$schema": "./flags.schema.json", "flags": [{SPEC_FLAG}]}}"#
    ));
    let ctx = Context::for_user("user-5");
    for set in [&one, &array, &wrapped, &with_schema] {
        assert_eq!(set.len(), 1);
        assert_eq!(
            set.evaluate("new_search_ui", &ctx).reason,
            Reason::InRollout
        );
    }
    assert!(flags("[]").is_empty());
    assert!(flags(r#"{"flags": []}"#).is_empty());
}

#[test]
fn flags_keep_file_order_and_optional_fields_have_defaults() {
    let set = flags(
        r#"[
        {"flag_key": "b", "enabled": true},
        {"flag_key": "a", "enabled": false, "kill_switch": true, "rollout_percentage": 5,
         "targeting_rules": {"allow_list": null}},
        {"flag_key": "c", "enabled": true, "targeting_rules": {}}
    ]"#,
    );
    let keys: Vec<&str> = set.flags().iter().map(|f| f.key()).collect();
    assert_eq!(keys, ["b", "a", "c"]);
    let b = set.get("b").expect("b");
    assert!(!b.kill_switch());
    assert_eq!(b.rollout_percentage(), None);
    assert!(b.allow_rules().is_empty() && b.deny_rules().is_empty());
    let a = set.get("a").expect("a");
    assert!(a.kill_switch() && !a.enabled());
    assert_eq!(a.rollout_percentage(), Some(5));
}

#[test]
fn structured_rules_agree_with_text_rules() {
    let set = flags(
        r#"{"flag_key": "s", "enabled": true, "targeting_rules": {"allow_list": [
            {"attribute": "tier", "operator": "in", "value": ["gold", "platinum"]},
            {"attribute": "account.plan", "operator": "==", "value": "pro"},
            {"attribute": ["meta", "x.y"], "operator": "equalsIgnoreCase", "value": "ABC"},
            {"attribute": "email", "operator": "exists"},
            {"attribute": "age", "operator": "greaterThanOrEqual", "value": 18},
            {"attribute": "beta", "operator": "exists", "value": false}
        ]}}"#,
    );
    let rules = set.get("s").expect("s").allow_rules();
    let texts = [
        r#"tier in ["gold", "platinum"]"#,
        r#"account.plan == "pro""#,
        r#"meta.`x.y` equalsIgnoreCase "ABC""#,
        "email exists",
        "age >= 18",
        "not beta exists",
    ];
    assert_eq!(rules.len(), texts.len());
    for (rule, text) in rules.iter().zip(texts) {
        let parsed = killswitch::ast::parse(text).expect("valid");
        assert_eq!(
            rule.expr().without_spans(),
            parsed.without_spans(),
            "{text}"
        );
        assert_eq!(rule.source(), text);
    }
    let ctx = Context::from_json(r#"{"meta": {"x.y": "abc"}}"#).expect("valid");
    assert_eq!(set.evaluate("s", &ctx).reason, Reason::AllowRule(2));
}

#[test]
fn configs_load_from_files() {
    let dir = crate::TempDir::new("config");
    let set = FlagSet::load(dir.write("flags.json", format!("[{SPEC_FLAG}]"))).expect("loads");
    assert_eq!(set.len(), 1);
    assert_eq!(
        set.evaluate("new_search_ui", &Context::for_user("user_123"))
            .bucket,
        Some(45)
    );
}

#[test]
fn a_file_that_cannot_be_read_is_an_io_error() {
    let path = std::env::temp_dir().join(format!("killswitch-missing-{}.json", std::process::id()));
    let e = FlagSet::load(&path).unwrap_err();
    assert!(e.is_io());
    assert_eq!(kinds(&e), [ErrorKind::Io]);
    assert_eq!(e.file(), Some(path.display().to_string().as_str()));
    assert!(e.to_string().contains("cannot read"), "{e}");
}

#[test]
fn errors_in_a_loaded_file_name_the_file() {
    let dir = crate::TempDir::new("config-bad");
    let file = dir.write("flags.json", "{\"flag_key\": \"x\",\n \"enabled\": yes}");
    let e = FlagSet::load(&file).unwrap_err();
    assert!(!e.is_io());
    let name = file.display().to_string();
    assert_eq!(e.file(), Some(name.as_str()));
    assert_eq!(kinds(&e), [ErrorKind::InvalidJson]);
    assert_eq!(e.diagnostics()[0].line_column(), Some((2, 13)));
    assert!(e.to_string().contains(&format!("--> {name}:2:13\n")), "{e}");
}

// --- Field problems ---------------------------------------------------------

#[test]
fn an_unknown_field_suggests_the_known_one() {
    let json = r#"{"flag_key": "x", "enabled": true, "rollout_percent": 20}"#;
    let d = only(json);
    assert_eq!(d.kind(), ErrorKind::UnknownField);
    assert_eq!(d.message(), r#"unknown field "rollout_percent""#);
    assert_eq!(d.help(), Some(r#"did you mean "rollout_percentage"?"#));
    assert_eq!(d.path(), r#"flag "x" > rollout_percent"#);
    assert_eq!(d.flag(), Some("x"));
    assert_eq!(
        &json[d.span().expect("span").range()],
        r#""rollout_percent""#
    );
    assert_eq!(d.line_column(), Some((1, 36)));

    let d = only(r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"allowlist": []}}"#);
    assert_eq!(d.kind(), ErrorKind::UnknownField);
    assert_eq!(d.help(), Some(r#"did you mean "allow_list"?"#));
    assert_eq!(d.path(), r#"flag "x" > targeting_rules.allowlist"#);

    let d = only(r#"{"flags": [], "version": 2}"#);
    assert_eq!(d.kind(), ErrorKind::UnknownField);
    assert_eq!(d.path(), "");
}

#[test]
fn duplicate_json_keys_are_errors() {
    let json = r#"{"flag_key": "x", "enabled": true, "enabled": false}"#;
    let d = only(json);
    assert_eq!(d.kind(), ErrorKind::DuplicateKey);
    assert_eq!(&json[d.span().expect("span").range()], r#""enabled""#);
    assert_eq!(d.line_column(), Some((1, 36)));
    assert_eq!(
        d.help(),
        Some(r#"the first "enabled" is at 1:19; remove one of them"#)
    );
    // Inside a structured rule too.
    let e = errors(
        r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"deny_list": [
        {"attribute": "a", "operator": "==", "value": 1, "value": 2}]}}"#,
    );
    assert_eq!(kinds(&e), [ErrorKind::DuplicateKey]);
}

#[test]
fn duplicate_flag_keys_are_errors() {
    let json = "[\n {\"flag_key\": \"x\", \"enabled\": true},\n {\"flag_key\": \"x\", \"enabled\": false}\n]";
    let d = only(json);
    assert_eq!(d.kind(), ErrorKind::DuplicateFlag);
    assert_eq!(d.message(), r#"flag "x" is defined twice"#);
    assert_eq!(d.line_column(), Some((3, 15)));
    assert_eq!(
        d.help(),
        Some("the first definition is at 2:15; flag keys must be unique")
    );
    assert!(d.path().starts_with("flags[1]"), "{}", d.path());
}

#[test]
fn duplicate_flag_diagnostics_name_the_flag() {
    let d = only(r#"[{"flag_key": "x", "enabled": true}, {"flag_key": "x", "enabled": true}]"#);
    assert_eq!(d.path(), r#"flags[1] "x" > flag_key"#);
    assert_eq!(d.flag(), Some("x"));
}

#[test]
fn rollout_percentages_are_whole_numbers_from_0_to_100() {
    for bad in ["101", "-1", "12.5", "1e3", "1000000000000000000000"] {
        let json = format!(r#"{{"flag_key": "x", "enabled": true, "rollout_percentage": {bad}}}"#);
        let d = only(&json);
        assert_eq!(d.kind(), ErrorKind::OutOfRange, "{bad}");
        assert_eq!(&json[d.span().expect("span").range()], bad);
        assert_eq!(d.path(), r#"flag "x" > rollout_percentage"#);
    }
    let d = only(r#"{"flag_key": "x", "enabled": true, "rollout_percentage": "20"}"#);
    assert_eq!(d.kind(), ErrorKind::WrongType);
    for ok in [0, 100] {
        let json = format!(r#"{{"flag_key": "x", "enabled": true, "rollout_percentage": {ok}}}"#);
        assert_eq!(
            flags(&json).get("x").and_then(|f| f.rollout_percentage()),
            Some(ok)
        );
    }
    // A whole number written as a float, as many JSON writers print it.
    for (ok, want) in [("20.0", 20), ("1e2", 100), ("0.0", 0)] {
        let json = format!(r#"{{"flag_key": "x", "enabled": true, "rollout_percentage": {ok}}}"#);
        assert_eq!(
            flags(&json).get("x").and_then(|f| f.rollout_percentage()),
            Some(want)
        );
    }
}

#[test]
fn required_fields_and_field_types_are_checked() {
    let d = only(r#"{"flag_key": "x"}"#);
    assert_eq!(d.kind(), ErrorKind::MissingField);
    assert!(d.message().contains("enabled"));
    let d = only(r#"{"enabled": true}"#);
    assert_eq!(d.kind(), ErrorKind::MissingField);
    assert!(d.message().contains("flag_key"));
    let d = only(r#"{"flag_key": "x", "enabled": "true"}"#);
    assert_eq!(d.kind(), ErrorKind::WrongType);
    assert_eq!(d.help(), Some("drop the quotes: true"));
    let d = only(r#"{"flag_key": 7, "enabled": true}"#);
    assert_eq!(d.kind(), ErrorKind::WrongType);
    let d = only(r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"allow_list": [7]}}"#);
    assert_eq!(d.kind(), ErrorKind::WrongType);
    assert_eq!(d.path(), r#"flag "x" > targeting_rules.allow_list[0]"#);
    let d =
        only(r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"deny_list": "a == 1"}}"#);
    assert_eq!(d.kind(), ErrorKind::WrongType);
    let d = only("42");
    assert_eq!(d.kind(), ErrorKind::WrongType);
    let d = only(r#"[{"flag_key": "x", "enabled": true}, "y"]"#);
    assert_eq!(d.kind(), ErrorKind::WrongType);
    assert_eq!(d.path(), "flags[1]");
}

#[test]
fn structured_rule_problems_are_reported_in_the_file() {
    let json = r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"deny_list": [
    {"attribute": "segment", "operator": "equalz", "value": "legacy"},
    {"attr": "segment", "operator": "equals", "value": "legacy"},
    {"attribute": "segment", "operator": "equals", "value": null}
]}}"#;
    let e = errors(json);
    let got: Vec<(ErrorKind, &str, &str)> = e
        .diagnostics()
        .iter()
        .map(|d| (d.kind(), &json[d.span().expect("span").range()], d.path()))
        .collect();
    let rule = |i: usize| format!(r#"flag "x" > targeting_rules.deny_list[{i}]"#);
    assert_eq!(
        got,
        [
            (ErrorKind::UnknownOperator, r#""equalz""#, rule(0).as_str()),
            (ErrorKind::MissingField, "{", rule(1).as_str()),
            (ErrorKind::UnknownField, r#""attr""#, rule(1).as_str()),
            (ErrorKind::WrongType, "null", rule(2).as_str()),
        ]
    );
    let helps: Vec<Option<&str>> = e.diagnostics().iter().map(Diagnostic::help).collect();
    assert_eq!(helps[0], Some("did you mean `equals`?"));
    assert_eq!(helps[2], Some(r#"did you mean "attribute"?"#));
    assert_eq!(
        helps[3],
        Some(r#"to test whether an attribute is set, use the "exists" operator"#)
    );
    assert_eq!(e.diagnostics()[0].line_column(), Some((2, 42)));
}

// --- All problems, in order -------------------------------------------------

#[test]
fn every_problem_of_a_file_is_reported_in_file_order() {
    let json = r#"[
  {"flag_key": "a", "enabled": true, "targeting_rules": {"allow_list": ["email endswith \"x\""]}},
  {"flag_key": "b", "enabled": "yes", "rollout_percentage": 101},
  {"flag_key": "c", "enabled": true, "enabled": true, "kill_switch": 1},
  {"flag_key": "d"}
]"#;
    let e = errors(json);
    assert_eq!(
        kinds(&e),
        [
            ErrorKind::UnknownOperator,
            ErrorKind::WrongType,
            ErrorKind::OutOfRange,
            ErrorKind::DuplicateKey,
            ErrorKind::WrongType,
            ErrorKind::MissingField,
        ],
        "{e}"
    );
    let starts: Vec<usize> = e
        .diagnostics()
        .iter()
        .map(|d| d.span().expect("span").start)
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    let lines: Vec<usize> = e
        .diagnostics()
        .iter()
        .map(|d| d.line_column().expect("position").0)
        .collect();
    assert_eq!(lines, [2, 3, 3, 4, 4, 5]);
    assert!(e.to_string().ends_with("\n\n6 errors"), "{e}");
}

#[test]
fn a_rule_error_is_placed_in_the_file_through_json_escapes() {
    let json = concat!(
        "[\n",
        "  {\"flag_key\": \"a\", \"enabled\": true},\n",
        "  {\"flag_key\": \"b\", \"enabled\": true,\n",
        "   \"targeting_rules\": {\"deny_list\": [\n",
        "     \"segment == \\\"x\\\"\",\n",
        "     \"name == \\\"caf\\u00e9 \\\\\\\"q\\\\\\\"\\\" and 名前 == '\\t' and age < \\\"18\\\"\"\n",
        "   ]}}\n",
        "]\n",
    );
    // The rule as the engine sees it, after JSON decoding.
    let line = json.lines().nth(5).expect("line 6");
    let e = errors(json);
    assert_eq!(e.diagnostics().len(), 1, "{e}");
    let d = &e.diagnostics()[0];
    assert_eq!(d.kind(), ErrorKind::TypeMismatch);
    assert_eq!(d.path(), r#"flags[1] "b" > targeting_rules.deny_list[1]"#);
    assert_eq!(d.flag(), Some("b"));
    let span = d.span().expect("span");
    assert_eq!(&json[span.range()], r#"\"18\""#);
    // Columns count characters of the file's line (名前 is two).
    let raw = r#"\"18\""#;
    let column = line[..line.find(raw).expect("in line")].chars().count() + 1;
    assert_eq!(d.line_column(), Some((6, column)));
    assert_eq!(d.end_line_column(), Some((6, column + raw.chars().count())));
}

#[test]
fn a_rule_error_after_a_unicode_escape_is_placed_in_the_file() {
    // `\u00e9` is six bytes in the file and two once decoded.
    let json = r#"{"flag_key": "x", "enabled": true, "targeting_rules": {"allow_list": ["city == \"Bogot\u00e1\" or city endswith \"\u00e9\""]}}"#;
    let d = only(json);
    assert_eq!(d.kind(), ErrorKind::UnknownOperator);
    assert_eq!(&json[d.span().expect("span").range()], "endswith");
    let column = json.find("endswith").expect("there") + 1; // ASCII line
    assert_eq!(d.line_column(), Some((1, column)));
}

#[test]
fn a_complete_rendered_config_error() {
    let json = r#"{"flags": [
  {"flag_key": "checkout", "enabled": true, "rollout_percentage": 10},
  {"flag_key": "new_search_ui", "enabled": true, "rollout_percent": 20,
   "targeting_rules": {"allow_list": ["email endswith \"@internal.com\""]}},
  {"flag_key": "checkout", "enabled": "true", "rollout_percentage": 101}
]}"#;
    let e = errors(json);
    // Columns checked with Python (`line.find(token) + 1`); lines of up to
    // 120 bytes are shown whole.
    let expected = r#"error[E0102]: unknown field "rollout_percent"
 --> <config>:3:50
  |
3 |   {"flag_key": "new_search_ui", "enabled": true, "rollout_percent": 20,
  |                                                  ^^^^^^^^^^^^^^^^^
  = in flags[1] "new_search_ui" > rollout_percent
  = help: did you mean "rollout_percentage"?

error[E0002]: unknown operator `endswith`
 --> <config>:4:46
  |
4 |    "targeting_rules": {"allow_list": ["email endswith \"@internal.com\""]}},
  |                                              ^^^^^^^^
  = in flags[1] "new_search_ui" > targeting_rules.allow_list[0]
  = help: did you mean `endsWith`?

error[E0106]: flag "checkout" is defined twice
 --> <config>:5:16
  |
5 |   {"flag_key": "checkout", "enabled": "true", "rollout_percentage": 101}
  |                ^^^^^^^^^^
  = in flags[2] "checkout" > flag_key
  = help: the first definition is at 2:16; flag keys must be unique

error[E0104]: enabled must be true or false, not a string
 --> <config>:5:39
  |
5 |   {"flag_key": "checkout", "enabled": "true", "rollout_percentage": 101}
  |                                       ^^^^^^
  = in flags[2] "checkout" > enabled
  = help: drop the quotes: true

error[E0107]: rollout_percentage must be a whole number from 0 to 100
 --> <config>:5:69
  |
5 |   {"flag_key": "checkout", "enabled": "true", "rollout_percentage": 101}
  |                                                                     ^^^
  = in flags[2] "checkout" > rollout_percentage

5 errors"#;
    assert_eq!(e.to_string(), expected);
}

#[test]
fn long_lines_are_cut_around_the_problem() {
    let padding = "x".repeat(200);
    let json = format!(
        r#"{{"flag_key": "x", "enabled": true, "targeting_rules": {{"allow_list": ["a == \"{padding}\" or b endswith \"z\" or c == \"{padding}\""]}}}}"#
    );
    let d = only(&json);
    let at = json.find("endswith").expect("there");
    assert_eq!(d.line_column(), Some((1, at + 1)));
    let mut shown = String::new();
    d.render(Some("flags.json"), &mut shown)
        .expect("render to a String");
    assert!(
        shown.contains(&format!("--> flags.json:1:{}\n", at + 1)),
        "{shown}"
    );
    // 40 characters of context before the marker, after `...`.
    let excerpt = format!("1 | ...{}endswith", &json[at - 40..at]);
    assert!(shown.contains(&excerpt), "{shown}");
    assert!(
        shown.contains(&format!("\n  | {}^^^^^^^^\n", " ".repeat(43))),
        "{shown}"
    );
    assert!(shown.lines().all(|l| l.chars().count() < 140), "{shown}");
}

#[test]
fn metadata_defaults_follow_the_type_and_the_config_lifetimes() {
    use killswitch::FlagType;
    let flags = FlagSet::from_json(
        r#"{"id": "web", "lifetimes": {"operational": 3, "kill-switch": 90},
            "flags": [
              {"flag_key": "a", "enabled": true},
              {"flag_key": "b", "enabled": true, "type": "operational"},
              {"flag_key": "c", "enabled": true, "type": "kill-switch"},
              {"flag_key": "d", "enabled": true, "type": "kill-switch", "permanent": false},
              {"flag_key": "e", "enabled": true, "type": "experiment", "permanent": true},
              {"flag_key": "f", "enabled": true, "type": "permission", "expires": "2026-03-01T10:00:00+02:00"}
            ]}"#,
    )
    .unwrap();
    assert_eq!(flags.id(), Some("web"));
    let days = |key: &str| {
        let m = flags.get(key).unwrap().metadata();
        (
            m.flag_type(),
            m.permanent(),
            m.expected_lifetime().map(|d| d.as_secs() / 86_400),
        )
    };
    assert_eq!(days("a"), (FlagType::Release, false, Some(40)));
    assert_eq!(days("b"), (FlagType::Operational, false, Some(3)));
    assert_eq!(days("c"), (FlagType::KillSwitch, true, None));
    assert_eq!(days("d"), (FlagType::KillSwitch, false, Some(90)));
    assert_eq!(days("e"), (FlagType::Experiment, true, None));
    assert_eq!(days("f"), (FlagType::Permission, true, None));
    assert_eq!(
        flags.get("f").unwrap().metadata().expires(),
        killswitch::parse_time("2026-03-01T08:00:00Z")
    );
    // An `id` beside a `flag_key` is a flag's unknown field, not a config id.
    let err = FlagSet::from_json(r#"{"flag_key": "a", "enabled": true, "id": "x"}"#).unwrap_err();
    assert_eq!(err.diagnostics()[0].message(), "unknown field \"id\"");
}
