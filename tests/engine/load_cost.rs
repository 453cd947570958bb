//! Issue 11: what a config can cost to load and to evaluate is bounded.
//! Each hostile case runs on a small stack with a bound on its time that
//! the harness enforces (a hang or a quadratic blow-up fails the test).

use crate::on_stack_within;
use killswitch::{CheckReport, Context, ErrorKind, FlagSet, Format, Limits, Severity};
use std::time::Duration;

const STACK: usize = 256 * 1024;

/// Many times what the linear work takes in a debug build, with the other
/// tests running beside it.
const BOUND: Duration = Duration::from_secs(120);

fn roomy() -> Limits {
    let mut limits = Limits::default();
    limits.max_rule_len = 64 * 1024 * 1024;
    limits
}

/// One flag whose only allow rule is a structured `in` list of `n`
/// distinct values, then `extra` (a repeated value, or nothing).
fn in_list(n: usize, extra: &str) -> String {
    let mut values: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
    if !extra.is_empty() {
        values.push(extra.to_string());
    }
    format!(
        r#"{{"flag_key": "a", "enabled": true, "targeting_rules": {{"allow_list": [
{{"attribute": "x", "operator": "in", "value": [{}]}}]}}}}"#,
        values.join(",")
    )
}

/// (kind, severity, path, line, column, message) of every diagnostic.
type Found = Vec<(ErrorKind, Severity, String, Option<(usize, usize)>, String)>;

