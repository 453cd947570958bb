//! The canonical printer: `parse(&expr.to_string())` gives `expr` back,
//! spans aside. Used for round-trip tests and to show normalised rules.

use super::ast::{Expr, ExprKind, Literal, LiteralValue, Path};
use super::ops;
use std::fmt::{self, Write};

pub(super) fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
    match &expr.kind {
        ExprKind::Or(xs) => write_joined(f, xs, " or ", |x| matches!(x.kind, ExprKind::Or(_))),
        ExprKind::And(xs) => write_joined(f, xs, " and ", |x| {
            matches!(x.kind, ExprKind::Or(_) | ExprKind::And(_))
        }),
        ExprKind::Not(x) => {
            f.write_str("not ")?;
            let group = matches!(
                x.kind,
                ExprKind::Or(_) | ExprKind::And(_) | ExprKind::Not(_)
            );
            write_maybe_grouped(f, x, group)
        }
        ExprKind::Compare(c) => {
            write_path(f, &c.path)?;
            let several = c.values.len() != 1;
            write!(f, " {} ", ops::canonical(c.op, c.ignore_case, several))?;
            if several {
                f.write_char('[')?;
                for (i, v) in c.values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_literal(f, v)?;
                }
                f.write_char(']')
            } else {
                c.values.iter().try_for_each(|v| write_literal(f, v))
            }
        }
        ExprKind::Exists(p) => {
            write_path(f, p)?;
            f.write_str(" exists")
        }
        ExprKind::Truthy(p) => write_path(f, p),
        ExprKind::Segment(name) => write!(f, "@{name}"),
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    xs: &[Expr],
    sep: &str,
    needs_group: impl Fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write_maybe_grouped(f, x, needs_group(x))?;
    }
    Ok(())
}

fn write_maybe_grouped(f: &mut fmt::Formatter<'_>, x: &Expr, group: bool) -> fmt::Result {
    if group {
        f.write_char('(')?;
        write_expr(f, x)?;
        f.write_char(')')
    } else {
        write_expr(f, x)
    }
}

/// Writes a path in rule syntax: segments joined by dots, each bare or in
/// backticks.
pub(crate) fn write_path(f: &mut impl Write, path: &Path) -> fmt::Result {
    for (i, seg) in path.segments.iter().enumerate() {
        if i > 0 {
            f.write_char('.')?;
        }
        write_key(f, seg)?;
    }
    Ok(())
}

/// Writes one path segment: bare when it is a plain ASCII identifier, in
/// backticks otherwise.
pub(crate) fn write_key(f: &mut impl Write, key: &str) -> fmt::Result {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(key, "and" | "or" | "not" | "true" | "false");
    if plain {
        return f.write_str(key);
    }
    f.write_char('`')?;
    for c in key.chars() {
        if c == '`' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('`')
}

fn write_literal(f: &mut impl Write, literal: &Literal) -> fmt::Result {
    match &literal.value {
        LiteralValue::String(s) => write_string(f, s),
        LiteralValue::Int(i) => write!(f, "{i}"),
        LiteralValue::Float(x) => write!(f, "{x:?}"),
        LiteralValue::Bool(b) => write!(f, "{b}"),
    }
}

/// Writes a double-quoted string literal with the language's escapes.
pub(crate) fn write_string(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\0' => f.write_str("\\0")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}
