//! Hostile input: each case runs on a thread with a small stack and must end
//! with an error or a correct answer, never a panic or a crash.

use crate::on_stack;
use killswitch::{Context, ErrorKind, FlagSet, Limits, Rule};

/// The stack for inputs that the guards reject before any recursion, or
/// that never nest.
const SMALL_STACK: usize = 256 * 1024;

/// The stack for inputs that nest right up to a limit. Release builds need
/// well under 256 KiB; unoptimised builds use far bigger frames (pest's
/// recursion through `group`, about 20 KiB a level, and the config's JSON
/// reader, about 6 KiB a level), so they get more room.
const DEEP_STACK: usize = if cfg!(debug_assertions) {
    1024 * 1024
} else {
    256 * 1024
};

fn roomy() -> Limits {
    let mut limits = Limits::default();
    limits.max_rule_len = 16 * 1024 * 1024;
    limits
}

#[test]
fn a_hundred_thousand_nested_parentheses_are_too_deep() {
    let kind = on_stack(SMALL_STACK, || {
        let text = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        Rule::parse(&text)
            .map(|_| ())
            .map_err(|e| (e.kind(), e.span()))
    });
    assert_eq!(
        kind,
        Err((ErrorKind::TooDeep, Some(killswitch::Span::new(32, 33))))
    );
    // Even with the length limit raised, nesting is bounded.
    let kind = on_stack(SMALL_STACK, || {
        let text = format!("{}a == 1{}", "(".repeat(100_000), ")".repeat(100_000));
        Rule::parse_with(&text, &roomy())
            .map(|_| ())
            .map_err(|e| e.kind())
    });
    assert_eq!(kind, Err(ErrorKind::TooDeep));
    let kind = on_stack(SMALL_STACK, || {
        // Unbalanced: only openers, and list brackets.
        let text = format!("a in {}", "[".repeat(100_000));
        Rule::parse(&text).map(|_| ()).map_err(|e| e.kind())
    });
    assert_eq!(kind, Err(ErrorKind::TooDeep));
}

#[test]
fn the_deepest_accepted_rule_parses_compiles_and_evaluates() {
    let depth = Limits::default().max_nesting_depth;
    let answers = on_stack(DEEP_STACK, move || {
        // Every level adds an `and`, a `not` and a group.
        let text = format!("{}a{}", "(x and not ".repeat(depth), ")".repeat(depth));
        let rule = Rule::parse(&text).map_err(|e| e.to_string())?;
        let printed = rule.expr().to_string();
        let again = killswitch::ast::parse(&printed).map_err(|e| e.to_string())?;
        assert_eq!(again.without_spans(), rule.expr().without_spans());
        let all = Context::new().with("x", true).with("a", true);
        let no_a = Context::new().with("x", true);
        Ok::<_, String>((rule.matches(&all), rule.matches(&no_a)))
    });
    // (x and not (x and not (... a))): with x true, 32 `not`s cancel out.
    assert_eq!(answers, Ok((true, false)));
    let one_more = on_stack(DEEP_STACK, move || {
        let text = format!("{}a{}", "(".repeat(depth + 1), ")".repeat(depth + 1));
        Rule::parse(&text).map(|_| ()).map_err(|e| e.kind())
    });
    assert_eq!(one_more, Err(ErrorKind::TooDeep));
}

#[test]
fn a_hundred_thousand_nots_are_too_long_by_default_and_correct_when_allowed() {
    let kind = on_stack(SMALL_STACK, || {
        Rule::parse(&format!("{}a", "not ".repeat(100_000)))
            .map(|_| ())
            .map_err(|e| e.kind())
    });
    assert_eq!(kind, Err(ErrorKind::TooLong));

    for count in [100_000, 100_001] {
        let answers = on_stack(SMALL_STACK, move || {
            let text = format!("{}a", "not ".repeat(count));
            let rule = Rule::parse_with(&text, &roomy()).map_err(|e| e.to_string())?;
            let on = Context::new().with("a", true);
            let off = Context::new().with("a", false);
            Ok::<_, String>((
                rule.matches(&on),
                rule.matches(&off),
                rule.matches(&Context::new()),
            ))
        });
        let even = count % 2 == 0;
        // Even: `a`. Odd: `not a` (true for false and for missing).
        assert_eq!(answers, Ok((even, !even, !even)), "{count} nots");
    }
}

