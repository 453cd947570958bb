//! Rule errors: kind, span, help and the rendered text.

use killswitch::{ErrorKind, Limits, Rule, Span};

fn err(text: &str) -> killswitch::Error {
    match Rule::parse(text) {
        Ok(_) => panic!("{text:?} was accepted"),
        Err(e) => e,
    }
}

/// The kind, the spanned text and the help of the error for `text`.
fn parts(text: &str) -> (ErrorKind, String, Option<String>) {
    let e = err(text);
    let span = e
        .span()
        .unwrap_or_else(|| panic!("{text:?}: no span in {e:?}"));
    let marked = text
        .get(span.range())
        .unwrap_or_else(|| panic!("{span} out of {text:?}"));
    (e.kind(), marked.to_string(), e.help().map(str::to_string))
}

#[test]
fn an_unknown_operator_suggests_the_closest_one() {
    let text = r#"email endswith "@internal.com""#;
    let e = err(text);
    assert_eq!(e.kind(), ErrorKind::UnknownOperator);
    assert_eq!(e.span(), Some(Span::new(6, 14)));
    assert_eq!(e.message(), "unknown operator `endswith`");
    assert_eq!(e.help(), Some("did you mean `endsWith`?"));
    assert_eq!(
        e.to_string(),
        [
            "unknown operator `endswith` at 1:7",
            "  |",
            r#"1 | email endswith "@internal.com""#,
            "  |       ^^^^^^^^",
            "  = help: did you mean `endsWith`?",
        ]
        .join("\n")
    );
    for (typo, want) in [
        ("a === 1", "did you mean `==`?"),
        ("a = 1", "did you mean `==`?"),
        ("a <> 1", "did you mean `!=`?"),
        ("a =~ \"x\"", "did you mean `matches`?"),
        ("a starts_with \"x\"", "did you mean `startsWith`?"),
        (
            "a semverLessThan \"1.0.0\"",
            "did you mean `semVerLessThan`?",
        ),
    ] {
        let (kind, _, help) = parts(typo);
        assert_eq!(kind, ErrorKind::UnknownOperator, "{typo}");
        assert_eq!(help.as_deref(), Some(want), "{typo}");
    }
    let (_, _, help) = parts(r#"a notContains "x""#);
    assert!(help.is_some_and(|h| h.contains("not (attr contains")));
}

#[test]
fn ordering_a_string_is_a_type_mismatch() {
    let text = r#"age < "18""#;
    let e = err(text);
    assert_eq!(e.kind(), ErrorKind::TypeMismatch);
    assert_eq!(e.span(), Some(Span::new(6, 10)));
    assert_eq!(
        e.help(),
        Some("to compare with the number, drop the quotes: 18")
    );
    assert_eq!(
        e.to_string(),
        [
            "`<` compares numbers, but this is a string at 1:7",
            "  |",
            r#"1 | age < "18""#,
            "  |       ^^^^",
            "  = help: to compare with the number, drop the quotes: 18",
        ]
        .join("\n")
    );
    // Hints for the likely intent.
    let (kind, marked, help) = parts(r#"version >= "2.1.0""#);
    assert_eq!(
        (kind, marked.as_str()),
        (ErrorKind::TypeMismatch, r#""2.1.0""#)
    );
    assert!(help.is_some_and(|h| h.contains("semVerGreaterThanOrEqual")));
    let (_, _, help) = parts(r#"t < "2024-01-01T00:00:00Z""#);
    assert!(help.is_some_and(|h| h.contains("`before`")));
    let (kind, marked, _) = parts("name startsWith 1");
    assert_eq!((kind, marked.as_str()), (ErrorKind::TypeMismatch, "1"));
    let (kind, _, _) = parts("n > true");
    assert_eq!(kind, ErrorKind::TypeMismatch);
}

#[test]
fn an_unquoted_value_gets_a_hint_to_quote_it() {
    let text = "email == bob";
    let e = err(text);
    assert_eq!(e.kind(), ErrorKind::TypeMismatch);
    assert_eq!(e.span(), Some(Span::new(9, 12)));
    assert_eq!(
        e.help(),
        Some(r#"to compare with the text, quote it: "bob""#)
    );
    assert_eq!(
        e.to_string(),
        [
            "`bob` is not a value: rules compare attributes with literals at 1:10",
            "  |",
            "1 | email == bob",
            "  |          ^^^",
            r#"  = help: to compare with the text, quote it: "bob""#,
        ]
        .join("\n")
    );
}

#[test]
fn a_bad_regex_is_rejected_at_compile_time() {
    let text = r#"email matches "(unclosed""#;
    let (kind, marked, help) = parts(text);
    assert_eq!(kind, ErrorKind::InvalidRegex);
    assert_eq!(marked, r#""(unclosed""#);
    assert!(help.is_some_and(|h| h.contains("regex")));
    assert!(
        err(text).message().contains("unclosed group"),
        "{}",
        err(text).message()
    );
    let (kind, marked, _) = parts(r#"a == 1 or b matchesIgnoreCase ["ok", "x{2,1}"]"#);
    assert_eq!(
        (kind, marked.as_str()),
        (ErrorKind::InvalidRegex, r#""x{2,1}""#)
    );
}

#[test]
fn a_bad_date_time_is_rejected_at_compile_time() {
    let (kind, marked, help) = parts(r#"t before "2024-13-01T00:00:00Z""#);
    assert_eq!(kind, ErrorKind::InvalidDateTime);
    assert_eq!(marked, r#""2024-13-01T00:00:00Z""#);
    assert!(help.is_some());
    let (kind, marked, help) = parts(r#"t after "2024-01-01""#);
    assert_eq!(
        (kind, marked.as_str()),
        (ErrorKind::InvalidDateTime, r#""2024-01-01""#)
    );
    assert_eq!(
        help.as_deref(),
        Some(r#"add a time and an offset: "2024-01-01T00:00:00Z""#)
    );
    for bad in [
        r#"t before "2023-02-29T00:00:00Z""#,
        r#"t before "2024-01-01T00:00:00""#,
        r#"t before "2024-01-01T00:00:00+0200""#,
        "t before true",
    ] {
        assert_eq!(parts(bad).0, ErrorKind::InvalidDateTime, "{bad}");
    }
}

#[test]
fn bad_versions_are_rejected_at_compile_time() {
    let text = r#"v semVerEqual "v2.0.0""#;
    let e = err(text);
    assert_eq!(e.kind(), ErrorKind::InvalidVersion);
    assert_eq!(&text[e.span().expect("span").range()], r#""v2.0.0""#);
    assert_eq!(
        e.to_string(),
        [
            r#""v2.0.0" is not a semantic version at 1:15"#,
            "  |",
            r#"1 | v semVerEqual "v2.0.0""#,
            "  |               ^^^^^^^^",
            r#"  = help: drop the leading `v`: "2.0.0""#,
        ]
        .join("\n")
    );
    for bad in ["1.2.3.4", "01.2.3", "1.2.3-", "latest", ""] {
        let text = format!(r#"v semVerGreaterThan "{bad}""#);
        assert_eq!(parts(&text).0, ErrorKind::InvalidVersion, "{text}");
    }
    assert_eq!(parts("v semVerEqual 2").0, ErrorKind::TypeMismatch);
}

#[test]
fn unclosed_strings_and_brackets_are_syntax_errors() {
    let e = err(r#"email == "abc"#);
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.span(), Some(Span::new(9, 13)));
    assert_eq!(e.help(), Some("add a closing `\"`"));
    assert_eq!(
        e.to_string(),
        [
            r#"unclosed string: this `"` is never closed at 1:10"#,
            "  |",
            r#"1 | email == "abc"#,
            "  |          ^^^^",
            r#"  = help: add a closing `"`"#,
        ]
        .join("\n")
    );

    let e = err(r#"(email == "a" or (b and c)"#);
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.span(), Some(Span::new(0, 1)));
    assert_eq!(e.help(), Some("add a `)`"));

    for (text, marked) in [
        ("a == 1)", ")"),
        ("a in [1, 2)", ")"),
        ("a == 'x", "'x"),
        ("`key == 1", "`key == 1"),
    ] {
        let (kind, got, help) = parts(text);
        assert_eq!(kind, ErrorKind::Syntax, "{text}");
        assert_eq!(got, marked, "{text}");
        assert!(help.is_some(), "{text}");
    }
}

#[test]
fn other_syntax_errors_say_what_was_expected_in_words() {
    let e = err("a == 1 and");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.span(), Some(Span::new(10, 10)));
    assert!(
        e.message().contains("found the end of the rule"),
        "{}",
        e.message()
    );
    assert!(
        !e.message().contains("EOI") && !e.message().contains("conj"),
        "{}",
        e.message()
    );

    let (kind, marked, help) = parts("a == 1 && b == 2");
    assert_eq!((kind, marked.as_str()), (ErrorKind::Syntax, "&&"));
    assert_eq!(help.as_deref(), Some("write `and` instead of `&&`"));
    let (_, marked, help) = parts("a == 1 || b");
    assert_eq!(
        (marked.as_str(), help.as_deref()),
        ("||", Some("write `or` instead of `||`"))
    );
    for empty in ["", "   ", "\n\t"] {
        assert_eq!(err(empty).kind(), ErrorKind::Syntax, "{empty:?}");
    }
    for bad in ["()", "and", "a == [1, [2]]", "a == 1 2", "not"] {
        assert_eq!(err(bad).kind(), ErrorKind::Syntax, "{bad}");
    }
}

#[test]
fn operators_without_their_value_or_with_a_stray_one_are_reported() {
    let (kind, marked, _) = parts("email ==");
    assert_eq!((kind, marked.as_str()), (ErrorKind::MissingValue, "=="));
    let (kind, marked, help) = parts(r#"email exists "x""#);
    assert_eq!((kind, marked.as_str()), (ErrorKind::MissingValue, r#""x""#));
    assert_eq!(help.as_deref(), Some("write `email exists`"));
}

#[test]
fn bad_literals_are_reported_where_they_are() {
    let (kind, marked, _) = parts(r#"a == "x\qy""#);
    assert_eq!((kind, marked.as_str()), (ErrorKind::InvalidLiteral, r"\q"));
    let (kind, marked, _) = parts(r#"a == "\u{110000}""#);
    assert_eq!((kind, marked.as_str()), (ErrorKind::InvalidLiteral, r"\u"));
    let (kind, marked, help) = parts("id == 99999999999999999999");
    assert_eq!(
        (kind, marked.as_str()),
        (ErrorKind::InvalidLiteral, "99999999999999999999")
    );
    assert!(help.is_some_and(|h| h.contains("quotes")));
    let (kind, _, _) = parts("x == 1e999");
    assert_eq!(kind, ErrorKind::InvalidLiteral);
}

#[test]
fn ignore_case_only_exists_for_text_operators() {
    // There is no `lessThanIgnoreCase` word at all.
    assert_eq!(
        parts("n lessThanIgnoreCase 1").0,
        ErrorKind::UnknownOperator
    );
}

#[test]
fn columns_count_characters_and_lines_are_counted() {
    // `名前` is 6 bytes but 2 characters.
    let text = r#"名前 endswith "x""#;
    let e = err(text);
    assert_eq!(e.span(), Some(Span::new(7, 15)));
    assert_eq!(
        e.to_string(),
        [
            "unknown operator `endswith` at 1:4",
            "  |",
            r#"1 | 名前 endswith "x""#,
            "  |    ^^^^^^^^",
            "  = help: did you mean `endsWith`?",
        ]
        .join("\n")
    );
    let text = "a == 1 and\n  b === 2";
    let e = err(text);
    assert!(
        e.to_string().starts_with("unknown operator `===` at 2:5\n"),
        "{e}"
    );
    assert!(
        e.to_string().contains("\n2 |   b === 2\n  |     ^^^\n"),
        "{e}"
    );
}

#[test]
fn limits_are_enforced_with_their_own_kinds() {
    let mut limits = Limits::default();
    limits.max_rule_len = 10;
    let e = Rule::parse_with("segment == \"beta\"", &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLong);
    assert!(e.help().is_some_and(|h| h.contains("max_rule_len")));

    let mut limits = Limits::default();
    limits.max_nesting_depth = 3;
    assert!(Rule::parse_with("(((a)))", &limits).is_ok());
    let e = Rule::parse_with("((((a))))", &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooDeep);
    assert_eq!(e.span(), Some(Span::new(3, 4)));
    // Brackets inside strings do not count.
    assert!(Rule::parse_with(r#"a == "((((((" and b == ')))))'"#, &limits).is_ok());
}

#[test]
fn error_kinds_have_stable_codes() {
    let codes = [
        (ErrorKind::Syntax, "E0001"),
        (ErrorKind::UnknownOperator, "E0002"),
        (ErrorKind::TypeMismatch, "E0008"),
        (ErrorKind::TooDeep, "E0010"),
        (ErrorKind::InvalidJson, "E0101"),
        (ErrorKind::DuplicateFlag, "E0106"),
        (ErrorKind::Io, "E0301"),
    ];
    for (kind, code) in codes {
        assert_eq!(kind.code(), code, "{kind:?}");
    }
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(err("a ="));
    assert!(!e.to_string().is_empty());
}

/// Every mistake of a config's rule text, in the order they stand in it.
fn mistakes(rule: &str) -> Vec<(ErrorKind, String)> {
    let json = serde_json::json!({
        "flag_key": "f",
        "enabled": true,
        "targeting_rules": {"allow_list": [rule]}
    })
    .to_string();
    let report = killswitch::CheckReport::from_json(&json, &Limits::default());
    assert!(report.flags().is_none(), "{rule:?} was accepted");
    report
        .diagnostics()
        .iter()
        .map(|d| (d.kind(), d.message().to_string()))
        .collect()
}

#[test]
fn every_mistake_of_a_rule_is_reported_at_once_left_to_right() {
    assert_eq!(
        mistakes(r#"a equls 1 and b endswith "x""#),
        [
            (
                ErrorKind::UnknownOperator,
                "unknown operator `equls`".into()
            ),
            (
                ErrorKind::UnknownOperator,
                "unknown operator `endswith`".into()
            ),
        ]
    );
    // In groups, lists and values: a missing value, an attribute used as a
    // value, a bad escape and a number out of range.
    assert_eq!(
        mistakes(r#"(a == and b in [1, 99999999999999999999]) or c == d or e == "\q""#),
        [
            (
                ErrorKind::MissingValue,
                "`==` needs a value after it".into()
            ),
            (
                ErrorKind::InvalidLiteral,
                "integer `99999999999999999999` does not fit in 64 bits".into()
            ),
            (
                ErrorKind::TypeMismatch,
                "`d` is not a value: rules compare attributes with literals".into()
            ),
            (ErrorKind::InvalidLiteral, "unknown escape `\\q`".into()),
        ]
    );
    // The API that returns one error returns the first.
    assert_eq!(
        err(r#"a equls 1 and b endswith "x""#).message(),
        "unknown operator `equls`"
    );
}

#[test]
fn the_mistakes_before_a_syntax_error_come_first() {
    // The syntax error is in a group, after two mistakes outside it and one
    // inside; after it, nothing more is looked at.
    assert_eq!(
        mistakes(r#"a equls 1 and (b endswith "x" or c == , d) and e foo 1"#),
        [
            (
                ErrorKind::UnknownOperator,
                "unknown operator `equls`".into()
            ),
            (
                ErrorKind::UnknownOperator,
                "unknown operator `endswith`".into()
            ),
            (ErrorKind::Syntax, "expected a value, found `,`".into()),
        ]
    );
    // In a list: the number before the misplaced token.
    assert_eq!(
        mistakes("a in [99999999999999999999 @x]"),
        [
            (
                ErrorKind::InvalidLiteral,
                "integer `99999999999999999999` does not fit in 64 bits".into()
            ),
            (ErrorKind::Syntax, "expected `,` or `]`, found `@`".into()),
        ]
    );
    // An operator followed by a connective lacks its value; that is the
    // mistake, not the connective.
    assert_eq!(
        mistakes("a == not b"),
        [(
            ErrorKind::MissingValue,
            "`==` needs a value after it".into()
        )]
    );
}
