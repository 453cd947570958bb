//! Lints: rules and settings that are valid but almost certainly not what
//! their author meant. Their names and severities are one table,
//! [`LINTS`](crate::error::LINTS); this module finds them.

use crate::error::{is_bidi_control, ErrorKind};
use crate::eval::flag::Flag;
use crate::eval::rule::Rule;
use crate::syntax::ast::{Expr, ExprKind, Literal, LiteralValue, Op};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

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
    if let Some((a, b, c)) = mixed_scripts(flag.key()) {
        out.push(finding(
            ErrorKind::ConfusableKey,
            At::Field("flag_key"),
            format!(
                "this flag key mixes {a} and {b} letters (`{c}` is U+{:04X}), so it may look like another key",
                u32::from(c)
            ),
            Some("write the key in one script".into()),
        ));
    }
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
    // Shapes are compared only where there is something to compare with.
    let allow_groups = if deny.is_empty() {
        None
    } else {
        by_shape(allow)
    };
    for (d, rule) in deny.iter().enumerate() {
        if let Some(a) = first_same(allow, allow_groups.as_ref(), rule, allow.len()) {
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
    a.expr().same_shape(b.expr())
}

/// Lists this long or shorter are scanned pair by pair, which costs less
/// than hashing each rule's shape (every list of a typical config).
const SCAN: usize = 8;

/// The rules of a list grouped by the hash of their shape (spans
/// ignored), each group in list order: rules equal in shape share a group,
/// so finding an earlier equal rule costs one lookup, not a scan of the
/// list. `None` for a short list, which is scanned instead.
fn by_shape(rules: &[Rule]) -> Option<HashMap<u64, Vec<usize>>> {
    if rules.len() <= SCAN {
        return None;
    }
    let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        groups.entry(shape_hash(rule.expr())).or_default().push(i);
    }
    Some(groups)
}

/// The first rule of `rules` (grouped by [`by_shape`]) equal in shape to
/// `rule`, among those before `before`.
fn first_same(
    rules: &[Rule],
    groups: Option<&HashMap<u64, Vec<usize>>>,
    rule: &Rule,
    before: usize,
) -> Option<usize> {
    let Some(groups) = groups else {
        let earlier = rules.get(..before).unwrap_or(rules);
        return earlier.iter().position(|r| same(r, rule));
    };
    let group = groups.get(&shape_hash(rule.expr()))?;
    group
        .iter()
        .copied()
        .take_while(|&j| j < before)
        .find(|&j| rules.get(j).is_some_and(|r| same(r, rule)))
}

fn duplicates(rules: &[Rule], at: fn(usize) -> At, list: &str, out: &mut Vec<Finding>) {
    if rules.len() < 2 {
        return;
    }
    let groups = by_shape(rules);
    for (i, rule) in rules.iter().enumerate() {
        if let Some(first) = first_same(rules, groups.as_ref(), rule, i) {
            out.push(finding(
                ErrorKind::DuplicateRule,
                at(i),
                format!("duplicate rule: the same as {list}[{first}]"),
                Some("remove one of them".into()),
            ));
        }
    }
}

/// Hashes an expression's shape: everything [`Expr::without_spans`] keeps,
/// so that trees equal without their spans hash alike.
fn shape_hash(e: &Expr) -> u64 {
    let mut h = DefaultHasher::new();
    hash_shape(e, &mut h);
    h.finish()
}

fn hash_shape(e: &Expr, h: &mut DefaultHasher) {
    std::mem::discriminant(&e.kind).hash(h);
    match &e.kind {
        ExprKind::Or(xs) | ExprKind::And(xs) => {
            xs.len().hash(h);
            for x in xs {
                hash_shape(x, h);
            }
        }
        ExprKind::Not(x) => hash_shape(x, h),
        ExprKind::Compare(c) => {
            c.path.segments.hash(h);
            c.op.hash(h);
            c.ignore_case.hash(h);
            c.values.len().hash(h);
            for v in &c.values {
                ValueKey::of(&v.value).hash(h);
            }
        }
        ExprKind::Exists(p) | ExprKind::Truthy(p) => p.segments.hash(h),
        ExprKind::Segment(name) => name.hash(h),
    }
}

/// A literal as a hashable key, equal exactly when the literals are
/// (`==` on [`LiteralValue`]: `0.0` and `-0.0` are equal, and literals are
/// never NaN).
#[derive(PartialEq, Eq, Hash)]
enum ValueKey<'a> {
    String(&'a str),
    Int(i64),
    Float(u64),
    Bool(bool),
}

