//! Explanations: the whole decision traced step by step, down to each
//! sub-condition and the attribute value it saw. The flag's own evaluation
//! order runs with a tracer, and each rule's compiled program runs with an
//! observer of its leaves; the syntax tree only gives the conditions their
//! text and shape. The plain evaluation runs the same code with no-op
//! hooks, so it pays nothing.

use super::decision::{Decision, Reason};
use super::flag::{Flag, RuleList, Tracer};
use super::rule::Rule;
use super::schedule::Now;
use super::variant::Serve;
use crate::plan::{Observer, Program, Segment};
use crate::syntax::ast::{Expr, ExprKind, Path};
use crate::value::{Context, Value};
use serde::Serialize;
use std::fmt::{self, Write};
use std::sync::Arc;
use std::time::SystemTime;

/// A traced decision: [`Flag::explain`].
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The decision, the same as [`Flag::evaluate`] gives.
    #[serde(skip)]
    pub decision: Decision,
    /// Each step of the evaluation order that ran, in order.
    pub steps: Vec<ExplainStep>,
}

/// One step of the evaluation order.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainStep {
    /// `kill_switch`, `enabled`, `requires[0]`, `allow_list[0]`, `deny_list[1]`,
    /// `rollout`, and `variant` for a flag with variants (what it serves).
    pub step: String,
    /// What the step found (`off`, `matched`, `no match`, `bucket 45 >= 20`).
    pub outcome: String,
    /// Whether this step decided.
    pub decided: bool,
    /// For a rule, the trace of its conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

/// One condition of a rule and what it evaluated to.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// The condition, as canonical rule text.
    pub condition: String,
    /// Its value, or `None` when short-circuiting skipped it.
    pub result: Option<bool>,
    /// For a test on an attribute: the value it saw (`missing` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    /// The operands of `and`, `or` and `not`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operands: Vec<Trace>,
}

impl Flag {
    /// Evaluates the flag like [`Flag::evaluate`] and records every step.
    ///
    /// ```
    /// use killswitch::{Context, FlagSet};
    /// let flags = FlagSet::from_json(r#"{"flag_key": "f", "enabled": true,
    ///     "targeting_rules": {"allow_list": ["plan == 'pro' and not beta"]}}"#)?;
    /// let ctx = Context::new().with("user_id", "u1").with("plan", "pro");
    /// let explanation = flags.get("f").unwrap().explain(&ctx);
    /// assert!(explanation.decision.enabled);
    /// assert_eq!(explanation.to_string(), "\
    /// kill_switch: off
    /// enabled: on
    /// allow_list[0]: matched (decides: on)
    ///   plan == \"pro\" and not beta: true
    ///     plan == \"pro\": true (plan = \"pro\")
    ///     not beta: true
    ///       beta: false (beta = missing)
    /// ");
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn explain(&self, ctx: &Context<'_>) -> Explanation {
        self.explain_at(ctx, SystemTime::now())
    }

    /// [`Flag::explain`] as at time `now` (see [`Flag::evaluate_at`]).
    ///
    /// The explanation runs the same evaluation order and the same compiled
    /// rules as [`Flag::evaluate_at`], watching them: what it reports is
    /// what evaluation did.
    pub fn explain_at(&self, ctx: &Context<'_>, now: SystemTime) -> Explanation {
        let mut recorder = StepRecorder { steps: Vec::new() };
        let decision = self.decide_traced(ctx, &Now::at(now), &mut recorder);
        let mut steps = recorder.steps;
        if let Some(outcome) = self.rollout_outcome(&decision) {
            steps.push(step("rollout", outcome, true, None));
        }
        if let Some(outcome) = self.variant_outcome(&decision) {
            steps.push(step("variant", outcome, false, None));
        }
        Explanation { decision, steps }
    }

    /// Which variant a decision serves and why, for a flag with variants.
    fn variant_outcome(&self, decision: &Decision) -> Option<String> {
        let variants = self.variants.as_ref()?;
        let index = decision.variant?;
        let name = self.variant(index).map_or("?", |v| v.name());
        let why = if !decision.enabled {
            "off_variant: the flag is off".to_string()
        } else if let Some(i) = decision
            .reason
            .rule()
            .filter(|i| variants.pins.get(*i).copied().flatten().is_some())
        {
            format!("pinned by allow_list[{i}]")
        } else {
            match (&variants.serve, decision.split_bucket) {
                (Serve::On(_), _) => "on_variant".to_string(),
                (Serve::Split(arms), Some(b)) => {
                    let at = arms.iter().position(|a| b < a.upper).unwrap_or(0);
                    let upper = arms.get(at).map_or(0, |a| a.upper);
                    format!("split bucket {b} < {upper}: split[{at}]")
                }
                (Serve::Split(_), None) => format!(
                    "the split's first variant: no string {} to bucket",
                    self.bucket_by()
                ),
            }
        };
        Some(format!("{name} ({why})"))
    }

