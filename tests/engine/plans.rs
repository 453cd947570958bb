//! Rollout schedules, prerequisite flags and segments: evaluation at given
//! times, chains of flags, shared named rules, and every way a plan can be
//! written wrong.

use crate::flags;
use killswitch::{
    ast, parse_time, CheckReport, Context, ErrorKind, FlagSet, Limits, Reason, Rule, Severity,
};
use std::time::{Duration, SystemTime};

fn at(text: &str) -> SystemTime {
    parse_time(text).unwrap_or_else(|| panic!("{text} is not a time"))
}

/// The error kinds of a config that must be rejected, with the messages
/// shown on failure.
fn rejected(json: &str) -> Vec<(ErrorKind, String)> {
    match FlagSet::from_json(json) {
        Ok(set) => panic!("accepted {} flags from:\n{json}", set.len()),
        Err(e) => e
            .diagnostics()
            .iter()
            .map(|d| (d.kind(), format!("{}: {}", d.path(), d.message())))
            .collect(),
    }
}

/// The warnings of a valid config.
fn warnings(json: &str) -> Vec<(ErrorKind, String)> {
    let report = CheckReport::from_json(json, &Limits::default());
    assert!(report.flags().is_some(), "rejected:\n{json}");
    report
        .diagnostics()
        .iter()
        .filter(|d| d.severity() == Severity::Warning)
        .map(|d| (d.kind(), format!("{}: {}", d.path(), d.message())))
        .collect()
}

/// The specification's plan: 10% a day after launch, 30% after two days,
/// everyone after three.
const PLAN: &str = r#"{
    "flag_key": "new_search_ui",
    "enabled": true,
    "rollout_percentage": 0,
    "targeting_rules": {"allow_list": ["email endsWith \"@internal.com\""]},
    "rollout_schedule": [
        {"at": "2026-12-02T09:00:00Z", "percentage": 10},
        {"at": "2026-12-03T10:00:00+01:00", "percentage": 30},
        {"at": "2026-12-04T09:00:00Z", "percentage": 100}
    ]
}"#;

// --- Schedules --------------------------------------------------------------

#[test]
fn a_step_applies_from_its_instant_and_not_a_nanosecond_before() {
    let set = flags(PLAN);
    let flag = set.get("new_search_ui").unwrap();
    let step = at("2026-12-02T09:00:00Z");
    assert_eq!(flag.percentage_at(step), Some((10, Some(0))));
    assert_eq!(
        flag.percentage_at(step - Duration::from_nanos(1)),
        Some((0, None))
    );
    // The second step is written with an offset: 10:00+01:00 is 09:00Z.
    assert_eq!(
        flag.percentage_at(at("2026-12-03T08:59:59.999Z")),
        Some((10, Some(0)))
    );
    assert_eq!(
        flag.percentage_at(at("2026-12-03T09:00:00Z")),
        Some((30, Some(1)))
    );
    assert_eq!(
        flag.percentage_at(at("2031-01-01T00:00:00Z")),
        Some((100, Some(2)))
    );
}

#[test]
fn before_the_first_step_the_flag_percentage_applies_or_nobody() {
    let set = flags(PLAN);
    let user = Context::for_user("user_123");
    let early = set.evaluate_at("new_search_ui", &user, at("2026-12-01T00:00:00Z"));
    assert_eq!(early.reason, Reason::OutOfRollout);
    assert_eq!((early.percentage, early.schedule_step), (Some(0), None));

    let without_base = flags(
        r#"{"flag_key": "f", "enabled": true,
            "rollout_schedule": [{"at": "2026-12-02T09:00:00Z", "percentage": 100}]}"#,
    );
    let d = without_base.evaluate_at("f", &user, at("2026-12-01T00:00:00Z"));
    assert_eq!((d.enabled, d.percentage), (false, Some(0)));
    let d = without_base.evaluate_at("f", &user, at("2026-12-02T09:00:00Z"));
    assert_eq!(
        (d.enabled, d.reason, d.schedule_step),
        (true, Reason::InRollout, Some(0))
    );
}