impl<'a> ValueKey<'a> {
    fn of(value: &'a LiteralValue) -> ValueKey<'a> {
        match value {
            LiteralValue::String(s) => ValueKey::String(s),
            LiteralValue::Int(i) => ValueKey::Int(*i),
            // `+ 0.0` turns -0.0 into 0.0, so both have the same bits.
            LiteralValue::Float(f) => ValueKey::Float((f + 0.0).to_bits()),
            LiteralValue::Bool(b) => ValueKey::Bool(*b),
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
            if has_duplicate(&c.values) {
                out.push(finding(
                    ErrorKind::DuplicateValue,
                    at,
                    format!("a value appears twice in the list of `{}`", c.path.dotted()),
                    Some("remove the duplicate".into()),
                ));
            }
        }
        ExprKind::Exists(_) | ExprKind::Truthy(_) | ExprKind::Segment(_) => {}
    }
}

/// Whether a value appears twice in a list: short lists are scanned pair
/// by pair, longer ones in one pass with a set of the values seen (linear
/// in the list).
fn has_duplicate(values: &[Literal]) -> bool {
    if values.len() <= SCAN {
        return values.iter().enumerate().any(|(i, v)| {
            values
                .iter()
                .take(i)
                .any(|w| ValueKey::of(&w.value) == ValueKey::of(&v.value))
        });
    }
    let mut seen = HashSet::with_capacity(values.len());
    values.iter().any(|v| !seen.insert(ValueKey::of(&v.value)))
}

/// An operand whose negation is also an operand, as canonical text: the
/// first such `not` in operand order. The operands are grouped by the hash
/// of their shape once, so a long chain costs one lookup per `not`.
fn complementary(xs: &[Expr]) -> Option<String> {
    if !xs.iter().any(|x| matches!(x.kind, ExprKind::Not(_))) {
        return None;
    }
    // A short chain (the common case) is compared pairwise: cheaper than
    // hashing every operand's shape.
    if xs.len() <= SCAN {
        for x in xs {
            if let ExprKind::Not(inner) = &x.kind {
                if xs.iter().any(|y| y.same_shape(inner)) {
                    return Some(inner.without_spans().to_string());
                }
            }
        }
        return None;
    }
    let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, x) in xs.iter().enumerate() {
        groups.entry(shape_hash(x)).or_default().push(i);
    }
    for x in xs {
        if let ExprKind::Not(inner) = &x.kind {
            let Some(group) = groups.get(&shape_hash(inner)) else {
                continue;
            };
            if group
                .iter()
                .any(|&j| xs.get(j).is_some_and(|y| y.same_shape(inner)))
            {
                return Some(inner.without_spans().to_string());
            }
        }
    }
    None
}

/// The script of a letter, for the letters that look alike across scripts.
fn script(c: char) -> Option<&'static str> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => Some("Latin"),
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Some("Greek"),
        '\u{0400}'..='\u{052F}' => Some("Cyrillic"),
        _ => None,
    }
}

/// Whether a key mixes the letters of two of Latin, Greek and Cyrillic:
/// the first script, the second, and the first letter of the second.
fn mixed_scripts(key: &str) -> Option<(&'static str, &'static str, char)> {
    let mut first: Option<&'static str> = None;
    for c in key.chars() {
        let Some(s) = script(c) else { continue };
        match first {
            None => first = Some(s),
            Some(f) if f != s => return Some((f, s, c)),
            Some(_) => {}
        }
    }
    None
}

/// What is wrong with a flag key, if anything: a control character
/// (including newlines, ESC and NUL), a bidi control (`is_bidi_control`:
/// the set terminal escaping uses), or whitespace at either end. The
/// byte range of the offending character in the key, and the message.
pub(crate) fn bad_name(name: &str) -> Option<(std::ops::Range<usize>, String)> {
    for (i, c) in name.char_indices() {
        let range = i..i + c.len_utf8();
        if c.is_control() {
            return Some((
                range,
                format!(
                    "a name cannot hold a control character ({})",
                    c.escape_unicode()
                ),
            ));
        }
        if is_bidi_control(c) {
            return Some((
                range,
                format!(
                    "a name cannot hold a bidirectional text control ({})",
                    c.escape_unicode()
                ),
            ));
        }
    }
    let first = name.chars().next().filter(|c| c.is_whitespace());
    let last = name.chars().next_back().filter(|c| c.is_whitespace());
    if let Some(c) = first {
        return Some((
            0..c.len_utf8(),
            "a name cannot start with whitespace".into(),
        ));
    }
    if let Some(c) = last {
        let end = name.len();
        return Some((
            end - c.len_utf8()..end,
            "a name cannot end with whitespace".into(),
        ));
    }
    None
}
