//! The evaluation plan and its evaluator: the hot path.
//!
//! Everything that can be decided without the context was decided by the
//! compiler: paths are split, literals are typed, case-folded, sorted and
//! parsed, regexes are built. Evaluating never allocates, never panics, and
//! treats a missing attribute or a value of the wrong type as "no match".

pub(crate) mod compile;

use crate::syntax::ast::Expr;
use crate::value::datetime::{self, Instant};
use crate::value::semver::{self, OwnedVersion};
use crate::value::{key_eq, Context, Number, Value};
use std::cmp::Ordering;
use std::sync::Arc;

/// A compiled boolean expression, as a tree (the compiler's output before
/// it becomes a [`Program`]).
#[derive(Debug)]
pub(crate) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Test(Test),
    Segment(Arc<Segment>),
}

/// A named segment, compiled once and shared by every rule (and segment)
/// that refers to it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub name: Box<str>,
    pub expr: Expr,
    pub program: Program,
    /// The segments its expression refers to, for explanations.
    pub uses: Box<[Arc<Segment>]>,
    /// How deeply segments nest below it, itself included.
    pub depth: usize,
    /// How many tests one evaluation may run, each use of a segment counted
    /// in full.
    pub cost: usize,
}

/// A test on one attribute.
#[derive(Debug)]
pub(crate) struct Test {
    pub attr: Attr,
    pub check: Check,
    /// `!=` / `not in`: on a single value, true when it has a type the
    /// test compares and does not match; on a list, true when no element
    /// matches. Still false when the attribute is missing or `null`.
    pub negate: bool,
}

/// An attribute path, split once.
#[derive(Debug)]
pub(crate) struct Attr {
    pub dotted: Box<str>,
    /// The keys of a dotted path; empty for a single key (the common
    /// case, found by `dotted` alone), which then costs no allocation.
    pub segments: Box<[Box<str>]>,
}

impl Attr {
    pub(crate) fn new(path: &crate::syntax::ast::Path) -> Attr {
        match path.segments.as_slice() {
            [one] => Attr {
                dotted: one.as_str().into(),
                segments: Box::default(),
            },
            many => Attr {
                dotted: path.dotted().into(),
                segments: many.iter().map(|s| s.as_str().into()).collect(),
            },
        }
    }
}

/// What is checked of a value.
#[derive(Debug)]
pub(crate) enum Check {
    /// Present and not `null`.
    Exists,
    /// The boolean `true`.
    Truthy,
    /// Equal to one string (case-sensitive): the common `a == "x"`.
    StrEq(Box<str>),
    /// Equal to one of a set of literals.
    Equals(ValueSet),
    /// A numeric ordering against any of the numbers.
    Order(Ordering, bool, Box<[Number]>),
    /// A string test against any of the needles.
    Text(TextOp, bool, Box<[Box<str>]>),
    /// A regex search with any of the patterns, on strings of at most so
    /// many bytes (`Limits::max_regex_input_len`): a longer string does not
    /// match, so one evaluation costs at most that much per pattern.
    Regex(Box<[regex::Regex]>, usize),
    /// Strictly before (`false`) or after (`true`) any of the instants.
    Time(bool, Box<[Instant]>),
    /// A version comparison against any of the versions; the orderings
    /// that count as a match.
    SemVer(&'static [Ordering], Box<[OwnedVersion]>),
}

/// The string operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    StartsWith,
    EndsWith,
    Contains,
}

/// The literals of an equality test, grouped by type.
#[derive(Debug, Default)]
pub(crate) struct ValueSet {
    /// Sorted and deduplicated; lowercased when `fold`.
    pub strings: Box<[Box<str>]>,
    pub numbers: Box<[Number]>,
    pub has_true: bool,
    pub has_false: bool,
    pub fold: bool,
}

/// Above this many strings, membership uses binary search.
const LINEAR_MAX: usize = 8;

/// A boolean expression as a branch program: each step runs one test and
/// jumps to the next step, or to the answer, on its result. `and`, `or`
/// and `not` become jumps (short-circuiting exactly as the tree would), so
/// evaluation is a flat loop: no recursion and no stack however the rule
/// nests, and each test runs at most once.
#[derive(Debug)]
pub(crate) struct Program {
    steps: Box<[Step]>,
    entry: u32,
    /// How many leaves (tests and segment references) the expression has.
    leaves: u32,
}

