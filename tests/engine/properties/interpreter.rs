//! A direct, naive interpreter of the AST over `serde_json::Value`, written
//! from the README's semantics and independent of the compiler: no
//! folding at compile time, no sorted sets, no specialised checks, and
//! versions and times looked up in the hand-made tables of `gen`.

use super::gen::{TIMES, VERSIONS};
use killswitch::ast::{Compare, Expr, ExprKind, LiteralValue, Op, Path};
use serde_json::Value as Json;

pub fn eval(expr: &Expr, ctx: &Json) -> bool {
    match &expr.kind {
        ExprKind::Or(xs) => xs.iter().any(|x| eval(x, ctx)),
        ExprKind::And(xs) => xs.iter().all(|x| eval(x, ctx)),
        ExprKind::Not(x) => !eval(x, ctx),
        ExprKind::Exists(p) => !matches!(lookup(p, ctx), None | Some(Json::Null)),
        ExprKind::Truthy(p) => match lookup(p, ctx) {
            Some(Json::Bool(b)) => *b,
            Some(Json::Array(items)) => items.iter().any(|v| v == &Json::Bool(true)),
            _ => false,
        },
        ExprKind::Compare(c) => compare(c, ctx),
        ExprKind::Segment(name) => panic!("generated rules use no segments (@{name})"),
    }
}

fn lookup<'j>(path: &Path, ctx: &'j Json) -> Option<&'j Json> {
    let dotted = path.segments.join(".");
    if let Some(v) = ctx.get(&dotted) {
        return Some(v);
    }
    if path.segments.len() < 2 {
        return None;
    }
    let mut v = ctx;
    for seg in &path.segments {
        v = v.as_object()?.get(seg)?;
    }
    Some(v)
}

fn compare(c: &Compare, ctx: &Json) -> bool {
    let value = match lookup(&c.path, ctx) {
        None | Some(Json::Null) => return false,
        Some(v) => v,
    };
    let negate = c.op == Op::Ne;
    match value {
        Json::Array(items) => {
            let any = items.iter().any(|v| positive(c, v) == Some(true));
            any != negate
        }
        v => positive(c, v) == Some(!negate),
    }
}

/// Case folding as the README defines it: per character, lowercase of
/// uppercase (no context rules such as final sigma).
fn lower(s: &str) -> String {
    s.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

fn number(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn lit_number(l: &LiteralValue) -> Option<f64> {
    match l {
        LiteralValue::Int(i) => Some(*i as f64),
        LiteralValue::Float(f) => Some(*f),
        _ => None,
    }
}

fn lit_str(l: &LiteralValue) -> Option<&str> {
    match l {
        LiteralValue::String(s) => Some(s),
        _ => None,
    }
}

/// Epoch milliseconds (fractional ones too) of a context value.
fn time_of(v: &Json) -> Option<f64> {
    match v {
        Json::String(s) => TIMES.iter().find(|(t, _)| t == s).map(|(_, ms)| *ms as f64),
        Json::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn rank(s: &str) -> Option<u32> {
    VERSIONS.iter().find(|(v, _)| *v == s).map(|(_, r)| *r)
}

/// The positive form of the comparison on one scalar: `None` when the
/// value's type is not one the comparison compares with.
fn positive(c: &Compare, v: &Json) -> Option<bool> {
    let mut lits = c.values.iter().map(|l| &l.value);
    match c.op {
        Op::Eq | Op::Ne if c.values.is_empty() => Some(false),
        Op::Eq | Op::Ne => match v {
            Json::String(s) => {
                let strs: Vec<&str> = lits.filter_map(lit_str).collect();
                if strs.is_empty() {
                    return None;
                }
                Some(strs.iter().any(|l| {
                    if c.ignore_case {
                        lower(l) == lower(s)
                    } else {
                        l == s
                    }
                }))
            }
            Json::Number(_) => {
                let nums: Vec<f64> = lits.filter_map(lit_number).collect();
                if nums.is_empty() {
                    return None;
                }
                Some(nums.contains(&number(v)?))
            }
            Json::Bool(b) => {
                let bools: Vec<bool> = lits
                    .filter_map(|l| match l {
                        LiteralValue::Bool(b) => Some(*b),
                        _ => None,
                    })
                    .collect();
                if bools.is_empty() {
                    return None;
                }
                Some(bools.contains(b))
            }
            _ => None,
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let x = match v {
                Json::Number(_) => number(v)?,
                _ => return None,
            };
            Some(lits.filter_map(lit_number).any(|y| match c.op {
                Op::Lt => x < y,
                Op::Le => x <= y,
                Op::Gt => x > y,
                _ => x >= y,
            }))
        }
        Op::StartsWith | Op::EndsWith | Op::Contains => {
            let s = v.as_str()?;
            let s = if c.ignore_case {
                lower(s)
            } else {
                s.to_string()
            };
            Some(lits.filter_map(lit_str).any(|n| {
                let n = if c.ignore_case {
                    lower(n)
                } else {
                    n.to_string()
                };
                match c.op {
                    Op::StartsWith => s.starts_with(&n),
                    Op::EndsWith => s.ends_with(&n),
                    _ => s.contains(&n),
                }
            }))
        }
        Op::Matches => {
            let s = v.as_str()?;
            Some(lits.filter_map(lit_str).any(|p| {
                regex::RegexBuilder::new(p)
                    .case_insensitive(c.ignore_case)
                    .build()
                    .unwrap()
                    .is_match(s)
            }))
        }
        Op::Before | Op::After => {
            let t = time_of(v)?;
            Some(lits.any(|l| {
                let lt = match l {
                    LiteralValue::String(s) => TIMES.iter().find(|(x, _)| x == s).unwrap().1 as f64,
                    LiteralValue::Int(ms) => *ms as f64,
                    _ => unreachable!("the generator makes only times"),
                };
                if c.op == Op::Before {
                    t < lt
                } else {
                    t > lt
                }
            }))
        }
        Op::SemVerEq | Op::SemVerLt | Op::SemVerLe | Op::SemVerGt | Op::SemVerGe => {
            let r = rank(v.as_str()?)?;
            Some(lits.filter_map(lit_str).any(|l| {
                let w = rank(l).unwrap();
                match c.op {
                    Op::SemVerEq => r == w,
                    Op::SemVerLt => r < w,
                    Op::SemVerLe => r <= w,
                    Op::SemVerGt => r > w,
                    _ => r >= w,
                }
            }))
        }
    }
}