#[test]
fn the_decision_names_the_step_and_rules_still_come_first() {
    let set = flags(PLAN);
    let when = at("2026-12-03T12:00:00Z");
    // user_123's bucket for this flag is 45: out at 30%, in at 100%.
    let user = Context::for_user("user_123");
    let d = set.evaluate_at("new_search_ui", &user, when);
    assert_eq!(d.bucket, Some(45));
    assert_eq!(
        (d.enabled, d.percentage, d.schedule_step),
        (false, Some(30), Some(1))
    );
    let d = set.evaluate_at("new_search_ui", &user, at("2026-12-04T09:00:00Z"));
    assert_eq!(
        (d.enabled, d.percentage, d.schedule_step),
        (true, Some(100), Some(2))
    );
    let staff = Context::for_user("x").with("email", "ana@internal.com");
    let d = set.evaluate_at("new_search_ui", &staff, at("2020-01-01T00:00:00Z"));
    assert_eq!(d.reason, Reason::AllowRule(0));
    assert_eq!(d.percentage, None);
}

#[test]
fn the_kill_switch_beats_the_schedule() {
    let killed = PLAN.replace(
        "\"enabled\": true,",
        "\"enabled\": true, \"kill_switch\": true,",
    );
    let set = flags(&killed);
    let d = set.evaluate_at(
        "new_search_ui",
        &Context::for_user("user-1"),
        at("2027-01-01T00:00:00Z"),
    );
    assert_eq!(d.reason, Reason::KillSwitch);
}

#[test]
fn a_ramp_moves_linearly_between_its_times() {
    let set = flags(
        r#"{"flag_key": "ramp", "enabled": true, "rollout_schedule": [
            {"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T10:00:00Z",
             "start_percentage": 0, "end_percentage": 100},
            {"at": "2026-12-02T00:00:00Z", "percentage": 50}
        ], "allow_lints": ["decreasing-rollout"]}"#,
    );
    let flag = set.get("ramp").unwrap();
    let cases = [
        ("2026-11-30T23:59:59Z", (0, None)),
        ("2026-12-01T00:00:00Z", (0, Some(0))),
        ("2026-12-01T00:05:59Z", (0, Some(0))),
        ("2026-12-01T00:06:00Z", (1, Some(0))),
        ("2026-12-01T05:00:00Z", (50, Some(0))),
        ("2026-12-01T06:00:00+01:00", (50, Some(0))),
        ("2026-12-01T09:59:59Z", (99, Some(0))),
        ("2026-12-01T10:00:00Z", (100, Some(0))),
        ("2026-12-01T23:00:00Z", (100, Some(0))),
        ("2026-12-02T00:00:00Z", (50, Some(1))),
    ];
    for (time, (p, step)) in cases {
        assert_eq!(flag.percentage_at(at(time)), Some((p, step)), "at {time}");
    }
}

#[test]
fn explanations_name_the_step() {
    let set = flags(PLAN);
    let flag = set.get("new_search_ui").unwrap();
    let e = flag.explain_at(&Context::for_user("user_123"), at("2026-12-02T12:00:00Z"));
    assert!(
        e.to_string()
            .contains("rollout: bucket 45 >= 10% (rollout_schedule[0]) (decides: off)"),
        "{e}"
    );
}