#[test]
fn a_five_megabyte_rule_is_too_long() {
    let outcome = on_stack(SMALL_STACK, || {
        let text = format!("a == \"{}\"", "x".repeat(5 * 1024 * 1024));
        Rule::parse(&text)
            .map(|_| ())
            .map_err(|e| (e.kind(), e.to_string().len()))
    });
    let Err((kind, shown)) = outcome else {
        panic!("a 5 MB rule was accepted");
    };
    assert_eq!(kind, ErrorKind::TooLong);
    // The rendered error shows an excerpt, not 5 MB.
    assert!(shown < 1_000, "{shown} bytes of error text");

    let outcome = on_stack(SMALL_STACK, || {
        let json = format!(
            r#"{{"flag_key": "x", "enabled": true, "targeting_rules": {{"allow_list": ["a == \"{}\""]}}}}"#,
            "x".repeat(5 * 1024 * 1024)
        );
        FlagSet::from_json(&json).map(|_| ()).map_err(|e| {
            (
                e.diagnostics().iter().map(|d| d.kind()).collect::<Vec<_>>(),
                e.to_string().len(),
            )
        })
    });
    let Err((kinds, shown)) = outcome else {
        panic!("a 5 MB rule was accepted from a config");
    };
    assert_eq!(kinds, [ErrorKind::TooLong]);
    assert!(shown < 1_000, "{shown} bytes of error text");
}

#[test]
fn a_hundred_thousand_term_or_chain_parses_and_answers_correctly() {
    let answers = on_stack(SMALL_STACK, || {
        let terms: Vec<String> = (1..=100_000).map(|i| format!("a == {i}")).collect();
        let text = terms.join(" or ");
        assert!(
            text.len() > Limits::default().max_rule_len,
            "the default limit applies"
        );
        let rule = Rule::parse_with(&text, &roomy()).map_err(|e| e.to_string())?;
        let at = |n: i64| rule.matches(&Context::new().with("a", n));
        Ok::<_, String>([at(1), at(50_000), at(100_000), at(0), at(100_001)])
    });
    assert_eq!(answers, Ok([true, true, true, false, false]));
}

#[test]
fn a_long_and_chain_with_a_late_false_term_answers_correctly() {
    let answers = on_stack(SMALL_STACK, || {
        let terms: Vec<String> = (0..50_000).map(|i| format!("a != {i}")).collect();
        let rule = Rule::parse_with(&terms.join(" and "), &roomy()).map_err(|e| e.to_string())?;
        let at = |n: i64| rule.matches(&Context::new().with("a", n));
        Ok::<_, String>([at(-1), at(49_999), at(50_000)])
    });
    assert_eq!(answers, Ok([true, false, true]));
}