#[derive(Debug)]
struct Step {
    test: Probe,
    if_true: u32,
    if_false: u32,
    /// Which leaf of the expression this step tests, counted in reading
    /// order (the syntax tree's pre-order), for explanations.
    leaf: u32,
}

/// Watches a program run: told each leaf's result as it is tested. The
/// evaluation order is the program's own; an observer only listens, and
/// `()` listens to nothing (and compiles to nothing).
pub(crate) trait Observer {
    /// Leaf `leaf` (in reading order) was tested and gave `result`.
    fn leaf(&mut self, leaf: u32, result: bool);
}

impl Observer for () {
    #[inline(always)]
    fn leaf(&mut self, _leaf: u32, _result: bool) {}
}

/// What a step evaluates.
#[derive(Debug)]
enum Probe {
    Test(Test),
    /// A segment's own program. The loader bounds how deeply segments
    /// nest, so this recursion is shallow.
    Segment(Arc<Segment>),
}

impl Probe {
    #[inline]
    fn eval(&self, ctx: &Context<'_>) -> bool {
        match self {
            Probe::Test(test) => test.eval(ctx),
            Probe::Segment(segment) => segment.program.eval(ctx),
        }
    }
}

/// Jump targets that end the program with an answer.
const TRUE: u32 = u32::MAX;
const FALSE: u32 = u32::MAX - 1;

impl Program {
    pub(crate) fn new(node: Node) -> Program {
        let mut steps = Vec::new();
        // `emit` meets the leaves in exactly the reverse of reading order
        // (it builds each `and`/`or` from its last operand back), so it
        // numbers them downward from the count.
        let leaves = u32::try_from(count_leaves(&node)).unwrap_or(u32::MAX);
        let mut next_leaf = leaves;
        let entry = emit(node, TRUE, FALSE, &mut steps, &mut next_leaf);
        Program {
            steps: steps.into_boxed_slice(),
            entry,
            leaves,
        }
    }

    /// How many leaves the expression has: the size an observer's record
    /// of results needs.
    pub(crate) fn leaves(&self) -> usize {
        self.leaves as usize
    }

    #[inline]
    pub(crate) fn eval(&self, ctx: &Context<'_>) -> bool {
        self.run(ctx, &mut ())
    }

    /// Evaluates, telling `observer` each leaf's result as it is tested.
    #[inline]
    pub(crate) fn run<O: Observer>(&self, ctx: &Context<'_>, observer: &mut O) -> bool {
        let mut at = self.entry;
        // `emit` creates a step's targets before the step itself, so every
        // jump goes to a lower index or to an answer: the loop ends within
        // as many turns as there are steps.
        loop {
            match at {
                TRUE => return true,
                FALSE => return false,
                _ => {
                    // Every jump target is a step index or an answer.
                    let Some(step) = self.steps.get(at as usize) else {
                        return false;
                    };
                    let result = step.test.eval(ctx);
                    observer.leaf(step.leaf, result);
                    at = if result { step.if_true } else { step.if_false };
                }
            }
        }
    }
}

/// Appends the steps of `node` and returns its entry: where to go to
/// evaluate it, continuing at `if_true` or `if_false` with its value.
fn emit(node: Node, if_true: u32, if_false: u32, steps: &mut Vec<Step>, leaf: &mut u32) -> u32 {
    let probe = match node {
        Node::Test(test) => Probe::Test(test),
        Node::Segment(segment) => Probe::Segment(segment),
        Node::Not(inner) => return emit(*inner, if_false, if_true, steps, leaf),
        Node::And(xs) => {
            return xs
                .into_vec()
                .into_iter()
                .rev()
                .fold(if_true, |next, x| emit(x, next, if_false, steps, leaf))
        }
        Node::Or(xs) => {
            return xs
                .into_vec()
                .into_iter()
                .rev()
                .fold(if_false, |next, x| emit(x, if_true, next, steps, leaf))
        }
    };
    // Rules have far fewer than 2^32 - 2 tests (they are bounded by the
    // rule length limit).
    let at = u32::try_from(steps.len()).unwrap_or(FALSE);
    *leaf = leaf.saturating_sub(1);
    steps.push(Step {
        test: probe,
        if_true,
        if_false,
        leaf: *leaf,
    });
    at
}

fn count_leaves(node: &Node) -> usize {
    match node {
        Node::And(xs) | Node::Or(xs) => xs.iter().map(count_leaves).sum(),
        Node::Not(inner) => count_leaves(inner),
        Node::Test(_) | Node::Segment(_) => 1,
    }
}

