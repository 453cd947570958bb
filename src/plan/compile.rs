//! [`Expr`] -> plan: literals checked against their operators, typed,
//! folded, sorted and parsed once; regexes built once, within limits.

use crate::error::{Error, ErrorKind, Span};
use crate::limits::Limits;
use crate::plan::{Attr, Check, Node, Program, Segment, Test, TextOp, ValueSet};
use crate::syntax::ast::{Compare, Expr, ExprKind, Literal, LiteralValue, Op, Path};
use crate::syntax::ops;
use crate::value::datetime;
use crate::value::semver;
use crate::value::Number;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// How deeply segments may refer to segments.
pub(crate) const MAX_SEGMENT_DEPTH: usize = 16;

/// How many tests one rule may run through its segments, each use of a
/// segment counted in full: segments that use each other several times
/// could otherwise multiply into billions.
pub(crate) const MAX_EXPANDED_TESTS: usize = 100_000;

/// With more segments than this, an unknown `@name` gets no suggestion and
/// no list of the names.
const MAX_LISTED_SEGMENTS: usize = 100;

/// The segments rules may refer to, by name. `None` marks a segment that is
/// declared but did not compile (its own error is reported).
#[derive(Debug, Default)]
pub(crate) struct SegmentTable {
    pub by_name: HashMap<String, Option<Arc<Segment>>>,
}

/// A compiled rule and what it took from its segments.
pub(crate) struct Compiled {
    pub program: Program,
    /// The segments referred to directly, each once.
    pub uses: Vec<Arc<Segment>>,
    /// How deeply segments nest below the rule (0 with none).
    pub depth: usize,
    /// How many tests one evaluation may run.
    pub cost: usize,
}

struct Cx<'a> {
    limits: &'a Limits,
    table: &'a SegmentTable,
    uses: Vec<Arc<Segment>>,
    depth: usize,
    cost: usize,
    spent: &'a mut Spent,
}

/// What the rules of one file (or one rule compiled alone) have used of
/// the budgets `Limits` gives a whole file.
#[derive(Debug, Default)]
pub(crate) struct Spent {
    /// The compiled size of every `matches` pattern so far, in bytes
    /// (bounded by `Limits::max_total_regex_size`).
    pub regex_bytes: usize,
}

/// Compiles an expression into a branch program. The tree's depth is
/// already bounded by the parser's nesting limit (or, for the structured
/// form, is constant), so the recursion here is safe.
pub(crate) fn compile(expr: &Expr, limits: &Limits) -> Result<Program, Error> {
    compile_in(expr, limits, &SegmentTable::default()).map(|c| c.program)
}

/// Compiles an expression whose `@segment` references resolve in `table`,
/// alone: its regexes have the whole `Limits::max_total_regex_size`.
pub(crate) fn compile_in(
    expr: &Expr,
    limits: &Limits,
    table: &SegmentTable,
) -> Result<Compiled, Error> {
    compile_within(expr, limits, table, &mut Spent::default())
}

/// Compiles an expression whose `@segment` references resolve in `table`,
/// charging its regexes to what the file has `spent` so far.
pub(crate) fn compile_within(
    expr: &Expr,
    limits: &Limits,
    table: &SegmentTable,
    spent: &mut Spent,
) -> Result<Compiled, Error> {
    let mut cx = Cx {
        limits,
        table,
        uses: Vec::new(),
        depth: 0,
        cost: 0,
        spent,
    };
    let node = compile_node(expr, &mut cx)?;
    if cx.cost > MAX_EXPANDED_TESTS {
        return Err(Error::at(
            ErrorKind::TooLong,
            expr.span,
            format!(
                "with its segments, this rule runs up to {} tests; at most {MAX_EXPANDED_TESTS} are allowed",
                cx.cost
            ),
        )
        .with_help("segments that use each other several times multiply: use each once"));
    }
    Ok(Compiled {
        program: Program::new(node),
        uses: cx.uses,
        depth: cx.depth,
        cost: cx.cost,
    })
}

fn compile_node(expr: &Expr, cx: &mut Cx<'_>) -> Result<Node, Error> {
    Ok(match &expr.kind {
        ExprKind::Or(xs) => Node::Or(compile_all(xs, cx)?),
        ExprKind::And(xs) => Node::And(compile_all(xs, cx)?),
        ExprKind::Not(x) => Node::Not(Box::new(compile_node(x, cx)?)),
        ExprKind::Segment(name) => segment(name, expr.span, cx)?,
        ExprKind::Exists(path) => {
            cx.cost = cx.cost.saturating_add(1);
            test(path, Check::Exists, false)
        }
        ExprKind::Truthy(path) => {
            cx.cost = cx.cost.saturating_add(1);
            test(path, Check::Truthy, false)
        }
        ExprKind::Compare(c) => {
            cx.cost = cx.cost.saturating_add(1);
            compile_compare(c, cx.limits, cx.spent)?
        }
    })
}