#[test]
fn schedules_written_wrong_are_rejected_with_their_place() {
    let entry = |entries: &str| {
        format!(r#"{{"flag_key": "f", "enabled": true, "rollout_schedule": [{entries}]}}"#)
    };
    let cases = [
        (
            r#"{"at": "2026-12-03T00:00:00Z", "percentage": 10}, {"at": "2026-12-02T00:00:00Z", "percentage": 20}"#,
            ErrorKind::InvalidSchedule,
            "starts before the previous one",
        ),
        (
            r#"{"at": "2026-12-03T00:00:00Z", "percentage": 10}, {"at": "2026-12-03T01:00:00+01:00", "percentage": 20}"#,
            ErrorKind::InvalidSchedule,
            "same time",
        ),
        (
            r#"{"from": "2026-12-01T00:00:00Z", "to": "2026-12-03T00:00:00Z", "start_percentage": 0, "end_percentage": 50}, {"at": "2026-12-02T00:00:00Z", "percentage": 20}"#,
            ErrorKind::InvalidSchedule,
            "previous ramp is still running",
        ),
        (
            r#"{"at": "2026-12-01T00:00:00Z", "percentage": 10, "to": "2026-12-03T00:00:00Z"}"#,
            ErrorKind::InvalidSchedule,
            "mixes a step",
        ),
        (
            r#"{"from": "2026-12-03T00:00:00Z", "to": "2026-12-01T00:00:00Z", "start_percentage": 0, "end_percentage": 50}"#,
            ErrorKind::InvalidSchedule,
            "ends before it starts",
        ),
        (
            r#"{"at": "2026-12-01T09:00:00", "percentage": 10}"#,
            ErrorKind::InvalidDateTime,
            "not an RFC 3339 date-time with a time zone",
        ),
        (
            r#"{"at": "2026-12-01T00:00:00Z", "percentage": 101}"#,
            ErrorKind::OutOfRange,
            "from 0 to 100",
        ),
        (
            r#"{"at": "2026-12-01T00:00:00Z"}"#,
            ErrorKind::MissingField,
            "no \"percentage\"",
        ),
        (
            r#"{"at": "2026-12-01T00:00:00Z", "percent": 10}"#,
            ErrorKind::UnknownField,
            "unknown field \"percent\"",
        ),
        (r#""tomorrow""#, ErrorKind::WrongType, "an object"),
    ];
    for (entries, kind, message) in cases {
        let found = rejected(&entry(entries));
        assert!(
            found.iter().any(|(k, m)| *k == kind && m.contains(message)),
            "{entries}: wanted {kind:?} containing {message:?}, got {found:?}"
        );
        assert!(
            found
                .iter()
                .all(|(_, m)| m.starts_with("flag \"f\" > rollout_schedule")),
            "{found:?}"
        );
    }
}

#[test]
fn a_time_without_a_zone_gets_a_fix() {
    let e = FlagSet::from_json(
        r#"{"flag_key": "f", "enabled": true,
            "rollout_schedule": [{"at": "2026-12-01T09:00:00", "percentage": 10}]}"#,
    )
    .unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!(d.line_column(), Some((2, 41)));
    assert!(d
        .help()
        .unwrap()
        .contains("\"2026-12-01T09:00:00Z\" for UTC"));
}

#[test]
fn a_decreasing_step_is_a_warning_that_can_be_allowed() {
    let falling = r#"{"flag_key": "f", "enabled": true, "rollout_percentage": 40,
        "rollout_schedule": [{"at": "2026-12-01T00:00:00Z", "percentage": 20},
                             {"at": "2026-12-02T00:00:00Z", "percentage": 50},
                             {"from": "2026-12-03T00:00:00Z", "to": "2026-12-04T00:00:00Z",
                              "start_percentage": 50, "end_percentage": 10}]}"#;
    let found = warnings(falling);
    assert_eq!(
        found,
        vec![
            (
                ErrorKind::DecreasingRollout,
                "flag \"f\" > rollout_schedule[0]: this entry lowers the rollout from 40% to 20%, turning the feature off for users who had it".to_string()
            ),
            (
                ErrorKind::DecreasingRollout,
                "flag \"f\" > rollout_schedule[2]: this entry lowers the rollout from 50% to 10%, turning the feature off for users who had it".to_string()
            ),
        ]
    );
    let allowed = falling.replace(
        "\"enabled\": true,",
        "\"enabled\": true, \"allow_lints\": [\"W0009\"],",
    );
    assert!(warnings(&allowed).is_empty());
    assert!(warnings(PLAN).is_empty());
}

// --- Prerequisites ----------------------------------------------------------

const FAMILY: &str = r#"{"flags": [
    {"flag_key": "checkout_enabled", "enabled": true, "kill_switch": false},
    {"flag_key": "new_checkout", "enabled": true, "requires": ["checkout_enabled"],
     "rollout_percentage": 100},
    {"flag_key": "one_click_pay", "enabled": true, "requires": ["new_checkout"],
     "targeting_rules": {"allow_list": ["is_internal"]}}
]}"#;

