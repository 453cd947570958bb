//! Lints: rules and settings that are valid but almost certainly not what
//! their author meant. Their names and severities are one table,
//! [`LINTS`](crate::error::LINTS); this module finds them.

use crate::error::ErrorKind;
use crate::eval::flag::Flag;
use crate::eval::rule::Rule;
use crate::syntax::ast::{Expr, ExprKind, LiteralValue, Op};

/// Where a finding is: a rule of a list, or a field of the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    Allow(usize),
    Deny(usize),
    Field(&'static str),
    Schedule(usize),
}

/// One finding.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub kind: ErrorKind,
    pub at: At,
    pub message: String,
    pub help: Option<String>,
}

fn finding(kind: ErrorKind, at: At, message: String, help: Option<String>) -> Finding {
    Finding {
        kind,
        at,
        message,
        help,
    }
}

/// Lints one compiled flag.
pub(crate) fn check(flag: &Flag) -> Vec<Finding> {
    let mut out = Vec::new();
    let allow = flag.allow_rules();
    let deny = flag.deny_rules();
    if flag.kill_switch() && flag.has_schedule() {
        out.push(finding(
            ErrorKind::DeadRollout,
            At::Field("rollout_schedule"),
            "rollout_schedule has no effect while the kill switch is on".into(),
            Some("the schedule goes on counting: when the switch is turned off, the flag is at the step the clock has reached".into()),
        ));
    }
    if let Some(schedule) = &flag.schedule {
        let mut previous = flag.rollout_percentage();
        for (i, phase) in schedule.phases().iter().enumerate() {
            let first = phase.first_percentage();
            let last = phase.last_percentage();
            let lowered = match previous {
                Some(p) if first < p => Some((p, first)),
                _ if last < first => Some((first, last)),
                _ => None,
            };
            if let Some((from, to)) = lowered {
                out.push(finding(
                    ErrorKind::DecreasingRollout,
                    At::Schedule(i),
                    format!("this entry lowers the rollout from {from}% to {to}%, turning the feature off for users who had it"),
                    Some("to take a feature away from everyone at once, use the kill switch".into()),
                ));
            }
            previous = Some(last);
        }
    }
    if flag.kill_switch() && flag.rollout_percentage().is_some() {
        out.push(finding(
            ErrorKind::DeadRollout,
            At::Field("rollout_percentage"),
            "rollout_percentage has no effect while the kill switch is on".into(),
            Some("fine while an incident lasts; remove it if the flag is retired".into()),
        ));
    }
    let has_rules = !allow.is_empty() || !deny.is_empty();
    if !flag.enabled() && !flag.kill_switch() && has_rules {
        out.push(finding(
            ErrorKind::DisabledWithRules,
            At::Field("enabled"),
            "the flag is disabled, so its rules are never evaluated".into(),
            None,
        ));
    }
    duplicates(allow, At::Allow, "allow_list", &mut out);
    duplicates(deny, At::Deny, "deny_list", &mut out);
    for (d, rule) in deny.iter().enumerate() {
        if let Some(a) = allow.iter().position(|r| same(r, rule)) {
            out.push(finding(
                ErrorKind::ShadowedRule,
                At::Deny(d),
                format!("this deny rule never decides: allow_list[{a}] is the same rule and is checked first"),
                Some("remove it from one of the lists".into()),
            ));
        }
    }
    for (i, rule) in allow.iter().enumerate() {
        expr(rule.expr(), At::Allow(i), &mut out);
    }
    for (i, rule) in deny.iter().enumerate() {
        expr(rule.expr(), At::Deny(i), &mut out);
    }
    out
}

fn same(a: &Rule, b: &Rule) -> bool {
    a.expr().without_spans() == b.expr().without_spans()
}

fn duplicates(rules: &[Rule], at: fn(usize) -> At, list: &str, out: &mut Vec<Finding>) {
    for (i, rule) in rules.iter().enumerate() {
        if let Some(first) = rules[..i].iter().position(|r| same(r, rule)) {
            out.push(finding(
                ErrorKind::DuplicateRule,
                at(i),
                format!("duplicate rule: the same as {list}[{first}]"),
                Some("remove one of them".into()),
            ));
        }
    }
}

/// Walks a rule's tree for contradictions, tautologies, regexes that
/// match everything and duplicate list values. Only what is decidable
/// without knowing the context's types is reported.
pub(crate) fn expr(e: &Expr, at: At, out: &mut Vec<Finding>) {
    match &e.kind {
        ExprKind::And(xs) | ExprKind::Or(xs) => {
            let is_and = matches!(e.kind, ExprKind::And(_));
            if let Some(text) = complementary(xs) {
                let (kind, what) = if is_and {
                    (ErrorKind::NeverMatches, "can never match")
                } else {
                    (ErrorKind::AlwaysMatches, "always matches")
                };
                out.push(finding(
                    kind,
                    at,
                    format!("this rule {what}: it contains both `{text}` and its negation"),
                    None,
                ));
            }
            for x in xs {
                expr(x, at, out);
            }
        }
        ExprKind::Not(x) => expr(x, at, out),
        ExprKind::Compare(c) => {
            if c.op == Op::Eq && c.values.is_empty() {
                out.push(finding(
                    ErrorKind::NeverMatches,
                    at,
                    format!("`{} in []` can never match", c.path.dotted()),
                    None,
                ));
            }
            if c.op == Op::Matches {
                for v in &c.values {
                    if let LiteralValue::String(p) = &v.value {
                        let everything = regex::RegexBuilder::new(p)
                            .case_insensitive(c.ignore_case)
                            .build()
                            .is_ok_and(|re| re.is_match(""));
                        if everything {
                            out.push(finding(
                                ErrorKind::RegexMatchesEverything,
                                at,
                                format!("the pattern \"{p}\" matches every string (it matches the empty string, and `matches` searches)"),
                                Some("anchor it, such as \"^...$\", or use `exists`".into()),
                            ));
                        }
                    }
                }
            }
            for (i, v) in c.values.iter().enumerate() {
                if c.values[..i].iter().any(|w| w.value == v.value) {
                    out.push(finding(
                        ErrorKind::DuplicateValue,
                        at,
                        format!("a value appears twice in the list of `{}`", c.path.dotted()),
                        Some("remove the duplicate".into()),
                    ));
                    break;
                }
            }
        }
        ExprKind::Exists(_) | ExprKind::Truthy(_) | ExprKind::Segment(_) => {}
    }
}

/// An operand whose negation is also an operand, as canonical text.
fn complementary(xs: &[Expr]) -> Option<String> {
    for x in xs {
        if let ExprKind::Not(inner) = &x.kind {
            let inner = inner.without_spans();
            if xs.iter().any(|y| y.without_spans() == inner) {
                return Some(inner.to_string());
            }
        }
    }
    None
}