fn compile_all(xs: &[Expr], cx: &mut Cx<'_>) -> Result<Box<[Node]>, Error> {
    xs.iter().map(|x| compile_node(x, cx)).collect()
}

/// A reference to a segment: its shared program.
fn segment(name: &str, span: Span, cx: &mut Cx<'_>) -> Result<Node, Error> {
    let found = match cx.table.by_name.get(name) {
        Some(Some(found)) => found,
        Some(None) => {
            return Err(Error::at(
                ErrorKind::UnknownSegment,
                span,
                format!("segment `@{name}` has errors"),
            )
            .with_help(format!("see the error reported at segments.{name}")))
        }
        None => {
            // With very many segments, neither a suggestion nor the list:
            // each would cost a pass over all names for every such error.
            let many = cx.table.by_name.len() > MAX_LISTED_SEGMENTS;
            let guess = if many {
                None
            } else {
                crate::suggest::closest(name, cx.table.by_name.keys().map(String::as_str))
            };
            let help = match guess {
                Some(g) => crate::suggest::did_you_mean(g, crate::suggest::Quote::Segment),
                None if many => "see the names declared in the config's \"segments\"".to_string(),
                None if cx.table.by_name.is_empty() => {
                    "segments are declared in the config file: {\"segments\": {\"name\": \"rule\"}, \"flags\": [...]}".to_string()
                }
                None => {
                    let mut names: Vec<&str> = cx.table.by_name.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    format!("the segments are @{}", names.join(", @"))
                }
            };
            return Err(Error::at(
                ErrorKind::UnknownSegment,
                span,
                format!("unknown segment `@{name}`"),
            )
            .with_help(help));
        }
    };
    if found.depth >= MAX_SEGMENT_DEPTH {
        return Err(Error::at(
            ErrorKind::TooDeep,
            span,
            format!("segments nest more than {MAX_SEGMENT_DEPTH} deep through `@{name}`"),
        ));
    }
    cx.depth = cx.depth.max(found.depth);
    cx.cost = cx.cost.saturating_add(found.cost);
    if !cx.uses.iter().any(|u| Arc::ptr_eq(u, found)) {
        cx.uses.push(Arc::clone(found));
    }
    Ok(Node::Segment(Arc::clone(found)))
}

fn test(path: &Path, check: Check, negate: bool) -> Node {
    Node::Test(Test {
        attr: Attr::new(path),
        check,
        negate,
    })
}

fn op_name(c: &Compare) -> &'static str {
    ops::canonical(c.op, c.ignore_case, c.values.len() != 1)
}

fn compile_compare(c: &Compare, limits: &Limits, spent: &mut Spent) -> Result<Node, Error> {
    if c.ignore_case && !c.op.can_ignore_case() {
        return Err(Error::at(
            ErrorKind::UnknownOperator,
            c.op_span,
            format!("`{}` has no case-insensitive form", op_name(c)),
        ));
    }
    let check = match c.op {
        Op::Eq | Op::Ne => match c.values.as_slice() {
            [Literal {
                value: LiteralValue::String(s),
                ..
            }] if !c.ignore_case => Check::StrEq(s.as_str().into()),
            _ => Check::Equals(value_set(&c.values, c.ignore_case)),
        },
        Op::Lt => Check::Order(Ordering::Less, false, numbers(c)?),
        Op::Le => Check::Order(Ordering::Less, true, numbers(c)?),
        Op::Gt => Check::Order(Ordering::Greater, false, numbers(c)?),
        Op::Ge => Check::Order(Ordering::Greater, true, numbers(c)?),
        Op::StartsWith => Check::Text(TextOp::StartsWith, c.ignore_case, needles(c)?),
        Op::EndsWith => Check::Text(TextOp::EndsWith, c.ignore_case, needles(c)?),
        Op::Contains => Check::Text(TextOp::Contains, c.ignore_case, needles(c)?),
        Op::Matches => Check::Regex(regexes(c, limits, spent)?, limits.max_regex_input_len),
        Op::Before => Check::Time(false, instants(c)?),
        Op::After => Check::Time(true, instants(c)?),
        Op::SemVerEq => Check::SemVer(&[Ordering::Equal], versions(c)?),
        Op::SemVerLt => Check::SemVer(&[Ordering::Less], versions(c)?),
        Op::SemVerLe => Check::SemVer(&[Ordering::Less, Ordering::Equal], versions(c)?),
        Op::SemVerGt => Check::SemVer(&[Ordering::Greater], versions(c)?),
        Op::SemVerGe => Check::SemVer(&[Ordering::Greater, Ordering::Equal], versions(c)?),
    };
    Ok(test(&c.path, check, c.op == Op::Ne))
}