#[test]
fn a_flag_is_on_only_when_its_prerequisites_are() {
    let set = flags(FAMILY);
    let staff = Context::for_user("u1").with("is_internal", true);
    // checkout_enabled has no rollout: it is off for everyone (no_rollout),
    // so everything below it is off too.
    let d = set.evaluate("new_checkout", &staff);
    assert_eq!((d.enabled, d.reason), (false, Reason::PrerequisiteOff(0)));
    let d = set.evaluate("one_click_pay", &staff);
    assert_eq!((d.enabled, d.reason), (false, Reason::PrerequisiteOff(0)));
    assert_eq!(
        set.get("one_click_pay").unwrap().prerequisites()[0].key(),
        "new_checkout"
    );

    let on = FAMILY.replace(
        r#""kill_switch": false}"#,
        r#""kill_switch": false, "rollout_percentage": 100}"#,
    );
    let set = flags(&on);
    assert_eq!(
        set.evaluate("new_checkout", &staff).reason,
        Reason::InRollout
    );
    assert_eq!(
        set.evaluate("one_click_pay", &staff).reason,
        Reason::AllowRule(0)
    );
    // Prerequisites come before the allow list: a staff member is still
    // off when the parent is.
    let killed = on.replace(r#""kill_switch": false"#, r#""kill_switch": true"#);
    let set = flags(&killed);
    for key in ["checkout_enabled", "new_checkout", "one_click_pay"] {
        let d = set.evaluate(key, &staff);
        assert!(!d.enabled, "{key}: {d:?}");
    }
    assert_eq!(
        set.evaluate("checkout_enabled", &staff).reason,
        Reason::KillSwitch
    );
    assert_eq!(
        set.evaluate("one_click_pay", &staff).reason,
        Reason::PrerequisiteOff(0)
    );
}

#[test]
fn a_prerequisite_is_evaluated_for_the_same_user() {
    // The parent admits half the users; the child admits everyone the
    // parent admits, and nobody else.
    let set = flags(
        r#"[{"flag_key": "parent", "enabled": true, "rollout_percentage": 50},
            {"flag_key": "child", "enabled": true, "rollout_percentage": 100,
             "requires": ["parent"]}]"#,
    );
    let mut both = 0;
    for i in 0..2000 {
        let id = format!("user-{i}");
        let ctx = Context::for_user(&id);
        let parent = set.evaluate("parent", &ctx).enabled;
        assert_eq!(set.evaluate("child", &ctx).enabled, parent, "{id}");
        both += usize::from(parent);
    }
    assert!((850..1150).contains(&both), "{both} of 2000");
}

#[test]
fn prerequisites_use_the_same_clock() {
    let set = flags(
        r#"[{"flag_key": "parent", "enabled": true,
             "rollout_schedule": [{"at": "2026-12-01T00:00:00Z", "percentage": 100}]},
            {"flag_key": "child", "enabled": true, "rollout_percentage": 100,
             "requires": ["parent"]}]"#,
    );
    let user = Context::for_user("u");
    let d = set.evaluate_at("child", &user, at("2026-11-30T23:59:59Z"));
    assert_eq!(d.reason, Reason::PrerequisiteOff(0));
    let d = set.evaluate_at("child", &user, at("2026-12-01T00:00:00Z"));
    assert_eq!(d.reason, Reason::InRollout);
}

