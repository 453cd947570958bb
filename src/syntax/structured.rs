//! The structured rule form, `{"attribute": "email", "operator": "endsWith",
//! "value": "@internal.com"}`, lowered to the same AST as the text form.
//! Spans point into the config file.

use crate::document::{Node, NodeKind};
use crate::error::{Error, ErrorKind, Span};
use crate::syntax::ast::{Compare, Expr, ExprKind, Literal, LiteralValue, Path};
use crate::syntax::ops::{self, OpName};

const FIELDS: &[&str] = &["attribute", "operator", "value"];

/// Lowers one structured rule; all problems are returned.
pub(crate) fn lower(json: &Node) -> Result<Expr, Vec<Error>> {
    let NodeKind::Object(members) = &json.value else {
        return Err(vec![Error::at(
            ErrorKind::WrongType,
            json.span,
            format!(
                "a rule is a string or an object, not {}",
                json.value.type_name()
            ),
        )]);
    };
    let mut errors = Vec::new();
    let mut attribute = None;
    let mut operator = None;
    let mut value = None;
    for member in members {
        match &*member.key {
            "attribute" => attribute = Some(&member.value),
            "operator" => operator = Some(&member.value),
            "value" => value = Some(&member.value),
            other => {
                let mut err = Error::at(
                    ErrorKind::UnknownField,
                    member.key_span,
                    format!("unknown field \"{other}\" in a structured rule"),
                );
                let guess = match other {
                    "attr" | "key" | "field" | "path" => Some("attribute"),
                    "op" | "comparator" => Some("operator"),
                    "values" | "val" => Some("value"),
                    _ => crate::suggest::closest(other, FIELDS.iter().copied()),
                };
                err = match guess {
                    Some(g) => err.with_help(crate::suggest::did_you_mean(
                        g,
                        crate::suggest::Quote::Config,
                    )),
                    None => {
                        err.with_help("the fields are \"attribute\", \"operator\" and \"value\"")
                    }
                };
                errors.push(err);
            }
        }
    }
    let path = match attribute {
        Some(a) => path(a).map_err(|e| errors.push(e)).ok(),
        None => {
            errors.push(missing(json.span, "attribute"));
            None
        }
    };
    let name = match operator {
        Some(Node {
            value: NodeKind::String(name),
            span,
        }) => match ops::word(name)
            .or_else(|| ops::symbol(name).map(|op| OpName::Compare(op, false)))
        {
            Some(op) => Some((op, *span)),
            None => {
                let mut err = Error::at(
                    ErrorKind::UnknownOperator,
                    *span,
                    format!("unknown operator \"{name}\""),
                );
                if let Some(help) = ops::suggest(name) {
                    err = err.with_help(help);
                }
                errors.push(err);
                None
            }
        },
        Some(other) => {
            errors.push(Error::at(
                ErrorKind::WrongType,
                other.span,
                format!(
                    "\"operator\" must be a string, not {}",
                    other.value.type_name()
                ),
            ));
            None
        }
        None => {
            errors.push(missing(json.span, "operator"));
            None
        }
    };
    let (Some(path), Some((name, op_span))) = (path, name) else {
        return Err(errors);
    };
    let expr = match name {
        OpName::Exists => match value.map(|v| (&v.value, v.span)) {
            None | Some((NodeKind::Bool(true), _)) => Some(ExprKind::Exists(path)),
            Some((NodeKind::Bool(false), _)) => Some(ExprKind::Not(Box::new(Expr {
                kind: ExprKind::Exists(path),
                span: json.span,
            }))),
            Some((other, span)) => {
                errors.push(Error::at(
                    ErrorKind::WrongType,
                    span,
                    format!(
                        "`exists` takes no value (or true/false), not {}",
                        other.type_name()
                    ),
                ));
                None
            }
        },
        OpName::Compare(op, ignore_case) => {
            let values = match value {
                Some(v) => literals(v).map_err(|e| errors.extend(e)).ok(),
                None => {
                    errors.push(missing(json.span, "value"));
                    None
                }
            };
            values.map(|values| {
                ExprKind::Compare(Compare {
                    path,
                    op,
                    ignore_case,
                    values,
                    op_span,
                })
            })
        }
    };
    match expr {
        Some(kind) if errors.is_empty() => Ok(Expr {
            kind,
            span: json.span,
        }),
        _ => Err(errors),
    }
}