fn value_set(values: &[Literal], fold: bool) -> ValueSet {
    let mut strings: Vec<Box<str>> = Vec::new();
    let mut numbers: Vec<Number> = Vec::new();
    let mut set = ValueSet {
        fold,
        ..ValueSet::default()
    };
    for literal in values {
        match &literal.value {
            LiteralValue::String(s) if fold => {
                strings.push(crate::plan::fold(s).collect::<String>().into())
            }
            LiteralValue::String(s) => strings.push(s.as_str().into()),
            LiteralValue::Int(i) => numbers.push(Number::Int(*i)),
            LiteralValue::Float(f) => numbers.push(Number::Float(*f)),
            LiteralValue::Bool(true) => set.has_true = true,
            LiteralValue::Bool(false) => set.has_false = true,
        }
    }
    strings.sort();
    strings.dedup();
    set.strings = strings.into_boxed_slice();
    set.numbers = numbers.into_boxed_slice();
    set
}

fn mismatch(c: &Compare, literal: &Literal, wants: &str) -> Error {
    Error::at(
        ErrorKind::TypeMismatch,
        literal.span,
        format!(
            "`{}` compares {wants}, but this is a {}",
            op_name(c),
            literal.value.type_name()
        ),
    )
}

fn numbers(c: &Compare) -> Result<Box<[Number]>, Error> {
    c.values
        .iter()
        .map(|literal| match &literal.value {
            LiteralValue::Int(i) => Ok(Number::Int(*i)),
            LiteralValue::Float(f) => Ok(Number::Float(*f)),
            LiteralValue::String(s) => {
                let err = mismatch(c, literal, "numbers");
                Err(if semver::parse(s).is_some() && s.contains('.') {
                    err.with_help(format!(
                        "to compare versions, use a semVer operator: `{} {} \"{s}\"`",
                        c.path.dotted(),
                        semver_name(c.op)
                    ))
                } else if datetime::parse_rfc3339(s).is_some() {
                    let word = if matches!(c.op, Op::Lt | Op::Le) {
                        "before"
                    } else {
                        "after"
                    };
                    err.with_help(format!("to compare date-times, use `{word}`"))
                } else if s.trim().parse::<f64>().is_ok() {
                    err.with_help(format!("to compare with the number, drop the quotes: {s}"))
                } else {
                    err.with_help("ordering operators compare numbers only")
                })
            }
            LiteralValue::Bool(_) => Err(mismatch(c, literal, "numbers")),
        })
        .collect()
}

fn semver_name(op: Op) -> &'static str {
    match op {
        Op::Lt => "semVerLessThan",
        Op::Le => "semVerLessThanOrEqual",
        Op::Gt => "semVerGreaterThan",
        _ => "semVerGreaterThanOrEqual",
    }
}

fn not_a_string(c: &Compare, literal: &Literal) -> Error {
    mismatch(c, literal, "strings").with_help("put the value in quotes to compare it as text")
}

fn strings(c: &Compare) -> Result<Vec<(&str, Span)>, Error> {
    c.values
        .iter()
        .map(|literal| match &literal.value {
            LiteralValue::String(s) => Ok((s.as_str(), literal.span)),
            _ => Err(not_a_string(c, literal)),
        })
        .collect()
}

fn needles(c: &Compare) -> Result<Box<[Box<str>]>, Error> {
    // One allocation for the list, none for a vector grown on the way.
    let mut out = Vec::with_capacity(c.values.len());
    for literal in &c.values {
        let LiteralValue::String(s) = &literal.value else {
            return Err(not_a_string(c, literal));
        };
        out.push(if c.ignore_case {
            crate::plan::fold(s).collect::<String>().into()
        } else {
            s.as_str().into()
        });
    }
    Ok(out.into_boxed_slice())
}

fn regexes(c: &Compare, limits: &Limits, spent: &mut Spent) -> Result<Box<[regex::Regex]>, Error> {
    strings(c)?
        .into_iter()
        .map(|(pattern, span)| {
            charge_regex(pattern, c.ignore_case, span, limits, spent)?;
            regex::RegexBuilder::new(pattern)
                .case_insensitive(c.ignore_case)
                .size_limit(limits.max_regex_size)
                .dfa_size_limit(limits.max_regex_size)
                .build()
                .map_err(|e| regex_error(&e, span, limits))
        })
        .collect()
}