fn found(report: &CheckReport) -> Found {
    report
        .diagnostics()
        .iter()
        .map(|d| {
            (
                d.kind(),
                d.severity(),
                d.path().to_string(),
                d.line_column(),
                d.message().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_million_value_structured_list_stops_at_the_rule_length_limit() {
    let found = on_stack_within(STACK, BOUND, || {
        let text = in_list(1_000_000, "");
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    assert_eq!(found.len(), 1, "{found:?}");
    let (kind, severity, path, at, message) = &found[0];
    assert_eq!(*kind, ErrorKind::TooLong);
    assert_eq!(*severity, Severity::Error);
    assert_eq!(path, "flag \"a\" > targeting_rules.allow_list[0]");
    assert_eq!(*at, Some((2, 1)));
    assert!(message.contains("262144 bytes"), "{message}");
}

#[test]
fn a_million_value_structured_list_loads_in_linear_time_when_allowed() {
    let (found, answers) = on_stack_within(STACK, BOUND, || {
        // The last value repeats the first: reported once.
        let text = in_list(1_000_000, "\"0\"");
        let report = CheckReport::from_json(&text, &roomy());
        let flags = report.flags().expect("the config loads");
        let answer = |x: &str| flags.evaluate("a", &Context::new().with("x", x)).enabled;
        let answers = (answer("999999"), answer("0"), answer("1000000"));
        (found(&report), answers)
    });
    assert_eq!(answers, (true, true, false));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ErrorKind::DuplicateValue);
    assert_eq!(found[0].2, "flag \"a\" > targeting_rules.allow_list[0]");
}

#[test]
fn twenty_thousand_rules_are_linted_in_linear_time() {
    let found = on_stack_within(STACK, BOUND, || {
        let mut rules: Vec<String> = (0..20_000).map(|i| format!("\"x == {i}\"")).collect();
        // A duplicate of rule 5, spelt differently.
        rules.push("\"x==5\"".into());
        let text = format!(
            r#"{{"flag_key": "a", "enabled": true, "targeting_rules": {{
"allow_list": [{}],
"deny_list": ["y", "x   == 7"]}}}}"#,
            rules.join(",")
        );
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    let summary: Vec<(ErrorKind, &str, &str)> = found
        .iter()
        .map(|(k, _, p, _, m)| (*k, p.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                ErrorKind::DuplicateRule,
                "flag \"a\" > targeting_rules.allow_list[20000]",
                "duplicate rule: the same as allow_list[5]"
            ),
            (
                ErrorKind::ShadowedRule,
                "flag \"a\" > targeting_rules.deny_list[1]",
                "this deny rule never decides: allow_list[7] is the same rule and is checked first"
            ),
        ]
    );
}

#[test]
fn a_long_or_chain_of_negations_is_linted_in_linear_time() {
    let found = on_stack_within(STACK, BOUND, || {
        let mut terms: Vec<String> = (0..50_000).map(|i| format!("not a{i}")).collect();
        terms.push("a49999".into());
        let text = format!(
            r#"{{"flag_key": "a", "enabled": true, "targeting_rules": {{"allow_list": ["{}"]}}}}"#,
            terms.join(" or ")
        );
        found(&CheckReport::from_text(&text, Format::Json, &roomy(), None))
    });
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ErrorKind::AlwaysMatches);
    assert_eq!(
        found[0].4,
        "this rule always matches: it contains both `a49999` and its negation"
    );
}

#[test]
fn many_duplicate_flag_keys_in_a_big_file_are_reported_in_bounded_time() {
    let found = on_stack_within(STACK, BOUND, || {
        // The first "same" is 400 KB into the file: placing it
        // for each of its 200,000 duplicates would scan that far every time.
        let mut flags: Vec<String> = (0..10_000)
            .map(|i| format!(r#"{{"flag_key": "f{i}", "enabled": true}}"#))
            .collect();
        flags.extend(vec![
            r#"{"flag_key": "same", "enabled": true}"#.to_string();
            200_000
        ]);
        found(&CheckReport::from_json(
            &format!("[{}]", flags.join(",\n")),
            &Limits::default(),
        ))
    });
    // 500 shown, then a count of the rest.
    assert_eq!(found.len(), 501);
    assert_eq!(found[0].0, ErrorKind::DuplicateFlag);
    assert_eq!(found[500].0, ErrorKind::TooManyDiagnostics);
}

#[test]
fn an_unknown_segment_among_many_costs_no_pass_over_all_names() {
    let found = on_stack_within(STACK, BOUND, || {
        let segments: Vec<String> = (0..20_000).map(|i| format!("\"s{i}\": \"a\"")).collect();
        let flags: Vec<String> = (0..20_000)
            .map(|i| {
                format!(
                    r#"{{"flag_key": "f{i}", "enabled": true, "targeting_rules": {{"allow_list": ["@s{i} or @nope"]}}}}"#
                )
            })
            .collect();
        let text = format!(
            r#"{{"segments": {{{}}}, "flags": [{}]}}"#,
            segments.join(","),
            flags.join(",")
        );
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    assert_eq!(found.len(), 501);
    assert_eq!(found[0].0, ErrorKind::UnknownSegment);
}

#[test]
fn a_structured_rule_within_the_length_limit_loads() {
    let flags = FlagSet::from_json(&in_list(1000, "")).unwrap();
    assert!(
        flags
            .evaluate("a", &Context::new().with("x", "999"))
            .enabled
    );
}

// --- Evaluation cost (defect 4) ---------------------------------------------

/// Segments `s0` (one test) to `s{depth}`, each using the one below three
/// times: `@s{depth}` costs 3^depth tests.
fn tripling_segments(depth: usize) -> String {
    let mut segments = vec![r#""s0": "a""#.to_string()];
    for i in 1..=depth {
        let below = i - 1;
        segments.push(format!(r#""s{i}": "@s{below} or @s{below} or @s{below}""#));
    }
    segments.join(", ")
}

fn flag_with_rules(key: &str, rules: &[&str]) -> String {
    let rules: Vec<String> = rules.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"{{"flag_key": "{key}", "enabled": true, "targeting_rules": {{"allow_list": [{}]}}}}"#,
        rules.join(", ")
    )
}

#[test]
fn the_tests_of_one_flag_are_bounded_with_its_segments_counted_in_full() {
    // 3^10 = 59,049 tests a rule: one fits, two pass 100,000.
    let text = format!(
        r#"{{"segments": {{{}}}, "flags": [{}, {}]}}"#,
        tripling_segments(10),
        flag_with_rules("one", &["@s10"]),
        flag_with_rules("two", &["@s10", "@s10 and b"]),
    );
    let found = on_stack_within(STACK, BOUND, move || {
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    assert_eq!(found.len(), 1, "{found:?}");
    let (kind, severity, path, at, message) = &found[0];
    assert_eq!((*kind, *severity), (ErrorKind::TooLong, Severity::Error));
    assert_eq!(path, "flags[1] \"two\" > targeting_rules.allow_list[1]");
    assert!(at.is_some());
    assert_eq!(
        message,
        "with this rule, one evaluation of this flag may run 118099 tests (segments counted at each use); at most 100000 are allowed"
    );
}

#[test]
fn the_tests_of_a_file_are_bounded_when_many_flags_share_costly_segments() {
    // The issue's case: ten segments each `@next or @next or @next`, used
    // by 100 flags (59,049 tests each).
    let flags: Vec<String> = (0..100)
        .map(|i| flag_with_rules(&format!("f{i}"), &["@s10"]))
        .collect();
    let text = format!(
        r#"{{"segments": {{{}}}, "flags": [{}]}}"#,
        tripling_segments(10),
        flags.join(", ")
    );
    let found = on_stack_within(STACK, BOUND, move || {
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    // 16 flags fit in 1,000,000; every later one is over.
    assert_eq!(found.len(), 100 - 16, "{found:?}");
    let (kind, _, path, _, message) = &found[0];
    assert_eq!(*kind, ErrorKind::TooLong);
    assert_eq!(path, "flags[16] \"f16\" > targeting_rules.allow_list[0]");
    assert!(message.contains("the flags of this file"), "{message}");
    assert!(message.contains("at most 1000000"), "{message}");
}

#[test]
fn the_total_compiled_size_of_a_files_regexes_is_bounded() {
    // The issue's case: 3,000 patterns, each big once compiled (well under
    // the 1 MiB limit for one pattern).
    let flags: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                r#"{{"flag_key": "f{i}", "enabled": true, "targeting_rules": {{"allow_list": [{{"attribute": "x", "operator": "matches", "value": "^[a-q]{{12000}}[r-z]"}}]}}}}"#
            )
        })
        .collect();
    let text = format!("[{}]", flags.join(",\n"));
    let found = on_stack_within(STACK, BOUND, move || {
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    assert!(!found.is_empty());
    let (kind, severity, path, at, message) = &found[0];
    assert_eq!((*kind, *severity), (ErrorKind::TooLong, Severity::Error));
    assert!(path.ends_with("targeting_rules.allow_list[0]"), "{path}");
    assert!(at.is_some());
    assert!(
        message.contains("compile to more than 16777216 bytes in all"),
        "{message}"
    );
    // Every flag after the budget ran out is reported (up to the cap).
    assert!(found
        .iter()
        .all(|f| f.0 == ErrorKind::TooLong || f.0 == ErrorKind::TooManyDiagnostics));
}

#[test]
fn a_regex_is_not_run_on_a_string_longer_than_the_bound() {
    let flags = FlagSet::from_json(&flag_with_rules(
        "r",
        &[r#"x matches \"^a+$\" or not (y matches \"^a+$\")"#],
    ))
    .unwrap();
    let max = Limits::default().max_regex_input_len;
    assert_eq!(max, 4096);
    let long = "a".repeat(max + 1);
    let at_bound = "a".repeat(max);
    let on = |x: &str, y: &str| {
        flags
            .evaluate("r", &Context::new().with("x", x).with("y", y))
            .enabled
    };
    // `x` at the bound matches; one byte longer does not.
    assert!(on(&at_bound, "a"));
    assert!(!on(&long, "a"));
    // The test is false, so its negation holds.
    assert!(on("b", &long));
    assert!(!on("b", &at_bound));
}

// --- Smaller (defect 8) -----------------------------------------------------

#[test]
fn a_whole_float_percentage_is_accepted_in_every_format_and_a_fraction_is_not() {
    let cases = [
        (
            Format::Json,
            r#"{"flag_key": "f", "enabled": true, "rollout_percentage": PCT}"#,
        ),
        (
            Format::Yaml,
            "flag_key: f\nenabled: true\nrollout_percentage: PCT\n",
        ),
        (
            Format::Toml,
            "flag_key = \"f\"\nenabled = true\nrollout_percentage = PCT\n",
        ),
    ];
    for (format, template) in cases {
        let whole = template.replace("PCT", "20.0");
        let flags = FlagSet::from_text(&whole, format, &Limits::default())
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(flags.get("f").unwrap().rollout_percentage(), Some(20));
        let half = template.replace("PCT", "20.5");
        let err = FlagSet::from_text(&half, format, &Limits::default()).unwrap_err();
        let d = &err.diagnostics()[0];
        assert_eq!(d.kind(), ErrorKind::OutOfRange, "{format:?}");
        assert_eq!(
            d.message(),
            "rollout_percentage must be a whole number from 0 to 100, not 20.5"
        );
        assert_eq!(d.help(), Some("percentages are whole: use 20 or 21"));
        assert_eq!(
            d.line_column().map(|(l, _)| l),
            Some(if format == Format::Json { 1 } else { 3 })
        );
        for out_of_range in ["100.5", "-1.0", "101.0"] {
            let text = template.replace("PCT", out_of_range);
            let err = FlagSet::from_text(&text, format, &Limits::default()).unwrap_err();
            assert_eq!(err.diagnostics()[0].kind(), ErrorKind::OutOfRange);
        }
    }
}

#[test]
fn invalid_utf8_is_a_located_error_not_an_io_error() {
    let mut bytes = b"{\n  \"flag_key\": \"caf".to_vec();
    bytes.push(0xE9); // Latin-1 `e` with an accent
    bytes.extend_from_slice(b"\",\n  \"enabled\": true\n}\n");
    let dir = crate::TempDir::new("latin1");
    let path = dir.write("latin1.json", &bytes);
    let err = FlagSet::load(&path).unwrap_err();
    assert!(!err.is_io());
    let d = &err.diagnostics()[0];
    assert_eq!(d.kind(), ErrorKind::InvalidEncoding);
    assert_eq!(d.line_column(), Some((2, 19)));
    assert_eq!(d.message(), "invalid UTF-8: 0xE9 at byte offset 20");
    assert_eq!(
        d.help(),
        Some("configs are UTF-8: save the file as UTF-8, or remove the bad bytes")
    );
    // The whole error names the file and shows the line.
    let shown = err.to_string();
    assert!(shown.contains("latin1.json:2:19"), "{shown}");
}

#[test]
fn a_utf16_file_is_named_as_such() {
    let dir = crate::TempDir::new("utf16");
    for (name, bom) in [("le.json", [0xFF, 0xFE]), ("be.json", [0xFE, 0xFF])] {
        let mut bytes = bom.to_vec();
        for unit in "{\"flag_key\": \"f\", \"enabled\": true}".encode_utf16() {
            let pair = if name == "le.json" {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            };
            bytes.extend_from_slice(&pair);
        }
        let err = FlagSet::load(dir.write(name, &bytes)).unwrap_err();
        assert!(!err.is_io());
        let d = &err.diagnostics()[0];
        assert_eq!(d.kind(), ErrorKind::InvalidEncoding);
        assert_eq!(d.line_column(), Some((1, 1)));
        assert!(d.message().contains("UTF-16"), "{}", d.message());
    }
    // A UTF-8 byte-order mark is fine.
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(b"{\"flag_key\": \"f\", \"enabled\": true}");
    assert!(FlagSet::load(dir.write("bom8.json", &bytes)).is_ok());
}

// --- Names (defect 7) -------------------------------------------------------

#[test]
fn flag_keys_with_control_or_bidi_characters_or_surrounding_space_are_errors() {
    let cases = [
        (r"esc\u001b[2J", "\\u{1b}", 3),
        (r"nul\u0000", "\\u{0}", 3),
        (r"two\nlines", "\\u{a}", 3),
        (r"bidi\u202egnp.exe", "\\u{202e}", 4),
        (r"isolate\u2066x", "\\u{2066}", 7),
        (" padded", "start with whitespace", 0),
        ("padded ", "end with whitespace", 6),
    ];
    for (key, says, at) in cases {
        let json = format!(r#"{{"flag_key": "{key}", "enabled": true}}"#);
        let err = FlagSet::from_json(&json).unwrap_err();
        let d = &err.diagnostics()[0];
        assert_eq!(d.kind(), ErrorKind::InvalidName, "{key}");
        assert!(d.message().contains(says), "{key}: {}", d.message());
        // The marker is at the offending character, in the file.
        let span = d.span().unwrap();
        assert_eq!(span.start, json.find(key).unwrap() + at, "{key}");
        // The message never holds the raw character.
        assert!(
            !d.message()
                .chars()
                .any(|c| c.is_control() || ('\u{202A}'..='\u{2069}').contains(&c)),
            "{key}: {:?}",
            d.message()
        );
        assert_eq!(d.path(), "flag > flag_key");
    }
    // Raw characters in YAML and TOML too.
    let yaml = "flag_key: \"a\\e[2J\"\nenabled: true\n";
    let err = FlagSet::from_text(yaml, Format::Yaml, &Limits::default()).unwrap_err();
    assert_eq!(err.diagnostics()[0].kind(), ErrorKind::InvalidName);
    let toml = "flag_key = \"a\\u202Eb\"\nenabled = true\n";
    let err = FlagSet::from_text(toml, Format::Toml, &Limits::default()).unwrap_err();
    assert_eq!(err.diagnostics()[0].kind(), ErrorKind::InvalidName);
    // Inner spaces and non-Latin scripts alone are fine.
    assert!(FlagSet::from_json(r#"{"flag_key": "new search ui", "enabled": true}"#).is_ok());
    assert!(FlagSet::from_json(r#"{"flag_key": "новый_поиск", "enabled": true}"#).is_ok());
}

#[test]
fn segment_names_with_control_characters_or_spaces_are_errors() {
    for name in [r"esc\u001b", " s", "s ", r"s\u202e"] {
        let json = format!(
            r#"{{"segments": {{"{name}": "a"}}, "flags": [{{"flag_key": "f", "enabled": true}}]}}"#
        );
        let err = FlagSet::from_json(&json).unwrap_err();
        assert_eq!(
            err.diagnostics()[0].kind(),
            ErrorKind::InvalidLiteral,
            "{name}"
        );
    }
}

#[test]
fn a_key_mixing_latin_and_cyrillic_letters_is_warned_about() {
    // The second `е` of "new_sеarch_ui" is Cyrillic (U+0435).
    let text = r#"[{"flag_key": "new_search_ui", "enabled": true},
 {"flag_key": "new_sеarch_ui", "enabled": true}]"#;
    let report = CheckReport::from_json(text, &Limits::default());
    assert!(report.flags().is_some());
    let found = found(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    let (kind, severity, path, at, message) = &found[0];
    assert_eq!(
        (*kind, *severity),
        (ErrorKind::ConfusableKey, Severity::Warning)
    );
    assert_eq!(kind.code(), "W0011");
    assert_eq!(kind.lint_name(), Some("confusable-key"));
    assert_eq!(path, "flags[1] \"new_sеarch_ui\" > flag_key");
    assert_eq!(*at, Some((2, 3)));
    assert_eq!(
        message,
        "this flag key mixes Latin and Cyrillic letters (`е` is U+0435), so it may look like another key"
    );
    // Greek with Latin too; allowed per flag like every lint.
    let greek = r#"{"flag_key": "αlpha", "enabled": true}"#;
    let report = CheckReport::from_json(greek, &Limits::default());
    assert_eq!(report.diagnostics()[0].kind(), ErrorKind::ConfusableKey);
    let allowed = r#"{"flag_key": "αlpha", "enabled": true, "allow_lints": ["confusable-key"]}"#;
    assert!(CheckReport::from_json(allowed, &Limits::default())
        .diagnostics()
        .is_empty());
}

#[test]
fn the_tests_of_a_flag_count_its_prerequisites() {
    // Two flags of 59,049 tests each fit alone; one requiring the other
    // runs both.
    let text = format!(
        r#"{{"segments": {{{}}}, "flags": [{}, {}]}}"#,
        tripling_segments(10),
        flag_with_rules("base", &["@s10"]),
        r#"{"flag_key": "top", "enabled": true, "requires": ["base"], "targeting_rules": {"allow_list": ["@s10 and b"]}}"#,
    );
    let found = on_stack_within(STACK, BOUND, move || {
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    assert_eq!(found.len(), 1, "{found:?}");
    let (kind, _, path, at, message) = &found[0];
    assert_eq!(*kind, ErrorKind::TooLong);
    assert_eq!(path, "flags[1] \"top\" > requires[0]");
    assert!(at.is_some());
    assert_eq!(
        message,
        "with its prerequisites, one evaluation of this flag may run 118099 tests; at most 100000 are allowed"
    );
}

#[test]
fn a_long_allow_lints_list_costs_no_search_per_finding() {
    let found = on_stack_within(STACK, BOUND, || {
        let allowed = vec!["\"duplicate-rule\""; 200_000].join(",");
        let rules = vec!["\"a\""; 50_000].join(",");
        let text = format!(
            r#"{{"flag_key": "f", "enabled": true, "allow_lints": [{allowed}, "W0003"],
"targeting_rules": {{"allow_list": [{rules}, "a and not a"]}}}}"#
        );
        found(&CheckReport::from_json(&text, &Limits::default()))
    });
    // Both allowed: the 49,999 duplicates and the rule that never matches.
    assert_eq!(found, Found::new());
}
