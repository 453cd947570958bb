//! YAML and TOML configs: they load like JSON, and every problem is placed
//! at its line and column in the file, through quotes, escapes and blocks.

use killswitch::{
    CheckReport, ConfigError, Context, Diagnostic, ErrorKind, FlagSet, Format, Limits, Reason,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn load(text: &str, format: Format) -> FlagSet {
    FlagSet::from_text(text, format, &Limits::default())
        .unwrap_or_else(|e| panic!("config rejected:\n{e}"))
}

fn errors(text: &str, format: Format) -> ConfigError {
    match FlagSet::from_text(text, format, &Limits::default()) {
        Ok(flags) => panic!("accepted {} flags from:\n{text}", flags.len()),
        Err(e) => e,
    }
}

/// Kind, line, column and the marked text of every diagnostic.
fn placed(text: &str, format: Format) -> Vec<(ErrorKind, usize, usize, String)> {
    errors(text, format)
        .diagnostics()
        .iter()
        .map(|d: &Diagnostic| {
            let (line, column) = d.line_column().expect("a position");
            let marked = d.span().map_or("", |s| &text[s.range()]).to_string();
            (d.kind(), line, column, marked)
        })
        .collect()
}

/// The only diagnostic's kind, position and marked text.
fn only(text: &str, format: Format) -> (ErrorKind, usize, usize, String) {
    let all = placed(text, format);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

// --- Loading ----------------------------------------------------------------

const YAML: &str = r#"
flags:
  - flag_key: new_search_ui
    enabled: true
    rollout_percentage: 20
    targeting_rules:
      allow_list: ['email endsWith "@internal.com" and not segment == "legacy"']
      deny_list:
        - attribute: segment
          operator: equals
          value: legacy
"#;

const TOML: &str = r#"
[[flags]]
flag_key = "new_search_ui"
enabled = true
rollout_percentage = 20

[flags.targeting_rules]
allow_list = ['email endsWith "@internal.com" and not segment == "legacy"']
deny_list = [{ attribute = "segment", operator = "equals", value = "legacy" }]
"#;

#[test]
fn the_spec_flag_in_every_format_decides_alike() {
    let sets = [
        load(crate::SPEC_FLAG, Format::Json),
        load(YAML, Format::Yaml),
        load(TOML, Format::Toml),
    ];
    let contexts = [
        Context::new().with("user_id", "user_123"),
        Context::new()
            .with("user_id", "ana")
            .with("email", "ana@internal.com"),
        Context::new()
            .with("user_id", "bo")
            .with("email", "bo@internal.com")
            .with("segment", "legacy"),
    ];
    let want = [
        Reason::OutOfRollout,
        Reason::AllowRule(0),
        Reason::DenyRule(0),
    ];
    for (ctx, want) in contexts.iter().zip(want) {
        for set in &sets {
            assert_eq!(set.evaluate("new_search_ui", ctx).reason, want);
        }
    }
}

#[test]
fn a_single_flag_at_the_top_level_is_a_config_too() {
    let yaml = load(
        "flag_key: a\nenabled: true\nrollout_percentage: 100\n",
        Format::Yaml,
    );
    let toml = load(
        "flag_key = 'a'\nenabled = true\nrollout_percentage = 100\n",
        Format::Toml,
    );
    let user = Context::new().with("user_id", "u");
    assert!(yaml.evaluate("a", &user).enabled);
    assert!(toml.evaluate("a", &user).enabled);
}

#[test]
fn the_examples_give_identical_decisions_in_all_three_formats() {
    let sets: Vec<FlagSet> = ["flags.json", "flags.yaml", "flags.toml"]
        .iter()
        .map(|name| FlagSet::load(example(name)).unwrap_or_else(|e| panic!("{name}:\n{e}")))
        .collect();
    let users = std::fs::read_to_string(example("users.jsonl")).unwrap();
    let mut compared = 0;
    for line in users.lines().filter(|l| !l.trim().is_empty()) {
        let ctx = Context::from_json(line).unwrap();
        for flag in sets[0].flags() {
            let json = sets[0].evaluate(flag.key(), &ctx);
            for set in &sets[1..] {
                assert_eq!(
                    set.evaluate(flag.key(), &ctx),
                    json,
                    "{} for {line}",
                    flag.key()
                );
                compared += 1;
            }
        }
    }
    assert_eq!(sets[1].len(), 4);
    assert!(compared >= 40, "{compared}");
    // The same rules, not only the same decisions.
    for set in &sets[1..] {
        for (a, b) in set.flags().iter().zip(sets[0].flags()) {
            let texts = |f: &killswitch::Flag| {
                f.allow_rules()
                    .iter()
                    .chain(f.deny_rules())
                    .map(|r| r.expr().to_string())
                    .collect::<Vec<_>>()
            };
            assert_eq!(texts(a), texts(b));
        }
    }
}

#[cfg(feature = "store")]
#[test]
fn load_and_the_store_choose_the_format_by_extension() {
    let dir = crate::TempDir::new("formats");
    let path = dir.path("flags.yml");
    std::fs::write(
        &path,
        "flag_key: a\nenabled: true\nrollout_percentage: 100\n",
    )
    .unwrap();
    let user = Context::new().with("user_id", "u");
    assert!(FlagSet::load(&path).unwrap().evaluate("a", &user).enabled);
    let store = killswitch::store::Store::builder(killswitch::store::FileSource::new(&path))
        .poll_interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    assert!(store.evaluate("a", &user).enabled);
    std::fs::write(&path, "flag_key: a\nenabled: true\nkill_switch: true\n").unwrap();
    store.reload().unwrap();
    assert_eq!(store.evaluate("a", &user).reason, Reason::KillSwitch);
    // A bad YAML change is rejected with its YAML position.
    std::fs::write(&path, "flag_key: a\nenabled: tru\n").unwrap();
    let err = store.reload().unwrap_err().to_string();
    assert!(err.contains("flags.yml:2:10"), "{err}");
}

// --- Positions --------------------------------------------------------------

#[test]
fn value_errors_are_placed_in_yaml() {
    let yaml = "flags:\n  - flag_key: 123\n    enabled: \"true\"\n    rollout_percentage: 50.5\n    bucket_by: ''\n";
    assert_eq!(
        placed(yaml, Format::Yaml),
        [
            (ErrorKind::WrongType, 2, 15, "123".into()),
            (ErrorKind::WrongType, 3, 14, "\"true\"".into()),
            (ErrorKind::OutOfRange, 4, 25, "50.5".into()),
            (ErrorKind::WrongType, 5, 16, "''".into()),
        ]
    );
}

#[test]
fn value_errors_are_placed_in_toml() {
    let toml =
        "[[flags]]\nflag_key = 123\nenabled = \"true\"\nrollout_percentage = 101\nrollout = 5\n";
    assert_eq!(
        placed(toml, Format::Toml),
        [
            (ErrorKind::WrongType, 2, 12, "123".into()),
            (ErrorKind::WrongType, 3, 11, "\"true\"".into()),
            (ErrorKind::OutOfRange, 4, 22, "101".into()),
            (ErrorKind::UnknownField, 5, 1, "rollout".into()),
        ]
    );
}

#[test]
fn yes_is_a_string_in_yaml_and_quoted_numbers_are_strings() {
    let d = only("flag_key: a\nenabled: yes\n", Format::Yaml);
    assert_eq!(d, (ErrorKind::WrongType, 2, 10, "yes".into()));
    let d = only(
        "flag_key: a\nenabled: true\nrollout_percentage: '5'\n",
        Format::Yaml,
    );
    assert_eq!(d, (ErrorKind::WrongType, 3, 21, "'5'".into()));
    let flags = load("flag_key: '123'\nenabled: true\n", Format::Yaml);
    assert!(flags.get("123").is_some());
}

#[test]
fn duplicate_keys_are_errors_in_both_formats() {
    let e = errors("flag_key: a\nenabled: true\nenabled: false\n", Format::Yaml);
    assert_eq!(e.diagnostics().len(), 1, "{e}");
    let d = &e.diagnostics()[0];
    assert_eq!(d.kind(), ErrorKind::DuplicateKey);
    assert_eq!(d.line_column(), Some((3, 1)));
    assert_eq!(
        d.help(),
        Some("the first \"enabled\" is at 2:1; remove one of them")
    );

    let d = only(
        "flag_key = 'a'\nenabled = true\nenabled = false\n",
        Format::Toml,
    );
    assert_eq!(d, (ErrorKind::DuplicateKey, 3, 1, "enabled".into()));
    let d = only(
        "[[flags]]\nflag_key = 'a'\nenabled = true\n[[flags]]\nflag_key = 'a'\nenabled = true\n",
        Format::Toml,
    );
    assert_eq!(d, (ErrorKind::DuplicateFlag, 5, 12, "'a'".into()));
}

#[test]
fn syntax_errors_have_line_and_column() {
    let (kind, line, column, _) = only("flags:\n  - flag_key: a\n   enabled: true\n", Format::Yaml);
    assert_eq!((kind, line), (ErrorKind::InvalidJson, 3));
    assert!(column > 1);
    let (kind, line, column, marked) = only("flag_key = 'a'\nenabled = tru\n", Format::Toml);
    assert_eq!((kind, line, column), (ErrorKind::InvalidJson, 2, 11));
    assert!(marked.starts_with('t'), "{marked}");
    let e = errors("flag_key: \"a\n", Format::Yaml);
    assert!(e.to_string().contains("invalid YAML"), "{e}");
}

#[test]
fn yaml_rejects_aliases_tags_and_second_documents_where_they_are() {
    let alias = "base: &b {enabled: true}\nflag_key: a\nenabled: *b\n";
    let d = only(alias, Format::Yaml);
    assert_eq!(
        (d.0, d.1, d.2, d.3.as_str()),
        (ErrorKind::InvalidJson, 3, 10, "*b")
    );
    let d = only("flag_key: !!str 12\nenabled: true\n", Format::Yaml);
    assert_eq!((d.0, d.1, d.2), (ErrorKind::InvalidJson, 1, 11));
    let d = only(
        "flag_key: a\nenabled: true\n---\nflag_key: b\n",
        Format::Yaml,
    );
    assert_eq!((d.0, d.1, d.2), (ErrorKind::InvalidJson, 3, 1));
    let d = only("flag_key: a\nenabled: true\n? [x]\n: 1\n", Format::Yaml);
    assert_eq!((d.0, d.1, d.2), (ErrorKind::WrongType, 3, 3));
}

#[test]
fn toml_datetimes_are_strings_and_there_is_no_null() {
    // A date-time where a rule is expected is a string, so it reaches the
    // rule compiler (and fails there as rule text would).
    let d = only(
        "flag_key = 'a'\nenabled = true\ntargeting_rules.allow_list = [2025-03-01T09:00:00Z]\n",
        Format::Toml,
    );
    assert_eq!((d.0, d.1, d.2), (ErrorKind::Syntax, 3, 31));
    let d = only("flag_key = 'a'\nenabled = null\n", Format::Toml);
    assert_eq!((d.0, d.1), (ErrorKind::InvalidJson, 2));
}

// --- Rule text mapped through each string style ------------------------------

/// Where the unknown operator `endswith` is reported in `text`.
fn endswith_at(text: &str, format: Format) -> (usize, usize) {
    let all = placed(text, format);
    let d = all
        .iter()
        .find(|d| d.0 == ErrorKind::UnknownOperator)
        .unwrap_or_else(|| panic!("no unknown operator in {all:?}"));
    assert_eq!(d.3, "endswith", "{all:?}");
    (d.1, d.2)
}

#[test]
fn rule_errors_are_placed_through_every_yaml_string_style() {
    let flag = "flag_key: f\nenabled: true\ntargeting_rules:\n  allow_list:\n";
    let cases = [
        ("    - email endswith 'x'\n", (5, 13)),
        (
            "    - \"a == \\\"q\\u00e9\\\" and b endswith 'x'\"\n",
            (5, 31),
        ),
        ("    - 'a == ''ü'' and b endswith \"x\"'\n", (5, 25)),
        (
            "    - |\n        a == 1\n          and b endswith 'x'\n",
            (7, 17),
        ),
        (
            "    - >-\n        a == 1 and\n        b endswith 'x'\n",
            (7, 11),
        ),
        ("    - a == 1 and\n      b endswith 'x'\n", (6, 9)),
        ("    - \"a == 1 and \\\n      b endswith 'x'\"\n", (6, 9)),
        ("    - [email endswith 'x']\n", (5, 14)),
        (
            "    - {attribute: email, operator: endswith, value: x}\n",
            (5, 36),
        ),
    ];
    for (rule, want) in cases {
        let text = format!("{flag}{rule}");
        if rule.contains("- [") || rule.contains("- {") {
            // A list is not a rule; a structured rule names the operator.
            let all = placed(&text, Format::Yaml);
            let d = &all[0];
            let at = if rule.contains("- {") {
                (5, 36)
            } else {
                (5, 7)
            };
            assert_eq!((d.1, d.2), at, "{rule:?}: {all:?}");
            continue;
        }
        assert_eq!(endswith_at(&text, Format::Yaml), want, "{rule:?}");
    }
}

#[test]
fn rule_errors_are_placed_through_every_toml_string_style() {
    let flag = "flag_key = 'f'\nenabled = true\n[targeting_rules]\nallow_list = [\n";
    let cases = [
        ("  \"a == \\\"q\\u00e9\\\" and b endswith 'x'\",\n", (5, 27)),
        ("  'a == \"ü\" and b endswith \"x\"',\n", (5, 19)),
        (
            "  \"\"\"\na == 1 and \\\n     b endswith 'x'\"\"\",\n",
            (7, 8),
        ),
        ("  '''\na == 1\n  and b endswith 'x' ''',\n", (7, 9)),
        (
            "  { attribute = 'email', operator = 'endswith', value = 'x' },\n",
            (5, 37),
        ),
    ];
    for (rule, want) in cases {
        let text = format!("{flag}{rule}]\n");
        if rule.contains('{') {
            let d = only(&text, Format::Toml);
            assert_eq!((d.1, d.2), want, "{rule:?}");
            continue;
        }
        assert_eq!(endswith_at(&text, Format::Toml), want, "{rule:?}");
    }
}

#[test]
fn columns_count_characters_after_non_ascii_text() {
    let yaml = "# çà et là\nflag_key: ünïcödé\nenabled: true\ntargeting_rules: {allow_list: [\"ÿ endswith 'é'\"]}\n";
    assert_eq!(endswith_at(yaml, Format::Yaml), (4, 35));
    let toml = "# çà\nflag_key = 'ünï'\nenabled = true\ntargeting_rules.allow_list = [\"ÿ endswith 'é'\"]\n";
    assert_eq!(endswith_at(toml, Format::Toml), (4, 34));
}

#[test]
fn check_reports_cover_every_format() {
    let report = CheckReport::from_text(
        "flag_key = 'f'\nenabled = true\ntargeting_rules.allow_list = ['beta', 'beta']\n",
        Format::Toml,
        &Limits::default(),
        None,
    );
    assert!(report.flags().is_some());
    let d = &report.diagnostics()[0];
    assert_eq!(d.kind(), ErrorKind::DuplicateRule);
    assert_eq!(d.line_column(), Some((3, 39)));
}

// --- Hostile input ----------------------------------------------------------

/// Runs the load on a small stack; the harness fails the test if it does
/// not end within a generous bound (a hang or a quadratic blow-up, not a
/// benchmark: no timed assertion).
fn fails_fast(name: &str, text: String, format: Format, want: ErrorKind) {
    let kinds = crate::on_stack_within(256 * 1024, Duration::from_secs(120), move || {
        let e = FlagSet::from_text(&text, format, &Limits::default()).unwrap_err();
        e.diagnostics()
            .iter()
            .map(Diagnostic::kind)
            .collect::<Vec<_>>()
    });
    assert!(kinds.contains(&want), "{name}: {kinds:?}");
}

#[test]
fn hostile_yaml_ends_fast_with_an_error() {
    let n = 100_000;
    fails_fast("flow", "[".repeat(n), Format::Yaml, ErrorKind::TooDeep);
    fails_fast(
        "flow mappings",
        "{a: ".repeat(n),
        Format::Yaml,
        ErrorKind::TooDeep,
    );
    fails_fast(
        "sequences",
        "- ".repeat(n),
        Format::Yaml,
        ErrorKind::TooDeep,
    );
    let mut block = String::new();
    for i in 0..2_000 {
        block.push_str(&" ".repeat(i));
        block.push_str("a:\n");
    }
    fails_fast("block", block, Format::Yaml, ErrorKind::TooDeep);
    // The billion laughs: nine levels of ten aliases each.
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i", "j"])
    {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    fails_fast("alias bomb", bomb, Format::Yaml, ErrorKind::InvalidJson);
    // Thousands of unknown fields: a capped list of errors.
    let many = (0..20_000)
        .map(|i| format!("k{i}: {i}\n"))
        .collect::<String>();
    fails_fast(
        "many keys",
        format!("flag_key: a\nenabled: true\n{many}"),
        Format::Yaml,
        ErrorKind::TooManyDiagnostics,
    );
    // Megabytes of one list, broken at the very end.
    fails_fast(
        "huge",
        format!(
            "flag_key: a\nenabled: true\nallow_lints: [{}",
            "x, ".repeat(2_000_000)
        ),
        Format::Yaml,
        ErrorKind::InvalidJson,
    );
}

#[test]
fn hostile_toml_ends_fast_with_an_error() {
    let n = 100_000;
    fails_fast(
        "arrays",
        format!("a = {}", "[".repeat(n)),
        Format::Toml,
        ErrorKind::InvalidJson,
    );
    fails_fast(
        "inline tables",
        format!("a = {}", "{b = ".repeat(n)),
        Format::Toml,
        ErrorKind::InvalidJson,
    );
    let dotted = format!("{} = 1\n", vec!["a"; n].join("."));
    fails_fast("dotted keys", dotted, Format::Toml, ErrorKind::InvalidJson);
    let header = format!("[{}]\n", vec!["a"; 70].join("."));
    fails_fast("table header", header, Format::Toml, ErrorKind::TooDeep);
    let many = (0..20_000)
        .map(|i| format!("k{i} = {i}\n"))
        .collect::<String>();
    fails_fast(
        "many keys",
        format!("flag_key = 'a'\nenabled = true\n{many}"),
        Format::Toml,
        ErrorKind::TooManyDiagnostics,
    );
    fails_fast(
        "huge",
        format!(
            "flag_key = 'a'\nenabled = true\nallow_lints = [{}",
            "'x', ".repeat(1_000_000)
        ),
        Format::Toml,
        ErrorKind::InvalidJson,
    );
}

#[test]
fn rollout_plans_read_alike_in_yaml_and_toml() {
    let yaml = r#"
segments:
  internal: email endsWith "@internal.com" or is_internal
flags:
  - flag_key: checkout_enabled
    enabled: true
    rollout_percentage: 100
  - flag_key: new_checkout
    enabled: true
    requires: [checkout_enabled]
    targeting_rules:
      allow_list: ["@internal"]
    rollout_schedule:
      - {at: "2026-12-02T09:00:00Z", percentage: 10}
      - {from: "2026-12-03T09:00:00Z", to: "2026-12-04T09:00:00Z", start_percentage: 30, end_percentage: 100}
"#;
    // TOML date-times are read as RFC 3339 strings, so they may be bare.
    let toml = r#"
[segments]
internal = 'email endsWith "@internal.com" or is_internal'

[[flags]]
flag_key = "checkout_enabled"
enabled = true
rollout_percentage = 100

[[flags]]
flag_key = "new_checkout"
enabled = true
requires = ["checkout_enabled"]
targeting_rules.allow_list = ["@internal"]
rollout_schedule = [
  { at = 2026-12-02T09:00:00Z, percentage = 10 },
  { from = 2026-12-03T10:00:00+01:00, to = 2026-12-04T09:00:00Z, start_percentage = 30, end_percentage = 100 },
]
"#;
    let (y, t) = (load(yaml, Format::Yaml), load(toml, Format::Toml));
    let staff = Context::for_user("u").with("is_internal", true);
    for set in [&y, &t] {
        assert_eq!(
            set.evaluate("new_checkout", &staff).reason,
            Reason::AllowRule(0)
        );
    }
    for time in [
        "2026-12-01T00:00:00Z",
        "2026-12-02T09:00:00Z",
        "2026-12-03T21:00:00Z",
        "2026-12-05T00:00:00Z",
    ] {
        let now = killswitch::parse_time(time).unwrap();
        for i in 0..200 {
            let id = format!("user-{i}");
            let ctx = Context::for_user(&id);
            assert_eq!(
                y.evaluate_at("new_checkout", &ctx, now),
                t.evaluate_at("new_checkout", &ctx, now),
                "{id} at {time}"
            );
        }
    }
    let mid = killswitch::parse_time("2026-12-03T21:00:00Z").unwrap();
    assert_eq!(
        t.get("new_checkout").unwrap().percentage_at(mid),
        Some((65, Some(1)))
    );

    // A misspelt segment in YAML is placed on the reference itself.
    let typo = yaml.replace("[\"@internal\"]", "[\"@intenral\"]");
    let (kind, line, column, marked) = only(&typo, Format::Yaml);
    assert_eq!(kind, ErrorKind::UnknownSegment);
    assert_eq!((line, column, marked.as_str()), (12, 21, "@intenral"));
}