#[test]
fn unknown_and_cyclic_prerequisites_are_rejected() {
    let found = rejected(
        r#"[{"flag_key": "checkout_enabled", "enabled": true},
            {"flag_key": "b", "enabled": true, "requires": ["checkout_enable"]}]"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ErrorKind::UnknownFlag);
    let e = FlagSet::from_json(
        r#"[{"flag_key": "checkout_enabled", "enabled": true},
            {"flag_key": "b", "enabled": true, "requires": ["checkout_enable"]}]"#,
    )
    .unwrap_err();
    assert_eq!(
        e.diagnostics()[0].help(),
        Some("did you mean \"checkout_enabled\"?")
    );

    let found = rejected(
        r#"[{"flag_key": "a", "enabled": true, "requires": ["b"]},
            {"flag_key": "b", "enabled": true, "requires": ["c"]},
            {"flag_key": "c", "enabled": true, "requires": ["a"]}]"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ErrorKind::Cycle);
    assert!(
        found[0].1.contains("prerequisite cycle: a -> b -> c -> a"),
        "{found:?}"
    );

    let found = rejected(r#"{"flag_key": "a", "enabled": true, "requires": ["a"]}"#);
    assert_eq!(found[0].0, ErrorKind::Cycle, "{found:?}");
    let found = rejected(r#"{"flag_key": "a", "enabled": true, "requires": "b"}"#);
    assert_eq!(found[0].0, ErrorKind::WrongType, "{found:?}");
}

#[test]
fn prerequisite_chains_are_bounded_in_depth_and_in_work() {
    // A chain of 40 flags.
    let chain: Vec<String> = (0..40)
        .map(|i| {
            let requires = if i == 0 {
                String::new()
            } else {
                format!(r#", "requires": ["f{}"]"#, i - 1)
            };
            format!(r#"{{"flag_key": "f{i}", "enabled": true{requires}}}"#)
        })
        .collect();
    let found = rejected(&format!("[{}]", chain.join(",")));
    assert!(
        found.iter().all(|(k, _)| *k == ErrorKind::TooDeep),
        "{found:?}"
    );
    assert!(found[0].1.contains("33 flags deep"), "{found:?}");
    // 32 are fine.
    let ok = chain[..33].join(",");
    assert_eq!(flags(&format!("[{ok}]")).len(), 33);

    // A ladder where each level requires both flags of the level below:
    // 2^levels evaluations without a memo.
    let mut ladder = vec![
        r#"{"flag_key": "l0a", "enabled": true}"#.to_string(),
        r#"{"flag_key": "l0b", "enabled": true}"#.to_string(),
    ];
    for level in 1..20 {
        for side in ["a", "b"] {
            ladder.push(format!(
                r#"{{"flag_key": "l{level}{side}", "enabled": true, "requires": ["l{prev}a", "l{prev}b"]}}"#,
                prev = level - 1
            ));
        }
    }
    let found = rejected(&format!("[{}]", ladder.join(",")));
    assert!(
        found
            .iter()
            .any(|(k, m)| *k == ErrorKind::TooLong && m.contains("prerequisite flags")),
        "{found:?}"
    );
}

// --- Segments ---------------------------------------------------------------

const SEGMENTS: &str = r#"{
    "segments": {
        "internal": "email endsWith \"@internal.com\" or is_internal",
        "beta_testers": {"attribute": "segment", "operator": "equals", "value": "beta"},
        "internal_beta": "@internal and @beta_testers"
    },
    "flags": [
        {"flag_key": "new_search_ui", "enabled": true,
         "targeting_rules": {"allow_list": ["@internal"], "deny_list": ["not @beta_testers"]},
         "rollout_percentage": 100},
        {"flag_key": "checkout_v2", "enabled": true,
         "targeting_rules": {"allow_list": ["@internal_beta and segment != \"legacy\""]}}
    ]
}"#;

#[test]
fn segments_are_declared_once_and_used_by_any_flag() {
    let set = flags(SEGMENTS);
    let staff = Context::for_user("u1").with("email", "ana@internal.com");
    let staff_beta = Context::for_user("u2")
        .with("is_internal", true)
        .with("segment", "beta");
    let outsider_beta = Context::for_user("u3").with("segment", "beta");
    let outsider = Context::for_user("u4").with("segment", "legacy");

    assert_eq!(
        set.evaluate("new_search_ui", &staff).reason,
        Reason::AllowRule(0)
    );
    assert_eq!(
        set.evaluate("new_search_ui", &outsider_beta).reason,
        Reason::InRollout
    );
    assert_eq!(
        set.evaluate("new_search_ui", &outsider).reason,
        Reason::DenyRule(0)
    );
    assert_eq!(
        set.evaluate("checkout_v2", &staff_beta).reason,
        Reason::AllowRule(0)
    );
    assert_eq!(
        set.evaluate("checkout_v2", &staff).reason,
        Reason::NoRollout
    );
    // The attribute `segment` and the segment `@beta_testers` are different
    // things, in the same rule.
    assert_eq!(
        set.get("checkout_v2").unwrap().allow_rules()[0].source(),
        "@internal_beta and segment != \"legacy\""
    );
}

#[test]
fn explanations_open_segments() {
    let set = flags(SEGMENTS);
    let ctx = Context::for_user("u2")
        .with("is_internal", true)
        .with("segment", "beta");
    let text = set.get("checkout_v2").unwrap().explain(&ctx).to_string();
    assert!(
        text.contains("    @internal_beta: true\n      @internal and @beta_testers: true\n        @internal: true\n"),
        "{text}"
    );
    assert!(
        text.contains("is_internal: true (is_internal = true)"),
        "{text}"
    );
}

#[test]
fn segment_references_print_and_parse_back() {
    let expr = ast::parse("@internal and not (@beta or segment == \"x\")").unwrap();
    assert_eq!(
        expr.to_string(),
        "@internal and not (@beta or segment == \"x\")"
    );
    assert_eq!(
        ast::parse(&expr.to_string()).unwrap().without_spans(),
        expr.without_spans()
    );
    // Outside a config there are no segments to refer to.
    let e = Rule::parse("@internal").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownSegment);
    assert!(e.help().unwrap().contains("\"segments\""), "{e}");
}

#[test]
fn unknown_segments_get_a_suggestion_and_a_position_in_the_file() {
    let json = r#"{"segments": {"internal": "is_internal"},
"flags": [{"flag_key": "f", "enabled": true,
  "targeting_rules": {"allow_list": ["plan == \"pro\" and @intenral"]}}]}"#;
    let e = FlagSet::from_json(json).unwrap_err();
    assert_eq!(e.diagnostics().len(), 1, "{e}");
    let d = &e.diagnostics()[0];
    assert_eq!(d.kind(), ErrorKind::UnknownSegment);
    assert_eq!(d.message(), "unknown segment `@intenral`");
    assert_eq!(d.help(), Some("did you mean `@internal`?"));
    // The escaped quotes are in the file: the column counts them.
    assert_eq!(d.line_column(), Some((3, 59)));
    assert_eq!(d.path(), "flags[0] \"f\" > targeting_rules.allow_list[0]");
}