fn missing(span: Span, field: &str) -> Error {
    Error::at(
        ErrorKind::MissingField,
        Span::new(span.start, span.start + 1),
        format!("this rule has no \"{field}\""),
    )
    .with_help("a structured rule is {\"attribute\": ..., \"operator\": ..., \"value\": ...}")
}

/// `"account.plan"` or `["account", "plan"]`.
fn path(json: &Node) -> Result<Path, Error> {
    let segments: Vec<String> = match &json.value {
        NodeKind::String(s) => s.split('.').map(str::to_string).collect(),
        NodeKind::Array(items) => items
            .iter()
            .map(|item| match &item.value {
                NodeKind::String(s) => Ok(s.to_string()),
                other => Err(Error::at(
                    ErrorKind::WrongType,
                    item.span,
                    format!("path segments are strings, not {}", other.type_name()),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(Error::at(
                ErrorKind::WrongType,
                json.span,
                format!(
                    "\"attribute\" is a string such as \"account.plan\", not {}",
                    other.type_name()
                ),
            ))
        }
    };
    if segments.is_empty() || segments.iter().any(String::is_empty) {
        return Err(Error::at(
            ErrorKind::Syntax,
            json.span,
            "attribute path has an empty segment",
        )
        .with_help(
            "write it as \"account.plan\", or as [\"account\", \"plan\"] for keys with dots",
        ));
    }
    Ok(Path {
        segments,
        span: json.span,
    })
}

fn literals(json: &Node) -> Result<Vec<Literal>, Vec<Error>> {
    match &json.value {
        NodeKind::Array(items) => {
            let mut out = Vec::new();
            let mut errors = Vec::new();
            for item in items {
                match literal(item) {
                    Ok(l) => out.push(l),
                    Err(e) => errors.push(e),
                }
            }
            if errors.is_empty() {
                Ok(out)
            } else {
                Err(errors)
            }
        }
        _ => literal(json).map(|l| vec![l]).map_err(|e| vec![e]),
    }
}

fn literal(json: &Node) -> Result<Literal, Error> {
    let value = match &json.value {
        NodeKind::String(s) => LiteralValue::String(s.to_string()),
        NodeKind::Int(i) => LiteralValue::Int(*i),
        NodeKind::Float(f) => LiteralValue::Float(*f),
        NodeKind::Bool(b) => LiteralValue::Bool(*b),
        NodeKind::Null => {
            return Err(
                Error::at(ErrorKind::WrongType, json.span, "a value cannot be null")
                    .with_help("to test whether an attribute is set, use the \"exists\" operator"),
            )
        }
        other => {
            return Err(Error::at(
                ErrorKind::WrongType,
                json.span,
                format!(
                    "a value is a string, number or boolean, not {}",
                    other.type_name()
                ),
            ))
        }
    };
    Ok(Literal {
        value,
        span: json.span,
    })
}

/// Checks a lowered structured rule against the length limit text rules
/// have: its canonical text (what `Rule::source` shows) may not be longer
/// than `Limits::max_rule_len`. Counted without building the text, and
/// stopped as soon as the limit is passed.
pub(crate) fn check_len(expr: &Expr, limits: &crate::limits::Limits) -> Result<(), Error> {
    use std::fmt::Write;
    /// Counts bytes written; fails once past the limit.
    struct Count {
        len: usize,
        max: usize,
    }
    impl Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.len = self.len.saturating_add(s.len());
            if self.len > self.max {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut count = Count {
        len: 0,
        max: limits.max_rule_len,
    };
    if write!(count, "{expr}").is_ok() {
        return Ok(());
    }
    Err(Error::at(
        ErrorKind::TooLong,
        expr.span,
        format!(
            "this structured rule is longer than {} bytes as rule text (the limit text rules have)",
            limits.max_rule_len
        ),
    )
    .with_help("split the list over several rules or segments, or raise `Limits::max_rule_len`"))
}
