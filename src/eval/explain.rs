//! Explanations: the whole decision traced step by step, down to each
//! sub-condition and the attribute value it saw. Built on demand by
//! walking the syntax tree, so the normal evaluation path pays nothing.

use super::decision::Decision;
use super::flag::Flag;
use super::rule::Rule;
use crate::eval::bucket::bucket;
use crate::limits::Limits;
use crate::plan::compile::compile;
use crate::plan::Segment;
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
    /// `rollout`.
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
    pub fn explain_at(&self, ctx: &Context<'_>, now: SystemTime) -> Explanation {
        let decision = self.evaluate_at(ctx, now);
        let mut steps = Vec::new();
        let mut step = |name: &str, outcome: String, decided: bool, trace| {
            steps.push(ExplainStep {
                step: name.to_string(),
                outcome,
                decided,
                trace,
            })
        };
        let on_off = |b: bool| if b { "on" } else { "off" };
        step(
            "kill_switch",
            on_off(self.kill_switch()).into(),
            self.kill_switch(),
            None,
        );
        if self.kill_switch() {
            return Explanation { decision, steps };
        }
        step(
            "enabled",
            on_off(self.enabled()).into(),
            !self.enabled(),
            None,
        );
        if !self.enabled() {
            return Explanation { decision, steps };
        }
        for (i, parent) in self.prerequisites().iter().enumerate() {
            let d = parent.evaluate_at(ctx, now);
            let outcome = if d.enabled {
                format!("{} is on ({})", parent.key(), d.reason)
            } else {
                format!("{} is off ({}) (decides: off)", parent.key(), d.reason)
            };
            step(&format!("requires[{i}]"), outcome, !d.enabled, None);
            if !d.enabled {
                return Explanation { decision, steps };
            }
        }
        for (list, rules, verdict) in [
            ("allow_list", self.allow_rules(), "on"),
            ("deny_list", self.deny_rules(), "off"),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                let trace = trace_rule(rule, ctx);
                let matched = trace.result == Some(true);
                let outcome = if matched {
                    format!("matched (decides: {verdict})")
                } else {
                    "no match".to_string()
                };
                step(&format!("{list}[{i}]"), outcome, matched, Some(trace));
                if matched {
                    return Explanation { decision, steps };
                }
            }
        }
        let source = match decision.schedule_step {
            Some(i) => format!(" (rollout_schedule[{i}])"),
            None if self.has_schedule() => " (before the schedule's first entry)".to_string(),
            None => String::new(),
        };
        let outcome = match (decision.percentage, self.bucket_key(ctx)) {
            (None, _) => "no rollout_percentage (decides: off)".to_string(),
            (Some(p), None) => format!(
                "{p}%{source}, but no string {} to bucket (decides: off)",
                self.bucket_by()
            ),
            (Some(p), Some(user)) => {
                let b = bucket(user, self.key());
                let cmp = if b < p { "<" } else { ">=" };
                format!("bucket {b} {cmp} {p}%{source} (decides: {})", on_off(b < p))
            }
        };
        step("rollout", outcome, true, None);
        Explanation { decision, steps }
    }
}

fn trace_rule(rule: &Rule, ctx: &Context<'_>) -> Trace {
    trace(rule.expr(), ctx, &rule.segments)
}

/// Traces `expr`, whose segment references are among `segments`.
fn trace(expr: &Expr, ctx: &Context<'_>, segments: &[Arc<Segment>]) -> Trace {
    let condition = expr.to_string();
    match &expr.kind {
        ExprKind::And(xs) | ExprKind::Or(xs) => {
            let stop_at = matches!(expr.kind, ExprKind::Or(_));
            let mut operands = Vec::new();
            let mut decided = None;
            for x in xs {
                if decided.is_some() {
                    operands.push(skipped(x));
                    continue;
                }
                let t = trace(x, ctx, segments);
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
            let inner = trace(x, ctx, segments);
            Trace {
                condition,
                result: inner.result.map(|r| !r),
                seen: None,
                operands: vec![inner],
            }
        }
        ExprKind::Compare(c) => leaf(expr, &c.path, ctx, condition),
        ExprKind::Exists(p) | ExprKind::Truthy(p) => leaf(expr, p, ctx, condition),
        ExprKind::Segment(name) => match segments.iter().find(|s| *s.name == **name) {
            // The segment's own expression, traced in turn (segments nest
            // at most `MAX_SEGMENT_DEPTH` deep).
            Some(segment) => {
                let inner = trace(&segment.expr, ctx, &segment.uses);
                Trace {
                    condition,
                    result: Some(segment.program.eval(ctx)),
                    seen: None,
                    operands: vec![inner],
                }
            }
            None => skipped(expr),
        },
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

fn leaf(expr: &Expr, path: &Path, ctx: &Context<'_>, condition: String) -> Trace {
    // The leaf compiled before (as part of its rule), so this cannot fail;
    // were it to, the trace says so rather than guessing.
    let result = compile(expr, &Limits::default())
        .ok()
        .map(|program| program.eval(ctx));
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