impl Test {
    #[inline]
    fn eval(&self, ctx: &Context<'_>) -> bool {
        let found = if self.attr.segments.is_empty() {
            ctx.get(&self.attr.dotted)
        } else {
            ctx.lookup(&self.attr.dotted, &self.attr.segments)
        };
        let Some(value) = found else {
            return false;
        };
        if let Value::String(s) = value {
            // The two commonest tests, inline: a string equal to one
            // literal, and a case-sensitive prefix or suffix test with one
            // needle. Everything else is out of line, so that this stays
            // small (a short prologue, no large stack frame).
            match &self.check {
                Check::StrEq(want) => return key_eq(s.as_bytes(), want.as_bytes()) != self.negate,
                Check::Text(op @ (TextOp::StartsWith | TextOp::EndsWith), false, needles) => {
                    if let [needle] = &**needles {
                        return text_test(*op, false, s, needle) != self.negate;
                    }
                }
                _ => {}
            }
        }
        self.eval_value(value)
    }

    /// The test on a value found, in general.
    #[inline(never)]
    fn eval_value(&self, value: &Value<'_>) -> bool {
        match (&self.check, value) {
            (_, Value::Null) => false,
            (Check::Exists, _) => true,
            (_, Value::List(items)) => {
                let any = items.iter().any(|v| self.check.scalar(v) == Some(true));
                if self.negate {
                    !any
                } else {
                    any
                }
            }
            (check, v) => check.scalar(v) == Some(!self.negate),
        }
    }
}

impl Check {
    /// The test on one scalar value: `None` when the value's type is not
    /// one this test compares with.
    fn scalar(&self, value: &Value<'_>) -> Option<bool> {
        match (self, value) {
            (Check::Exists, Value::Null) => Some(false),
            (Check::Exists, _) => Some(true),
            (Check::Truthy, Value::Bool(b)) => Some(*b),
            (Check::StrEq(want), Value::String(s)) => Some(key_eq(s.as_bytes(), want.as_bytes())),
            (Check::StrEq(_), _) => None,
            (Check::Equals(set), v) => set.contains(v),
            (Check::Order(want, or_equal, numbers), Value::Number(n)) => {
                Some(numbers.iter().any(|m| match n.compare(*m) {
                    Some(Ordering::Equal) => *or_equal,
                    Some(o) => o == *want,
                    None => false,
                }))
            }
            (Check::Text(op, fold, needles), Value::String(s)) if needles.len() == 1 => {
                Some(text_test(*op, *fold, s, &needles[0]))
            }
            (Check::Text(op, fold, needles), Value::String(s)) => Some(
                needles
                    .iter()
                    .any(|needle| text_test(*op, *fold, s, needle)),
            ),
            (Check::Regex(regexes, max_len), Value::String(s)) => {
                Some(s.len() <= *max_len && regexes.iter().any(|re| re.is_match(s)))
            }
            (Check::Time(after, instants), v) => {
                let t = instant_of(v)?;
                Some(
                    instants
                        .iter()
                        .any(|i| if *after { t > *i } else { t < *i }),
                )
            }
            (Check::SemVer(accept, versions), Value::String(s)) => {
                let v = semver::parse(s)?;
                Some(
                    versions
                        .iter()
                        .any(|w| accept.contains(&semver::compare(v, w.as_version()))),
                )
            }
            _ => None,
        }
    }
}

fn instant_of(value: &Value<'_>) -> Option<Instant> {
    match value {
        Value::String(s) => datetime::parse_rfc3339(s),
        Value::Number(Number::Int(ms)) => Some(datetime::from_millis_int(*ms)),
        Value::Number(Number::Float(ms)) => datetime::from_millis_float(*ms),
        _ => None,
    }
}

impl ValueSet {
    fn contains(&self, value: &Value<'_>) -> Option<bool> {
        let empty = self.strings.is_empty() && self.numbers.is_empty();
        if empty && !self.has_true && !self.has_false {
            // `x in []` holds for nothing, so `x not in []` for any value.
            return Some(false);
        }
        match value {
            Value::String(s) if !self.strings.is_empty() => Some(self.contains_str(s)),
            Value::Number(n) if !self.numbers.is_empty() => {
                Some(self.numbers.iter().any(|m| n == m))
            }
            Value::Bool(b) if self.has_true || self.has_false => {
                Some(if *b { self.has_true } else { self.has_false })
            }
            _ => None,
        }
    }

