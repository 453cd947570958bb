//! The targeting language: what rules mean, checked with contexts built in
//! Rust (and from JSON where nesting matters).

use crate::{holds, rule};
use killswitch::ast::{self, ExprKind, Op};
use killswitch::{Context, ErrorKind, Limits, Rule, Value};

/// A context with one attribute.
fn one<'a>(key: &'a str, value: impl Into<Value<'a>>) -> Context<'a> {
    Context::new().with(key, value)
}

// --- Two-valued logic -----------------------------------------------------

#[test]
fn a_missing_attribute_compares_false_and_not_makes_it_true() {
    let empty = Context::new();
    assert!(!holds(r#"segment == "legacy""#, &empty));
    assert!(
        !holds(r#"segment != "legacy""#, &empty),
        "!= is a comparison, false when missing"
    );
    assert!(holds(r#"not segment == "legacy""#, &empty));
    assert!(holds(r#"not segment != "legacy""#, &empty));
    assert!(!holds(r#"segment not in ["legacy", "old"]"#, &empty));
    assert!(!holds("age < 18", &empty));
    assert!(!holds("age >= 18", &empty));
    assert!(!holds(r#"email endsWith "@x.com""#, &empty));

    let beta = one("segment", "beta");
    assert!(holds(r#"segment != "legacy""#, &beta));
    assert!(!holds(r#"segment != "beta""#, &beta));
}

#[test]
fn null_is_treated_as_missing() {
    let null = Context::from_json(r#"{"segment": null}"#).expect("valid");
    assert_eq!(null.get("segment"), Some(&Value::Null));
    assert!(!holds(r#"segment == "legacy""#, &null));
    assert!(!holds(r#"segment != "legacy""#, &null));
    assert!(!holds("segment exists", &null));
    assert!(holds("not segment exists", &null));
}

// --- Types ------------------------------------------------------------------

#[test]
fn types_are_strict() {
    let text = one("age", "99");
    let number = one("age", 99);
    assert!(
        !holds("age == 99", &text),
        "the string \"99\" is not the number 99"
    );
    assert!(!holds(r#"age == "99""#, &number));
    assert!(holds(r#"age == "99""#, &text));
    assert!(holds("age == 99", &number));
    assert!(
        !holds("age > 18", &text),
        "strings are not ordered as numbers"
    );
    assert!(!holds(r#"flag == true"#, &one("flag", "true")));
    assert!(holds(r#"flag == true"#, &one("flag", true)));
    assert!(!holds(r#"flag == 1"#, &one("flag", true)));
    // A value of another type is neither equal nor unequal.
    assert!(!holds(r#"age != "x""#, &number));
    // A mixed list compares each value with literals of its own type.
    assert!(holds(r#"age in ["99", 99]"#, &text));
    assert!(holds(r#"age in ["99", 99]"#, &number));
}

#[test]
fn whole_and_fractional_numbers_compare_exactly() {
    assert!(holds("n == 1", &one("n", 1.0)));
    assert!(holds("n == 1.0", &one("n", 1)));
    assert!(holds("n == 1e0", &one("n", 1)));
    assert!(!holds("n == 1", &one("n", 1.5)));
    assert!(holds("n >= 4.5", &one("n", 4.5)));
    assert!(!holds("n > 4.5", &one("n", 4.5)));
    assert!(holds("n < 4.5", &one("n", 4)));
    assert!(holds("n <= -1", &one("n", -1.0)));
    // 2^53 + 1 has no exact f64; it must not equal 2^53.
    let big = one("n", (1_i64 << 53) + 1);
    assert!(holds("n == 9007199254740993", &big));
    assert!(!holds("n == 9007199254740992", &big));
    assert!(!holds(
        "n == 9007199254740993",
        &one("n", 9_007_199_254_740_992.0)
    ));
    // The word spellings of the operators.
    let five = one("n", 5);
    assert!(holds("n equals 5", &five));
    assert!(holds("n notEquals 6", &five));
    assert!(holds("n lessThan 6", &five));
    assert!(holds("n lessThanOrEqual 5", &five));
    assert!(holds("n greaterThan 4", &five));
    assert!(holds("n greaterThanOrEqual 5", &five));
    assert!(holds("n in [1, 5]", &five));
    assert!(holds("n notIn [1, 6]", &five));
    // An ordering against several numbers holds when any one does.
    assert!(holds("n < [3, 6]", &five));
    assert!(!holds("n < [3, 4]", &five));
}

#[test]
fn numbers_in_json_contexts_keep_their_type() {
    let ctx = Context::from_json(r#"{"age": 30, "score": 4.5, "big": 18446744073709551615}"#)
        .expect("valid");
    assert!(holds("age == 30 and score > 4 and score < 5", &ctx));
    assert!(holds("big > 9223372036854775807", &ctx));
}

// --- Lists ------------------------------------------------------------------

#[test]
fn a_list_attribute_matches_when_any_element_matches() {
    let tags = one("tags", vec!["beta", "mobile"]);
    assert!(holds(r#"tags == "beta""#, &tags));
    assert!(holds(r#"tags in ["web", "mobile"]"#, &tags));
    assert!(!holds(r#"tags in ["web", "desktop"]"#, &tags));
    assert!(holds(r#"tags startsWith "mob""#, &tags));
    assert!(holds(r#"tags contains "et""#, &tags));
    assert!(holds(r#"tags matches "^b.t""#, &tags));
    assert!(holds("tags exists", &tags));
    let scores = one("scores", vec![1, 10]);
    assert!(holds("scores > 5", &scores));
    assert!(holds("scores < 5", &scores));
    assert!(!holds("scores > 50", &scores));
}

#[test]
fn negated_comparisons_on_a_list_mean_no_element_matches() {
    let tags = one("tags", vec!["beta", "mobile"]);
    assert!(!holds(r#"tags != "beta""#, &tags));
    assert!(holds(r#"tags != "gamma""#, &tags));
    assert!(!holds(r#"tags not in ["web", "mobile"]"#, &tags));
    assert!(holds(r#"tags not in ["web", "desktop"]"#, &tags));
    assert!(holds(r#"tags notIn ["web"]"#, &tags));
    assert!(!holds(r#"tags notEqualsIgnoreCase "BETA""#, &tags));
    // An empty list matches no positive test and every negated one.
    let empty = one("tags", Vec::<&str>::new());
    assert!(!holds(r#"tags == "beta""#, &empty));
    assert!(holds(r#"tags != "beta""#, &empty));
    assert!(holds("tags exists", &empty));
}

#[test]
fn list_literals_allow_a_trailing_comma_and_many_values() {
    assert!(holds(
        r#"tier in ["gold", "platinum",]"#,
        &one("tier", "platinum")
    ));
    // More than eight strings: the compiled set is searched differently.
    let many = r#"country in ["AR", "AT", "AU", "BE", "BR", "CA", "CH", "DE", "DK", "ES", "FR", "GB", "IE", "IT", "NL", "PT", "SE", "US"]"#;
    for c in ["AR", "AU", "DE", "GB", "PT", "US"] {
        assert!(holds(many, &one("country", c)), "{c}");
    }
    for c in ["", "A", "ZZ", "de", "USA", "AA"] {
        assert!(!holds(many, &one("country", c)), "{c}");
    }
    let many_not = many.replace(" in ", " not in ");
    assert!(holds(&many_not, &one("country", "JP")));
    assert!(!holds(&many_not, &one("country", "SE")));
}

// --- Case -------------------------------------------------------------------

#[test]
fn comparisons_are_case_sensitive_by_default() {
    let email = one("email", "Bob@Internal.COM");
    assert!(!holds(r#"email endsWith "@internal.com""#, &email));
    assert!(!holds(r#"email == "bob@internal.com""#, &email));
    assert!(!holds(r#"email startsWith "bob""#, &email));
    assert!(!holds(r#"email contains "internal""#, &email));
    assert!(!holds(r#"email in ["bob@internal.com"]"#, &email));
    assert!(!holds(r#"email matches "internal""#, &email));
}

#[test]
fn ignore_case_operators_fold_case() {
    let email = one("email", "Bob@Internal.COM");
    assert!(holds(r#"email endsWithIgnoreCase "@INTERNAL.com""#, &email));
    assert!(holds(
        r#"email equalsIgnoreCase "bob@internal.com""#,
        &email
    ));
    assert!(holds(r#"email startsWithIgnoreCase "BOB@""#, &email));
    assert!(holds(r#"email containsIgnoreCase "iNtErNaL""#, &email));
    assert!(holds(
        r#"email inIgnoreCase ["x", "BOB@INTERNAL.COM"]"#,
        &email
    ));
    assert!(holds(r#"email matchesIgnoreCase "^bob@internal""#, &email));
    assert!(holds(
        r#"email notEqualsIgnoreCase "alice@internal.com""#,
        &email
    ));
    assert!(!holds(
        r#"email notEqualsIgnoreCase "BOB@internal.com""#,
        &email
    ));
    assert!(holds(r#"email notInIgnoreCase ["x", "y"]"#, &email));
    assert!(!holds(
        r#"email endsWithIgnoreCase "@internal.org""#,
        &email
    ));
}

#[test]
fn ignore_case_operators_fold_unicode() {
    let school = one("name", "ÉCOLE");
    assert!(!holds(r#"name == "école""#, &school));
    assert!(holds(r#"name equalsIgnoreCase "école""#, &school));
    assert!(holds(r#"name startsWithIgnoreCase "éc""#, &school));
    assert!(holds(r#"name endsWithIgnoreCase "OLE""#, &school));
    assert!(holds(r#"name containsIgnoreCase "cOl""#, &school));
    assert!(holds(r#"name inIgnoreCase ["école", "lycée"]"#, &school));
    assert!(holds(r#"name matchesIgnoreCase "^éc""#, &school));
    assert!(holds(
        r#"name equalsIgnoreCase "ÉcOlE""#,
        &one("name", "école")
    ));
    assert!(holds(
        r#"city endsWithIgnoreCase "MÜNCHEN""#,
        &one("city", "in münchen")
    ));
    assert!(holds(
        r#"city containsIgnoreCase "Ünc""#,
        &one("city", "MÜNCHEN")
    ));
    // More than eight case-folded strings, non-ASCII.
    let many = r#"city inIgnoreCase ["Aarhus", "Bâle", "Córdoba", "Düsseldorf", "Évian", "Føroyar", "Gävle", "Hérault", "Île", "Jönköping", "Kraków", "Łódź"]"#;
    for c in ["ÎLE", "łÓdŹ", "córdoba", "GÄVLE", "aarhus"] {
        assert!(holds(many, &one("city", c)), "{c}");
    }
    for c in ["ile", "Lodz", "Cordoba"] {
        assert!(!holds(many, &one("city", c)), "{c}");
    }
}

// --- Regular expressions ----------------------------------------------------

#[test]
fn matches_searches_rather_than_matching_the_whole_value() {
    let email = one("email", "bob@internal.com");
    assert!(holds(r#"email matches "internal""#, &email));
    assert!(holds(r#"email matches "^bob@""#, &email));
    assert!(!holds(r#"email matches "^internal""#, &email));
    assert!(holds(r#"email matches "\\.com$""#, &email));
    assert!(!holds(r#"email matches "\\.org$""#, &email));
    assert!(!holds(r#"email matches "internal""#, &one("email", 7)));
    // Several patterns: any one may match.
    assert!(holds(r#"email matches ["^alice", "@internal\\."]"#, &email));
}

// --- Semantic versions ------------------------------------------------------

#[test]
fn semantic_versions_follow_semver_precedence() {
    let v = |s| one("version", s);
    assert!(holds(
        r#"version semVerLessThan "2.0.0""#,
        &v("2.0.0-beta.1")
    ));
    assert!(holds(
        r#"version semVerGreaterThan "2.0.0-rc.1""#,
        &v("2.0.0")
    ));
    assert!(holds(
        r#"version semVerLessThan "2.0.0-beta.11""#,
        &v("2.0.0-beta.2")
    ));
    assert!(!holds(r#"version semVerLessThan "2.0.0""#, &v("2.0.0")));
    assert!(holds(
        r#"version semVerLessThanOrEqual "2.0.0""#,
        &v("2.0.0")
    ));
    assert!(holds(
        r#"version semVerGreaterThanOrEqual "2.0.0""#,
        &v("2.0.0")
    ));
    assert!(
        holds(r#"version semVerGreaterThan "1.9.0""#, &v("1.10.0")),
        "numeric, not textual"
    );
    assert!(!holds(r#"version semVerGreaterThan "1.10.0""#, &v("1.9.9")));
}

#[test]
fn partial_versions_are_padded_with_zeros_and_build_metadata_is_ignored() {
    let v = |s| one("version", s);
    assert!(holds(r#"version semVerEqual "2.1""#, &v("2.1.0")));
    assert!(holds(r#"version semVerEqual "2.1.0""#, &v("2.1")));
    assert!(holds(r#"version semVerEqual "2""#, &v("2.0.0")));
    assert!(holds(r#"version semVerEqual "1.0.0""#, &v("1.0.0+build.5")));
    assert!(holds(r#"version semVerEqual "1.0.0+abc""#, &v("1.0.0+def")));
    assert!(!holds(
        r#"version semVerGreaterThan "1.0.0""#,
        &v("1.0.0+zzz")
    ));
}

#[test]
fn a_leading_v_is_a_compile_error_in_a_literal_and_no_match_in_a_value() {
    let err = Rule::parse(r#"version semVerLessThan "v2.0.0""#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidVersion);
    assert_eq!(err.help(), Some(r#"drop the leading `v`: "2.0.0""#));

    let v2 = one("version", "v2.0.0");
    for op in [
        "semVerEqual",
        "semVerLessThan",
        "semVerLessThanOrEqual",
        "semVerGreaterThan",
        "semVerGreaterThanOrEqual",
    ] {
        for literal in ["1.0.0", "2.0.0", "3.0.0"] {
            let text = format!(r#"version {op} "{literal}""#);
            assert!(!holds(&text, &v2), "{text}");
        }
    }
    assert!(holds(r#"not version semVerLessThan "3.0.0""#, &v2));
    // Neither are non-strings or garbage.
    assert!(!holds(r#"version semVerEqual "2.0.0""#, &one("version", 2)));
    assert!(!holds(
        r#"version semVerEqual "2.0.0""#,
        &one("version", "2.0.0.0")
    ));
}

// --- Date-times -------------------------------------------------------------

/// 2024-01-01T00:00:00Z in epoch milliseconds (Python:
/// `datetime(2024,1,1,tzinfo=timezone.utc).timestamp()*1000`).
const NEW_YEAR_MS: i64 = 1_704_067_200_000;

#[test]
fn before_and_after_are_strict_and_respect_offsets() {
    let before = r#"t before "2024-01-01T00:00:00Z""#;
    let after = r#"t after "2024-01-01T00:00:00Z""#;
    let at = |s| one("t", s);
    assert!(holds(before, &at("2023-12-31T23:59:59Z")));
    assert!(!holds(after, &at("2023-12-31T23:59:59Z")));
    assert!(!holds(before, &at("2024-01-01T00:00:00Z")), "strict");
    assert!(!holds(after, &at("2024-01-01T00:00:00Z")), "strict");
    // The same instant, written in another offset.
    assert!(!holds(before, &at("2024-01-01T02:00:00+02:00")));
    assert!(!holds(after, &at("2023-12-31T19:00:00-05:00")));
    assert!(holds(before, &at("2024-01-01T01:59:59+02:00")));
    assert!(holds(after, &at("2023-12-31T19:00:01-05:00")));
    assert!(holds(after, &at("2024-01-01T00:00:00.001Z")));
    assert!(holds(before, &at("2023-12-31T23:59:59.999999999Z")));
    // Lowercase separators are RFC 3339 too.
    assert!(holds(after, &at("2024-01-01t00:00:01z")));
}

#[test]
fn epoch_milliseconds_are_date_times_too() {
    let before = r#"t before "2024-01-01T00:00:00Z""#;
    let after = r#"t after "2024-01-01T00:00:00Z""#;
    assert!(holds(before, &one("t", NEW_YEAR_MS - 1)));
    assert!(!holds(before, &one("t", NEW_YEAR_MS)));
    assert!(!holds(after, &one("t", NEW_YEAR_MS)));
    assert!(holds(after, &one("t", NEW_YEAR_MS + 1)));
    assert!(holds(after, &one("t", NEW_YEAR_MS as f64 + 0.5)));
    // A literal in epoch milliseconds.
    assert!(holds(
        "t after 1704067200000",
        &one("t", "2024-01-01T00:00:00.001Z")
    ));
    assert!(!holds(
        "t after 1704067200000",
        &one("t", "2024-01-01T00:00:00Z")
    ));
    // From JSON.
    let ctx = Context::from_json(r#"{"signup": 1704067199999}"#).expect("valid");
    assert!(holds(r#"signup before "2024-01-01T00:00:00Z""#, &ctx));
}

#[test]
fn values_that_are_not_date_times_never_match() {
    let before = r#"t before "2024-01-01T00:00:00Z""#;
    let after = r#"t after "2024-01-01T00:00:00Z""#;
    for bad in [
        "yesterday",
        "2023-12-31",
        "2023-12-31T00:00:00",
        "2023-02-29T00:00:00Z",
        "",
    ] {
        assert!(!holds(before, &one("t", bad)), "{bad}");
        assert!(!holds(after, &one("t", bad)), "{bad}");
        assert!(holds(&format!("not {before}"), &one("t", bad)), "{bad}");
    }
    assert!(!holds(before, &one("t", true)));
}

// --- Paths and keys -----------------------------------------------------------

#[test]
fn dotted_paths_reach_into_nested_objects() {
    let ctx =
        Context::from_json(r#"{"account": {"plan": "pro", "owner": {"age": 41}}}"#).expect("valid");
    assert!(holds(r#"account.plan == "pro""#, &ctx));
    assert!(holds("account.owner.age > 40", &ctx));
    assert!(holds("account.plan exists", &ctx));
    assert!(!holds("account.tier exists", &ctx));
    assert!(!holds(r#"account == "pro""#, &ctx));
    assert!(!holds(r#"account.plan.name == "pro""#, &ctx));
    assert!(!holds(r#"plan == "pro""#, &ctx));
    assert!(holds(r#"not account.tier == "pro""#, &ctx));
}

#[test]
fn a_flat_key_with_dots_is_found_by_the_dotted_path() {
    let flat = one("account.plan", "pro");
    assert!(holds(r#"account.plan == "pro""#, &flat));
    assert!(holds(r#"`account.plan` == "pro""#, &flat));
    assert!(!holds(r#"account == "pro""#, &flat));
}

#[test]
fn backtick_keys_name_attributes_that_are_not_identifiers() {
    let ctx = one("device-type", "x");
    assert!(holds(r#"`device-type` == "x""#, &ctx));
    assert!(!holds(r#"`device-type` == "y""#, &ctx));
    let odd = one("a `quoted` key", 1);
    assert!(holds(r#"`a \`quoted\` key` == 1"#, &odd));
    let nested = Context::from_json(r#"{"meta": {"x-client": "ios"}}"#).expect("valid");
    assert!(holds(r#"meta.`x-client` == "ios""#, &nested));
    // Keywords can be attribute names in backticks.
    assert!(holds("`not` == 1", &one("not", 1)));
}

#[test]
fn identifiers_may_contain_keywords_and_unicode() {
    let ctx = Context::new()
        .with("order", 1)
        .with("android", true)
        .with("notes", "x")
        .with("名前", "太郎");
    assert!(holds(r#"order == 1 and android and notes == "x""#, &ctx));
    assert!(holds(r#"名前 == "太郎""#, &ctx));
}

// --- Predicates -----------------------------------------------------------------

#[test]
fn a_bare_attribute_is_true_only_for_the_boolean_true() {
    assert!(holds("is_internal", &one("is_internal", true)));
    assert!(!holds("is_internal", &one("is_internal", false)));
    assert!(!holds("is_internal", &one("is_internal", "true")));
    assert!(!holds("is_internal", &one("is_internal", 1)));
    assert!(!holds("is_internal", &Context::new()));
    assert!(holds("not is_internal", &Context::new()));
    assert!(holds("not is_internal", &one("is_internal", "true")));
    assert!(holds("is_internal", &one("is_internal", vec![false, true])));
    let spec =
        Context::from_json(r#"{"user_id": "user_123", "is_internal": true}"#).expect("valid");
    assert!(holds("is_internal and user_id == \"user_123\"", &spec));
}

#[test]
fn exists_tests_presence_of_any_non_null_value() {
    for value in [
        Value::from(""),
        Value::from(0),
        Value::Bool(false),
        Value::from(vec![1]),
    ] {
        assert!(
            holds("email exists", &one("email", value.clone())),
            "{value:?}"
        );
    }
    assert!(!holds("email exists", &Context::new()));
    assert!(holds("not email exists", &Context::new()));
}

// --- Precedence ---------------------------------------------------------------

fn shape(text: &str) -> ast::Expr {
    ast::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .without_spans()
}

#[test]
fn and_binds_tighter_than_or_and_not_binds_tightest() {
    assert_eq!(shape("a or b and c"), shape("a or (b and c)"));
    assert_ne!(shape("a or b and c"), shape("(a or b) and c"));
    assert_eq!(shape("a and b or c"), shape("(a and b) or c"));
    assert_eq!(shape("not a and b"), shape("(not a) and b"));
    assert_ne!(shape("not a and b"), shape("not (a and b)"));
    assert_eq!(shape("not a or b"), shape("(not a) or b"));
    // Chains are flat n-ary nodes.
    let ExprKind::Or(xs) = shape("a or b or c or d").kind else {
        panic!("expected an or");
    };
    assert_eq!(xs.len(), 4);

    let bools = [false, true];
    for a in bools {
        for b in bools {
            for c in bools {
                let ctx = Context::new().with("a", a).with("b", b).with("c", c);
                let what = format!("a={a} b={b} c={c}");
                assert_eq!(holds("a or b and c", &ctx), a || (b && c), "{what}");
                assert_eq!(holds("a and b or c", &ctx), (a && b) || c, "{what}");
                assert_eq!(holds("not a and b", &ctx), !a && b, "{what}");
                assert_eq!(
                    holds("not a or b and not c", &ctx),
                    !a || (b && !c),
                    "{what}"
                );
                assert_eq!(holds("not (a or b) and c", &ctx), !(a || b) && c, "{what}");
                assert_eq!(holds("not not a", &ctx), a, "{what}");
            }
        }
    }
}

#[test]
fn keywords_need_a_word_boundary() {
    // `nota` is an attribute, not `not a`.
    let ctx = Context::new().with("nota", true).with("a", true);
    assert!(holds("nota", &ctx));
    assert!(!holds("not a", &ctx));
    let ExprKind::Truthy(path) = shape("nota").kind else {
        panic!("expected a bare attribute");
    };
    assert_eq!(path.segments, ["nota"]);
    assert!(matches!(shape("android or orders").kind, ExprKind::Or(_)));
}

// --- Strings --------------------------------------------------------------------

#[test]
fn strings_may_be_single_or_double_quoted_and_have_escapes() {
    assert!(holds("segment == 'beta'", &one("segment", "beta")));
    assert_eq!(shape("segment == 'beta'"), shape(r#"segment == "beta""#));
    assert!(holds(r#"s == "a\"b""#, &one("s", "a\"b")));
    assert!(holds(r"s == 'it\'s'", &one("s", "it's")));
    assert!(holds(r#"s == 'say "hi"'"#, &one("s", "say \"hi\"")));
    assert!(holds(r#"s == "C:\\dir""#, &one("s", "C:\\dir")));
    assert!(holds(
        r#"s == "tab\there\nnext""#,
        &one("s", "tab\there\nnext")
    ));
    assert!(holds(r#"s == "\u{e9}t\u00e9""#, &one("s", "été")));
    assert!(holds(r#"s == "\u{1F600}""#, &one("s", "😀")));
    assert!(holds(r#"s == "\ud83d\ude00""#, &one("s", "😀")));
    assert!(holds(r#"s == "a\/b""#, &one("s", "a/b")));
    // Brackets and keywords inside strings are just text.
    assert!(holds(r#"s == "(not [ and or""#, &one("s", "(not [ and or")));
    assert!(holds(r#"s == """#, &one("s", "")));
}

// --- Canonical text -------------------------------------------------------------

#[test]
fn printing_a_rule_gives_text_that_parses_to_the_same_tree() {
    for text in [
        r#"email endsWith "@internal.com" and not segment == "legacy""#,
        "a or b and c",
        "(a or b) and not (c or d)",
        "not not a",
        r#"tier in ["gold", "platinum"] or tier not in ["x"]"#,
        r#"`device-type` == 'x"y' and meta.`a.b` exists"#,
        r#"name equalsIgnoreCase "é\n\t\\" and n >= -1.5e3"#,
        r#"version semVerLessThan "2.0.0-beta.1" or t after 1704067200000"#,
        "flag == true or n == 0 or is_internal",
    ] {
        let first = ast::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let printed = first.to_string();
        let second = ast::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert_eq!(
            first.without_spans(),
            second.without_spans(),
            "{text} -> {printed}"
        );
        assert_eq!(second.to_string(), printed, "printing is stable");
        // The rule keeps the text as written.
        assert_eq!(rule(text).source(), text);
    }
}

#[test]
fn rules_can_be_built_from_a_syntax_tree() {
    let expr = ast::parse(r#"tier in ["gold", "platinum"]"#).expect("valid");
    let ExprKind::Compare(c) = &expr.kind else {
        panic!("expected a comparison");
    };
    assert_eq!(c.op, Op::Eq);
    assert_eq!(c.values.len(), 2);
    let rule = Rule::from_expr(expr, &Limits::default()).expect("compiles");
    assert!(rule.matches(&one("tier", "gold")));
    assert!(!rule.matches(&one("tier", "silver")));
}

// --- Contexts -------------------------------------------------------------------

#[test]
fn contexts_replace_repeated_keys_and_spill_past_eight_attributes() {
    let mut ctx = Context::new();
    for i in 0..12 {
        ctx.set(format!("k{i}"), i64::from(i));
    }
    ctx.set("k3", "three");
    ctx.set("k10", "ten");
    assert_eq!(ctx.len(), 12);
    assert!(holds(
        r#"k3 == "three" and k10 == "ten" and k11 == 11 and k0 == 0"#,
        &ctx
    ));
    let keys: Vec<&str> = ctx.iter().map(|(k, _)| k).collect();
    assert_eq!(keys[..3], ["k0", "k1", "k2"]);
}

#[test]
fn json_contexts_reject_what_is_not_an_object_of_attributes() {
    for bad in [
        "[1]",
        "1",
        r#"{"a": 1} x"#,
        r#"{"a": 1, "a": 2}"#,
        "{",
        r#"{"user_id": 5}"#,
    ] {
        assert!(Context::from_json(bad).is_err(), "{bad}");
    }
    let dup = Context::from_json(r#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
    assert!(dup.to_string().contains("duplicate key `b`"), "{dup}");
    assert_eq!(
        Context::from_json(r#"{"a": 1 "#).unwrap_err().kind(),
        ErrorKind::InvalidJson
    );
    // Escaped strings decode.
    let ctx = Context::from_json(r#"{"s": "caf\u00e9 \"x\""}"#).expect("valid");
    assert!(holds(r#"s == "café \"x\"""#, &ctx));
}

// --- Regressions: bugs these tests found, fixed in 3c8abbc -----------------

#[test]
fn not_in_an_empty_list_holds_for_any_present_value() {
    let ctx = one("tier", "gold");
    assert!(!holds("tier in []", &ctx));
    assert!(holds("tier not in []", &ctx));
    assert!(holds("tier notIn []", &ctx));
}

#[test]
fn ignore_case_operators_agree_with_matches_ignore_case() {
    // Greek final sigma: "ΟΔΟΣ" lowercases to "οδοσ", but is written "οδος".
    let road = one("word", "ΟΔΟΣ");
    assert!(holds(r#"word matchesIgnoreCase "^οδος$""#, &road));
    assert!(holds(r#"word equalsIgnoreCase "οδος""#, &road));
    assert!(holds(r#"word endsWithIgnoreCase "ος""#, &road));
    // The long s folds to `s`.
    let long_s = one("word", "ſ");
    assert!(holds(r#"word matchesIgnoreCase "^s$""#, &long_s));
    assert!(holds(r#"word equalsIgnoreCase "S""#, &long_s));
}
