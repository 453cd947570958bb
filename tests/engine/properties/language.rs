//! The language: canonical printing round-trips, the compiled plan agrees
//! with a naive interpreter, the text and structured forms agree, and no
//! input makes the parser or compiler panic.

use super::gen;
use super::interpreter;
use killswitch::ast::{self, Compare, ExprKind, LiteralValue, Op};
use killswitch::{Context, FlagSet, Limits, Rule};
use proptest::prelude::*;
use serde_json::{json, Value as Json};

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_tree(expr in gen::expr()) {
        let text = expr.to_string();
        let parsed = ast::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
        prop_assert_eq!(parsed.without_spans(), expr.without_spans(), "{}", text);
        // And the canonical text is a fixed point.
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn compiled_plan_agrees_with_the_naive_interpreter(
        expr in gen::expr(),
        ctx in prop::collection::vec(gen::context_json(), 1..6),
    ) {
        let rule = Rule::from_expr(expr.clone(), &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{expr}\n{e}")))?;
        for json in &ctx {
            let text = json.to_string();
            let context = Context::from_json(&text).unwrap();
            prop_assert_eq!(
                rule.matches(&context),
                interpreter::eval(&expr, json),
                "rule {} on {}", expr, text
            );
        }
    }

    #[test]
    fn a_segment_decides_like_its_rule_written_in_place(
        a in gen::expr(),
        b in gen::expr(),
        c in gen::expr(),
        ctx in prop::collection::vec(gen::context_json(), 1..6),
    ) {
        // sa = a; sb = @sa or b; the rule is c and not @sb, and @sa again.
        let config = json!({
            "segments": {"sa": a.to_string(), "sb": format!("@sa or ({b})")},
            "flags": [{"flag_key": "f", "enabled": true, "targeting_rules": {
                "allow_list": [format!("({c}) and not @sb or @sa")]}}]
        });
        let flags = FlagSet::from_json(&config.to_string())
            .map_err(|e| TestCaseError::fail(format!("{config}\n{e}")))?;
        let rule = &flags.get("f").unwrap().allow_rules()[0];
        let span = killswitch::Span::default();
        let node = |kind| ast::Expr { kind, span };
        let sb = node(ExprKind::Or(vec![a.clone(), b.clone()]));
        let in_place = node(ExprKind::Or(vec![
            node(ExprKind::And(vec![c.clone(), node(ExprKind::Not(Box::new(sb)))])),
            a.clone(),
        ]));
        for json in &ctx {
            let text = json.to_string();
            let context = Context::from_json(&text).unwrap();
            prop_assert_eq!(
                rule.matches(&context),
                interpreter::eval(&in_place, json),
                "{} on {}", config, text
            );
        }
    }

    #[test]
    fn text_and_structured_forms_decide_alike(
        leaf in gen::leaf_compare(),
        ctx in prop::collection::vec(gen::context_json(), 1..6),
    ) {
        let ExprKind::Compare(c) = &leaf.kind else { unreachable!() };
        let text = leaf.to_string();
        let config = json!([
            {"flag_key": "text", "enabled": true, "targeting_rules": {"allow_list": [text]}},
            {"flag_key": "structured", "enabled": true,
             "targeting_rules": {"allow_list": [structured(c)]}},
        ]);
        let flags = FlagSet::from_json(&config.to_string())
            .map_err(|e| TestCaseError::fail(format!("{config}\n{e}")))?;
        let by_text = &flags.get("text").unwrap().allow_rules()[0];
        let by_structure = &flags.get("structured").unwrap().allow_rules()[0];
        prop_assert_eq!(by_text.expr().without_spans(), by_structure.expr().without_spans());
        for json in &ctx {
            let text = json.to_string();
            let context = Context::from_json(&text).unwrap();
            prop_assert_eq!(by_text.matches(&context), by_structure.matches(&context));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let _ = Rule::parse(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(&[
        "a", "b.c", "`k-1`", "==", "!=", "<", ">=", "in", "not", "and", "or", "(", ")", "[", "]",
        ",", "\"x\"", "'y'", "1", "-2.5", "true", "exists", "endsWith", "matches", "\"(\"",
        "semVerLessThan", "\"1.2\"", "before", "\"2024-01-01T00:00:00Z\"", "\\", "\"", "'",
    ][..]), 0..30)) {
        let text = tokens.join(" ");
        if let Ok(expr) = ast::parse(&text) {
            // Whatever parses prints to text that parses to the same tree.
            let again = ast::parse(&expr.to_string()).unwrap();
            prop_assert_eq!(again.without_spans(), expr.without_spans());
            let _ = Rule::from_expr(expr, &Limits::default());
        }
    }
}

/// The structured form of a comparison.
fn structured(c: &Compare) -> Json {
    let name = match (c.op, c.ignore_case) {
        (Op::Eq, false) => "in",
        (Op::Eq, true) => "inIgnoreCase",
        (Op::Ne, false) => "notIn",
        (Op::Ne, true) => "notInIgnoreCase",
        (Op::Lt, _) => "lessThan",
        (Op::Le, _) => "lessThanOrEqual",
        (Op::Gt, _) => "greaterThan",
        (Op::Ge, _) => "greaterThanOrEqual",
        (Op::StartsWith, false) => "startsWith",
        (Op::StartsWith, true) => "startsWithIgnoreCase",
        (Op::EndsWith, false) => "endsWith",
        (Op::EndsWith, true) => "endsWithIgnoreCase",
        (Op::Contains, false) => "contains",
        (Op::Contains, true) => "containsIgnoreCase",
        (Op::Matches, false) => "matches",
        (Op::Matches, true) => "matchesIgnoreCase",
        (Op::Before, _) => "before",
        (Op::After, _) => "after",
        (Op::SemVerEq, _) => "semVerEqual",
        (Op::SemVerLt, _) => "semVerLessThan",
        (Op::SemVerLe, _) => "semVerLessThanOrEqual",
        (Op::SemVerGt, _) => "semVerGreaterThan",
        (Op::SemVerGe, _) => "semVerGreaterThanOrEqual",
    };
    let values: Vec<Json> = c
        .values
        .iter()
        .map(|l| match &l.value {
            LiteralValue::String(s) => json!(s),
            LiteralValue::Int(i) => json!(i),
            LiteralValue::Float(f) => json!(f),
            LiteralValue::Bool(b) => json!(b),
        })
        .collect();
    json!({"attribute": c.path.segments, "operator": name, "value": values})
}
