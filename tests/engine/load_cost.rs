//! Issue 11: what a config can cost to load and to evaluate is bounded.
//! Each hostile case runs on a small stack with a bound on its time that
//! the harness enforces (a hang or a quadratic blow-up fails the test).

use crate::on_stack_within;
use killswitch::{CheckReport, Context, ErrorKind, FlagSet, Format, Limits, Severity};
use std::time::Duration;

const STACK: usize = 256 * 1024;

/// Many times what the linear work takes in a debug build.
const BOUND: Duration = Duration::from_secs(60);

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
        // The first "same" is most of a megabyte into the file: placing it
        // for each of its 200,000 duplicates would scan that far every time.
        let mut flags: Vec<String> = (0..20_000)
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