/// Charges a pattern's compiled size to the file's regex budget, before
/// the pattern itself is built: its Thompson NFA (what
/// `Limits::max_regex_size` bounds too) is built with a size limit of what
/// is left, so a file of many big patterns stops at the first one past the
/// budget instead of compiling them all. Errors in the pattern itself are
/// left to the regex builder, which reports them better.
fn charge_regex(
    pattern: &str,
    ignore_case: bool,
    span: Span,
    limits: &Limits,
    spent: &mut Spent,
) -> Result<(), Error> {
    use regex_automata::nfa::thompson;
    let left = limits
        .max_total_regex_size
        .saturating_sub(spent.regex_bytes);
    let built = thompson::Compiler::new()
        .syntax(regex_automata::util::syntax::Config::new().case_insensitive(ignore_case))
        .configure(thompson::Config::new().nfa_size_limit(Some(left.min(limits.max_regex_size))))
        .build(pattern);
    match built {
        Ok(nfa) => {
            spent.regex_bytes = spent.regex_bytes.saturating_add(nfa.memory_usage());
            Ok(())
        }
        // Too big for what is left of the file's budget, but not for one
        // pattern alone: the total is what is exceeded.
        Err(e) if left < limits.max_regex_size && is_too_big(&e) => {
            // Spent: later patterns fail at once instead of each building
            // up to what was left.
            spent.regex_bytes = limits.max_total_regex_size;
            Err(Error::at(
            ErrorKind::TooLong,
            span,
            format!(
                "with this pattern, the regular expressions of this file compile to more than {} bytes in all (`Limits::max_total_regex_size`)",
                limits.max_total_regex_size
            ),
        )
        .with_help("use fewer or smaller patterns (an `in` list or `startsWith` is cheaper), or raise `Limits::max_total_regex_size`"))
        }
        // Too big alone, or invalid: the regex builder says so.
        Err(_) => Ok(()),
    }
}

/// Whether building an NFA failed on its size limit.
fn is_too_big(err: &regex_automata::nfa::thompson::BuildError) -> bool {
    err.size_limit().is_some()
}

fn regex_error(err: &regex::Error, span: Span, limits: &Limits) -> Error {
    match err {
        regex::Error::CompiledTooBig(_) => Error::at(
            ErrorKind::InvalidRegex,
            span,
            format!(
                "regular expression is too big once compiled (limit {} bytes)",
                limits.max_regex_size
            ),
        )
        .with_help("simplify the pattern, or raise `Limits::max_regex_size`"),
        other => {
            // regex's own message ends with its one-line reason.
            let text = other.to_string();
            let reason = text
                .lines()
                .rev()
                .find(|l| l.trim_start().starts_with("error:"))
                .map_or(text.as_str(), |l| {
                    l.trim_start().trim_start_matches("error: ")
                });
            Error::at(
                ErrorKind::InvalidRegex,
                span,
                format!("invalid regular expression: {reason}"),
            )
            .with_help("`matches` uses Rust regex syntax, see https://docs.rs/regex/#syntax")
        }
    }
}

fn instants(c: &Compare) -> Result<Box<[datetime::Instant]>, Error> {
    c.values
        .iter()
        .map(|literal| {
            let instant = match &literal.value {
                LiteralValue::String(s) => datetime::parse_rfc3339(s),
                LiteralValue::Int(ms) => Some(datetime::from_millis_int(*ms)),
                LiteralValue::Float(ms) => datetime::from_millis_float(*ms),
                LiteralValue::Bool(_) => None,
            };
            instant.ok_or_else(|| {
                let mut err = Error::at(
                    ErrorKind::InvalidDateTime,
                    literal.span,
                    format!(
                        "`{}` needs an RFC 3339 date-time or epoch milliseconds",
                        op_name(c)
                    ),
                );
                err = match &literal.value {
                    LiteralValue::String(s) if s.len() == 10 => {
                        err.with_help(format!("add a time and an offset: \"{s}T00:00:00Z\""))
                    }
                    _ => err.with_help("for example \"2025-03-01T09:00:00Z\" or 1740819600000"),
                };
                err
            })
        })
        .collect()
}

fn versions(c: &Compare) -> Result<Box<[semver::OwnedVersion]>, Error> {
    strings(c)?
        .into_iter()
        .map(|(s, span)| {
            semver::parse(s)
                .map(semver::Version::to_owned_version)
                .ok_or_else(|| {
                    let err = Error::at(
                        ErrorKind::InvalidVersion,
                        span,
                        format!("\"{s}\" is not a semantic version"),
                    );
                    match s.strip_prefix(['v', 'V']) {
                        Some(rest) if semver::parse(rest).is_some() => {
                            err.with_help(format!("drop the leading `v`: \"{rest}\""))
                        }
                        _ => err.with_help("for example \"2.1.0\", \"2.1\" or \"3.0.0-beta.2\""),
                    }
                })
        })
        .collect()
}