#[test]
fn segment_cycles_and_bad_segments_are_rejected() {
    let found =
        rejected(r#"{"segments": {"a": "x or @b", "b": "@c and y", "c": "@a"}, "flags": []}"#);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ErrorKind::Cycle);
    assert!(
        found[0].1.contains("segment cycle: @a -> @b -> @c -> @a"),
        "{found:?}"
    );

    let found = rejected(r#"{"segments": {"me": "@me"}, "flags": []}"#);
    assert_eq!(found[0].0, ErrorKind::Cycle, "{found:?}");

    let found = rejected(r#"{"segments": {"beta-testers": "beta"}, "flags": []}"#);
    assert_eq!(found[0].0, ErrorKind::InvalidLiteral, "{found:?}");
    assert!(found[0].1.contains("cannot name a segment"), "{found:?}");

    // A broken segment is reported once where it is declared, and its
    // users are told why they fail.
    let found = rejected(
        r#"{"segments": {"bad": "email endswith \"x\""},
            "flags": [{"flag_key": "f", "enabled": true,
                       "targeting_rules": {"allow_list": ["@bad"]}}]}"#,
    );
    assert_eq!(
        found.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![ErrorKind::UnknownOperator, ErrorKind::UnknownSegment],
        "{found:?}"
    );
    assert!(found[0].1.starts_with("segments > bad"), "{found:?}");

    let found = rejected(r#"{"segments": ["is_internal"], "flags": []}"#);
    assert_eq!(found[0].0, ErrorKind::WrongType, "{found:?}");
}

#[test]
fn segments_are_bounded_in_depth_and_in_expanded_size() {
    // s0 = a; s_i uses s_{i-1} eight times: 8^i tests without sharing.
    let mut segments = vec![r#""s0": "a""#.to_string()];
    for i in 1..8 {
        let uses = vec![format!("@s{}", i - 1); 8].join(" or ");
        segments.push(format!(r#""s{i}": "{uses}""#));
    }
    let json = format!(r#"{{"segments": {{{}}}, "flags": []}}"#, segments.join(","));
    let found = rejected(&json);
    assert!(
        found
            .iter()
            .any(|(k, m)| *k == ErrorKind::TooLong && m.contains("at most 100000")),
        "{found:?}"
    );

    // A chain of 20 segments, each using the one before once.
    let mut chain = vec![r#""c0": "a""#.to_string()];
    for i in 1..20 {
        chain.push(format!(r#""c{i}": "@c{} and b""#, i - 1));
    }
    let json = format!(r#"{{"segments": {{{}}}, "flags": []}}"#, chain.join(","));
    let found = rejected(&json);
    assert!(
        found
            .iter()
            .any(|(k, m)| *k == ErrorKind::TooDeep && m.contains("more than 16 deep")),
        "{found:?}"
    );
    let ok = format!(
        r#"{{"segments": {{{}}}, "flags": []}}"#,
        chain[..16].join(",")
    );
    assert!(FlagSet::from_json(&ok).is_ok());
}

#[test]
fn a_segment_is_linted_where_it_is_declared() {
    let found = warnings(
        r#"{"segments": {"odd": "plan == \"pro\" and not plan == \"pro\"", "fine": "is_internal"},
            "flags": [{"flag_key": "f", "enabled": true,
                       "targeting_rules": {"allow_list": ["@odd or @fine"]}}]}"#,
    );
    assert_eq!(
        found,
        vec![(
            ErrorKind::NeverMatches,
            "segments > odd: this segment can never match: it contains both `plan == \"pro\"` and its negation".to_string()
        )]
    );
}

#[test]
fn an_unused_segment_is_a_warning() {
    let found = warnings(
        r#"{"segments": {"internal": "is_internal", "base": "plan == \"pro\"",
                         "pro_staff": "@base and @internal", "legacy": "segment == \"legacy\""},
            "flags": [{"flag_key": "f", "enabled": true,
                       "targeting_rules": {"allow_list": ["@internal"]}}]}"#,
    );
    // `base` is used by `pro_staff`, which no rule uses; `legacy` by none.
    assert_eq!(
        found,
        vec![
            (
                ErrorKind::UnusedSegment,
                "segments > pro_staff: segment `@pro_staff` is not used by any rule".to_string()
            ),
            (
                ErrorKind::UnusedSegment,
                "segments > legacy: segment `@legacy` is not used by any rule".to_string()
            ),
        ]
    );
}

/// Explanations run the flag's own compiled rules: a regex that needed a
/// larger `max_regex_size` than the default is traced with its real result
/// (the trace used to recompile each leaf with the default limits and
/// report it "not evaluated").
#[test]
fn an_explanation_traces_a_leaf_compiled_with_larger_limits() {
    let rule = "code matches '[a-z]{20000}' or plan == 'pro'";
    let too_big = Rule::parse(rule).unwrap_err();
    assert!(
        too_big.help().is_some_and(|h| h.contains("max_regex_size")),
        "the default limits reject the pattern: {too_big}"
    );
    let mut limits = Limits::default();
    limits.max_regex_size = 64 * 1024 * 1024;
    limits.max_regex_input_len = 64 * 1024;
    let json = format!(
        r#"{{"flag_key": "f", "enabled": true, "targeting_rules": {{"allow_list": ["{rule}"]}}}}"#
    );
    let set = FlagSet::from_json_with(&json, &limits).unwrap();
    let flag = set.get("f").unwrap();
    let code = "a".repeat(20_000);
    let ctx = Context::new()
        .with("user_id", "u1")
        .with("code", code.as_str())
        .with("plan", "free");
    let explanation = flag.explain(&ctx);
    assert_eq!(explanation.decision, flag.evaluate(&ctx));
    assert_eq!(explanation.decision.reason, Reason::AllowRule(0));
    let trace = explanation.steps[2].trace.as_ref().unwrap();
    assert_eq!(trace.result, Some(true));
    assert_eq!(trace.operands[0].result, Some(true), "{explanation}");
    assert_eq!(trace.operands[1].result, None, "short-circuited");

    // Without the match the second leaf runs, and both are reported.
    let ctx = Context::new()
        .with("user_id", "u1")
        .with("code", "b")
        .with("plan", "pro");
    let explanation = flag.explain(&ctx);
    let trace = explanation.steps[2].trace.as_ref().unwrap();
    let results: Vec<_> = trace.operands.iter().map(|t| t.result).collect();
    assert_eq!(results, [Some(false), Some(true)], "{explanation}");
}