    fn contains_str(&self, s: &str) -> bool {
        let strings = &self.strings;
        match (self.fold, strings.len() <= LINEAR_MAX) {
            (false, true) => strings.iter().any(|x| key_eq(x.as_bytes(), s.as_bytes())),
            (false, false) => strings.binary_search_by(|x| x.as_ref().cmp(s)).is_ok(),
            (true, true) => strings.iter().any(|x| cmp_folded(s, x) == Ordering::Equal),
            (true, false) => strings
                .binary_search_by(|x| cmp_folded(s, x).reverse())
                .is_ok(),
        }
    }
}

/// Case folding, one character at a time: the lowercase of the uppercase,
/// so that `σ`, `ς` and `Σ` fold alike, `ſ` folds to `s` and `ß` to `ss`.
/// The compiler applies the same folding to literals, so that folded
/// literals compare with raw input.
pub(crate) fn fold(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
}

/// Compares the folded form of `s` with `folded` (already folded).
fn cmp_folded(s: &str, folded: &str) -> Ordering {
    fold(s).cmp(folded.chars())
}

#[inline]
fn text_test(op: TextOp, fold_case: bool, s: &str, needle: &str) -> bool {
    if fold_case {
        return folded_text_test(op, s, needle);
    }
    {
        match op {
            TextOp::StartsWith => {
                let (s, n) = (s.as_bytes(), needle.as_bytes());
                s.len() >= n.len() && key_eq(&s[..n.len()], n)
            }
            TextOp::EndsWith => {
                let (s, n) = (s.as_bytes(), needle.as_bytes());
                s.len() >= n.len() && key_eq(&s[s.len() - n.len()..], n)
            }
            TextOp::Contains => contains(s, needle),
        }
    }
}

/// A substring search, out of line: the searcher is large, and inlined
/// it would make every test's frame large.
#[inline(never)]
fn contains(s: &str, needle: &str) -> bool {
    s.contains(needle)
}

/// The case-insensitive string tests, kept out of line so that the common
/// case-sensitive path stays small.
#[inline(never)]
fn folded_text_test(op: TextOp, s: &str, needle: &str) -> bool {
    // `needle` is already lowercase. For ASCII input, ASCII folding is the
    // same as Unicode folding and much cheaper.
    if s.is_ascii() && needle.is_ascii() {
        let (s, n) = (s.as_bytes(), needle.as_bytes());
        return match op {
            TextOp::StartsWith => s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n),
            TextOp::EndsWith => {
                s.len() >= n.len() && s[s.len() - n.len()..].eq_ignore_ascii_case(n)
            }
            TextOp::Contains => {
                n.is_empty() || s.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
            }
        };
    }
    match op {
        TextOp::StartsWith => starts_with_folded(s, needle),
        TextOp::EndsWith => {
            let mut hay = fold(s).rev();
            needle.chars().rev().all(|c| hay.next() == Some(c))
        }
        TextOp::Contains => {
            needle.is_empty()
                || s.char_indices()
                    .any(|(i, _)| starts_with_folded(s.get(i..).unwrap_or(""), needle))
        }
    }
}

fn starts_with_folded(s: &str, needle: &str) -> bool {
    let mut hay = fold(s);
    needle.chars().all(|c| hay.next() == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_text_tests() {
        use TextOp::*;
        assert!(text_test(
            EndsWith,
            true,
            "Bob@Internal.COM",
            "@internal.com"
        ));
        assert!(text_test(StartsWith, true, "ÉCOLE", "éc"));
        assert!(text_test(EndsWith, true, "straßE", "sse"));
        assert!(text_test(EndsWith, true, "STRASSE", "sse"));
        assert!(text_test(Contains, true, "xxÄbcxx", "äbc"));
        assert!(!text_test(Contains, true, "xxÄbxx", "äbc"));
        assert!(!text_test(
            EndsWith,
            false,
            "a@INTERNAL.com",
            "@internal.com"
        ));
        // The Kelvin sign lowercases to an ASCII `k`.
        assert!(text_test(StartsWith, true, "\u{212A}ey", "key"));
    }

    #[test]
    fn folded_membership_uses_the_same_order_as_the_sorted_set() {
        let mut words: Vec<Box<str>> = (0..40).map(|i| format!("w{i}é").into()).collect();
        words.sort();
        let set = ValueSet {
            strings: words.into_boxed_slice(),
            fold: true,
            ..ValueSet::default()
        };
        assert!(set.contains_str("W17É"));
        assert!(!set.contains_str("W17E"));
    }
}