    /// What the rollout step found, when the evaluation reached it.
    fn rollout_outcome(&self, decision: &Decision) -> Option<String> {
        let reached = matches!(
            decision.reason,
            Reason::InRollout | Reason::OutOfRollout | Reason::MissingUserId | Reason::NoRollout
        );
        if !reached {
            return None;
        }
        let source = match decision.schedule_step {
            Some(i) => format!(" (rollout_schedule[{i}])"),
            None if self.has_schedule() => " (before the schedule's first entry)".to_string(),
            None => String::new(),
        };
        Some(match (decision.percentage, decision.bucket) {
            (None, _) => "no rollout_percentage (decides: off)".to_string(),
            (Some(p), None) => format!(
                "{p}%{source}, but no string {} to bucket (decides: off)",
                self.bucket_by()
            ),
            (Some(p), Some(b)) => {
                let cmp = if b < p { "<" } else { ">=" };
                format!("bucket {b} {cmp} {p}%{source} (decides: {})", on_off(b < p))
            }
        })
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn step(name: &str, outcome: String, decided: bool, trace: Option<Trace>) -> ExplainStep {
    ExplainStep {
        step: name.to_string(),
        outcome,
        decided,
        trace,
    }
}

/// Records each step of the evaluation order as it runs.
struct StepRecorder {
    steps: Vec<ExplainStep>,
}

impl Tracer for StepRecorder {
    fn kill_switch(&mut self, on: bool) {
        self.steps
            .push(step("kill_switch", on_off(on).into(), on, None));
    }

    fn enabled(&mut self, on: bool) {
        self.steps
            .push(step("enabled", on_off(on).into(), !on, None));
    }

    fn prerequisite(&mut self, index: usize, parent: &Flag, d: Decision) {
        let outcome = if d.enabled {
            format!("{} is on ({})", parent.key(), d.reason)
        } else {
            format!("{} is off ({}) (decides: off)", parent.key(), d.reason)
        };
        self.steps.push(step(
            &format!("requires[{index}]"),
            outcome,
            !d.enabled,
            None,
        ));
    }

    fn rule(&mut self, list: RuleList, index: usize, rule: &Rule, ctx: &Context<'_>) -> bool {
        let (name, verdict) = match list {
            RuleList::Allow => ("allow_list", "on"),
            RuleList::Deny => ("deny_list", "off"),
        };
        let mut leaves = LeafResults::new(rule.program());
        let matched = rule.program().run(ctx, &mut leaves);
        let trace = trace(rule.expr(), &leaves.0, &mut 0, ctx, &rule.segments);
        let outcome = if matched {
            format!("matched (decides: {verdict})")
        } else {
            "no match".to_string()
        };
        self.steps.push(step(
            &format!("{name}[{index}]"),
            outcome,
            matched,
            Some(trace),
        ));
        matched
    }
}

/// Each leaf's result as a program ran (`None`: short-circuited).
struct LeafResults(Vec<Option<bool>>);

impl LeafResults {
    fn new(program: &Program) -> LeafResults {
        LeafResults(vec![None; program.leaves()])
    }
}

impl Observer for LeafResults {
    fn leaf(&mut self, leaf: u32, result: bool) {
        if let Some(slot) = self.0.get_mut(leaf as usize) {
            *slot = Some(result);
        }
    }
}

/// Traces `expr` from the results its compiled leaves gave (`results`,
/// in reading order from `*next`); its segment references are among
/// `segments`.
fn trace(
    expr: &Expr,
    results: &[Option<bool>],
    next: &mut usize,
    ctx: &Context<'_>,
    segments: &[Arc<Segment>],
) -> Trace {
    let condition = expr.to_string();
    match &expr.kind {
        ExprKind::And(xs) | ExprKind::Or(xs) => {
            let stop_at = matches!(expr.kind, ExprKind::Or(_));
            let mut operands = Vec::new();
            let mut decided = None;
            for x in xs {
                if decided.is_some() {
                    *next += leaves(x);
                    operands.push(skipped(x));
                    continue;
                }
                let t = trace(x, results, next, ctx, segments);
                if t.result == Some(stop_at) {
                    decided = Some(stop_at);
                }
                operands.push(t);
            }
            Trace {
                condition,
                result: Some(decided.unwrap_or(!stop_at)),
                seen: None,
                operands,
            }
        }
        ExprKind::Not(x) => {
            let inner = trace(x, results, next, ctx, segments);
            Trace {
                condition,
                result: inner.result.map(|r| !r),
                seen: None,
                operands: vec![inner],
            }
        }
        ExprKind::Compare(c) => leaf(&c.path, take(results, next), ctx, condition),
        ExprKind::Exists(p) | ExprKind::Truthy(p) => leaf(p, take(results, next), ctx, condition),
        ExprKind::Segment(name) => {
            let result = take(results, next);
            match (result, segments.iter().find(|s| *s.name == **name)) {
                // The segment's own expression, traced from its own program
                // (segments nest at most `MAX_SEGMENT_DEPTH` deep).
                (Some(result), Some(segment)) => {
                    let mut inner = LeafResults::new(&segment.program);
                    segment.program.run(ctx, &mut inner);
                    let inner = trace(&segment.expr, &inner.0, &mut 0, ctx, &segment.uses);
                    Trace {
                        condition,
                        result: Some(result),
                        seen: None,
                        operands: vec![inner],
                    }
                }
                _ => skipped(expr),
            }
        }
        // A node this version does not know: shown, not evaluated.
        #[allow(unreachable_patterns)]
        _ => skipped(expr),
    }
}

/// The next leaf's result.
fn take(results: &[Option<bool>], next: &mut usize) -> Option<bool> {
    let result = results.get(*next).copied().flatten();
    *next += 1;
    result
}

/// How many leaves `expr` has: as many as its program numbers.
fn leaves(expr: &Expr) -> usize {
    match &expr.kind {
        ExprKind::And(xs) | ExprKind::Or(xs) => xs.iter().map(leaves).sum(),
        ExprKind::Not(x) => leaves(x),
        _ => 1,
    }
}

fn skipped(expr: &Expr) -> Trace {
    Trace {
        condition: expr.to_string(),
        result: None,
        seen: None,
        operands: Vec::new(),
    }
}

fn leaf(path: &Path, result: Option<bool>, ctx: &Context<'_>, condition: String) -> Trace {
    let segments: Vec<Box<str>> = path.segments.iter().map(|s| s.as_str().into()).collect();
    let seen = match ctx.lookup(&path.dotted(), &segments) {
        None => "missing".to_string(),
        Some(v) => {
            let mut s = String::new();
            let _ = write_value(&mut s, v);
            s
        }
    };
    let mut name = String::new();
    let _ = crate::syntax::write_path(&mut name, path);
    Trace {
        condition,
        result,
        seen: Some(format!("{name} = {seen}")),
        operands: Vec::new(),
    }
}

/// Writes a value as JSON-like text.
fn write_value(out: &mut String, v: &Value<'_>) -> fmt::Result {
    match v {
        Value::Null => out.write_str("null"),
        Value::Bool(b) => write!(out, "{b}"),
        Value::Number(crate::value::Number::Int(i)) => write!(out, "{i}"),
        Value::Number(crate::value::Number::Float(f)) => write!(out, "{f:?}"),
        Value::String(s) => crate::syntax::write_string(out, s),
        Value::List(items) => {
            out.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_value(out, item)?;
            }
            out.write_char(']')
        }
        Value::Object(entries) => {
            out.write_char('{')?;
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                crate::syntax::write_string(out, k)?;
                out.write_str(": ")?;
                write_value(out, item)?;
            }
            out.write_char('}')
        }
    }
}

impl fmt::Display for Explanation {
    /// One line per step, each rule's conditions indented below it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{}: {}", step.step, step.outcome)?;
            if let Some(t) = &step.trace {
                write_trace(f, t, 1)?;
            }
        }
        Ok(())
    }
}

fn write_trace(f: &mut fmt::Formatter<'_>, t: &Trace, depth: usize) -> fmt::Result {
    let result = match t.result {
        Some(true) => "true",
        Some(false) => "false",
        None => "not evaluated",
    };
    write!(
        f,
        "{:indent$}{}: {result}",
        "",
        t.condition,
        indent = depth * 2
    )?;
    if let Some(seen) = &t.seen {
        write!(f, " ({seen})")?;
    }
    writeln!(f)?;
    for op in &t.operands {
        write_trace(f, op, depth + 1)?;
    }
    Ok(())
}