#[test]
fn a_huge_regex_is_rejected() {
    let outcome = on_stack(SMALL_STACK, || {
        Rule::parse(r#"a matches "a{1000}{1000}""#)
            .map(|_| ())
            .map_err(|e| (e.kind(), e.help().map(str::to_string)))
    });
    let Err((kind, help)) = outcome else {
        panic!("a{{1000}}{{1000}} was accepted");
    };
    assert_eq!(kind, ErrorKind::InvalidRegex);
    assert!(help.is_some_and(|h| h.contains("max_regex_size")));
}

#[test]
fn a_hundred_thousand_nested_json_arrays_in_a_config_are_too_deep() {
    for text in [
        "[".repeat(100_000),
        "{\"flags\": ".repeat(100_000),
        "[{\"a\": ".repeat(50_000),
    ] {
        let kinds = on_stack(DEEP_STACK, move || {
            FlagSet::from_json(&text)
                .map(|_| ())
                .map_err(|e| e.diagnostics().iter().map(|d| d.kind()).collect::<Vec<_>>())
        });
        assert_eq!(kinds, Err(vec![ErrorKind::TooDeep]));
    }
}

#[test]
fn deeply_nested_json_contexts_are_errors() {
    for text in [
        format!("{{\"a\": {}", "[".repeat(100_000)),
        format!("{{\"a\": {}", "{\"b\": ".repeat(100_000)),
        format!("{{\"a\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000)),
    ] {
        let outcome = on_stack(SMALL_STACK, move || {
            Context::from_json(&text).map(|_| ()).map_err(|e| e.kind())
        });
        assert_eq!(outcome, Err(ErrorKind::InvalidJson));
    }
    // Moderate nesting is fine, and reachable by paths.
    let ok = on_stack(SMALL_STACK, || {
        let json = format!("{{\"a\": {}1{}}}", "{\"a\": ".repeat(50), "}".repeat(50));
        let ctx = Context::from_json(&json).map_err(|e| e.to_string())?;
        let path = vec!["a"; 51].join(".");
        let rule = Rule::parse(&format!("{path} == 1")).map_err(|e| e.to_string())?;
        Ok::<_, String>(rule.matches(&ctx))
    });
    assert_eq!(ok, Ok(true));
}

#[test]
fn odd_bytes_and_control_characters_do_not_panic() {
    let inputs = [
        "\u{0}",
        "a == \"\u{0}\"",
        "\u{feff}a",
        "a\u{200b} == 1",
        "é",
        "`",
        "'",
        "a == '\\",
        "a == \"\\u{d800}\"",
        "a == \"\\ud800\"",
        "a.b.",
        ".a",
        "a..b == 1",
        "a == --1",
        "a == 1.",
        "a in [,]",
        "a in [1,,2]",
        "not (",
        "))((",
        "a matches \"\\\"",
        "🦀 == 1",
    ];
    let results = on_stack(SMALL_STACK, move || {
        inputs
            .iter()
            .map(|text| match Rule::parse(text) {
                Ok(rule) => {
                    let _ = rule.matches(&Context::new().with("a", 1));
                    None
                }
                Err(e) => Some(e.to_string()),
            })
            .collect::<Vec<_>>()
    });
    // Whatever is rejected renders a non-empty message.
    for (text, shown) in inputs.iter().zip(results) {
        if let Some(shown) = shown {
            assert!(!shown.is_empty(), "{text:?}");
        }
    }
}

#[test]
fn a_config_with_thousands_of_problems_reports_a_bounded_number_quickly() {
    // 20,000 unknown fields, then 20,000 duplicate keys: linear work, and at
    // most 500 diagnostics plus one that counts the rest.
    let unknown: Vec<String> = (0..20_000).map(|i| format!("\"k{i}\": 1")).collect();
    let text = format!(
        r#"{{"flag_key": "x", "enabled": true, {}}}"#,
        unknown.join(", ")
    );
    let report = killswitch::CheckReport::from_json(&text, &killswitch::Limits::default());
    assert!(report.flags().is_none());
    assert_eq!(report.diagnostics().len(), 501);
    let last = report.diagnostics().last().unwrap();
    assert_eq!(last.kind(), killswitch::ErrorKind::TooManyDiagnostics);
    assert!(
        last.message().starts_with("19500 more problems not shown"),
        "{}",
        last.message()
    );

    let dups = vec!["\"k\": 1"; 20_000].join(", ");
    let text = format!(r#"{{"flag_key": "x", "enabled": true, {dups}}}"#);
    let report = killswitch::CheckReport::from_json(&text, &killswitch::Limits::default());
    assert!(report.flags().is_none());
    assert_eq!(report.diagnostics().len(), 501);
}

/// Runs `f` on a thread with a small stack, failing the test (instead of
/// hanging the run) when it has not returned within 10 seconds.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bounded".into())
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn a thread");
    match rx.recv_timeout(std::time::Duration::from_secs(10)) {
        Ok(value) => value,
        Err(_) => panic!("{what} did not return within 10 s"),
    }
}

/// Loads `path` within `limits` on a bounded thread; the error's message.
fn load_error(path: &std::path::Path, limits: Limits) -> String {
    let path = path.to_path_buf();
    bounded("FlagSet::load_with", move || {
        match FlagSet::load_with(&path, &limits) {
            Ok(_) => "loaded".to_string(),
            Err(e) => {
                assert!(e.is_io(), "{e}");
                assert_eq!(e.diagnostics().len(), 1, "{e}");
                e.diagnostics()[0].message().to_string()
            }
        }
    })
}

#[test]
fn a_config_file_over_max_config_bytes_is_refused_with_its_size() {
    let dir = crate::TempDir::new("big");
    let path = dir.path("flags.json");
    // Valid JSON, just long.
    let text = format!(
        r#"{{"flag_key": "a", "enabled": true}}{}"#,
        " ".repeat(2000)
    );
    std::fs::write(&path, &text).expect("write the config");
    let mut limits = Limits::default();
    limits.max_config_bytes = 1000;
    let message = load_error(&path, limits.clone());
    let name = path.display();
    assert_eq!(
        message,
        format!(
            "cannot read `{name}`: it is {} bytes, over the limit of 1000 \
             (Limits::max_config_bytes)",
            text.len()
        )
    );
    limits.max_config_bytes = text.len();
    assert_eq!(load_error(&path, limits), "loaded");
}

#[cfg(unix)]
#[test]
fn dev_zero_a_fifo_and_a_directory_are_refused_as_config_files() {
    let dir = crate::TempDir::new("special");
    let zero = dir.path("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink /dev/zero");
    let fifo = dir.path("fifo.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let cases = [
        (zero, "a character device"),
        (fifo, "a FIFO (named pipe)"),
        (dir.path(""), "a directory"),
    ];
    for (path, kind) in cases {
        assert_eq!(
            load_error(&path, Limits::default()),
            format!(
                "cannot read `{}`: it is {kind}, not a regular file",
                path.display()
            )
        );
    }
}
