//! Context schemas: a declaration of the attributes a context has and
//! their types, against which every rule is checked at load time. An
//! unknown attribute (a typo) or an operator applied to the wrong type
//! (`age endsWith "x"`, `app_version > 2`) becomes an error with a hint.
//!
//! The format, in JSON:
//!
//! ```json
//! {"attributes": {
//!     "user_id": "string",
//!     "email": "string",
//!     "age": "number",
//!     "is_internal": "bool",
//!     "app_version": "semver",
//!     "created": "datetime",
//!     "tags": "list<string>",
//!     "segment": {"type": "string", "required": false},
//!     "account": {"type": "object", "attributes": {"plan": "string"}}
//! }}
//! ```

use crate::config::diagnostic::{ConfigError, Diagnostic};
use crate::document::{self, Node, NodeKind};
use crate::error::{Error, ErrorKind, Span};
use crate::syntax::ast::{Expr, ExprKind, LiteralValue, Op, Path};

/// The type of an attribute.
#[derive(Debug, Clone, PartialEq)]
enum Type {
    String,
    Number,
    Bool,
    SemVer,
    DateTime,
    List(Box<Type>),
    Object(Vec<Attribute>),
}

#[derive(Debug, Clone, PartialEq)]
struct Attribute {
    name: String,
    ty: Type,
    required: bool,
}

/// A declaration of a context's attributes and their types.
///
/// ```
/// use killswitch::{ast, ErrorKind, Schema};
/// let schema = Schema::from_json(r#"{"attributes": {"age": "number", "email": "string"}}"#)?;
/// let errors = schema.check(&ast::parse(r#"age endsWith "x" or emial == "a""#)?);
/// assert_eq!(errors[0].kind(), ErrorKind::TypeMismatch);
/// assert_eq!(errors[1].kind(), ErrorKind::UnknownAttribute);
/// assert_eq!(errors[1].help(), Some("did you mean `email`?"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    attributes: Vec<Attribute>,
}

const TYPE_NAMES: &str = "string, number, bool, semver, datetime, list<T> or an object";

impl Schema {
    /// Parses a schema; every problem is reported with its place.
    pub fn from_json(text: &str) -> Result<Schema, ConfigError> {
        let fail = |d: Vec<Diagnostic>| ConfigError::new(None, d);
        let (doc, dups) = document::json::parse(text, 64)
            .map_err(|e| fail(vec![Diagnostic::from_read(e, text)]))?;
        let mut errors: Vec<Diagnostic> = dups
            .into_iter()
            .map(|e| Diagnostic::from_read(e, text))
            .collect();
        let mut report = |span: Span, message: String| {
            errors.push(Diagnostic::new(
                ErrorKind::InvalidSchema,
                message,
                Some(span),
                text,
            ));
        };
        let attributes = match &doc.value {
            NodeKind::Object(members) => match members.iter().find(|m| m.key == "attributes") {
                Some(m) => attributes(&m.value, &mut report),
                None => {
                    report(doc.span, "a schema is {\"attributes\": {...}}".into());
                    Vec::new()
                }
            },
            _ => {
                report(doc.span, "a schema is {\"attributes\": {...}}".into());
                Vec::new()
            }
        };
        if errors.is_empty() {
            Ok(Schema { attributes })
        } else {
            Err(fail(errors))
        }
    }

    /// Checks an expression against the schema: every attribute must be
    /// declared and every operator must suit its attribute's type.
    pub fn check(&self, expr: &Expr) -> Vec<Error> {
        let mut errors = Vec::new();
        self.walk(expr, &mut errors);
        errors
    }

    fn walk(&self, expr: &Expr, errors: &mut Vec<Error>) {
        match &expr.kind {
            ExprKind::Or(xs) | ExprKind::And(xs) => xs.iter().for_each(|x| self.walk(x, errors)),
            ExprKind::Not(x) => self.walk(x, errors),
            // A segment's own rule is checked where it is declared.
            ExprKind::Segment(_) => {}
            ExprKind::Exists(p) => {
                if let Err(e) = self.resolve(p) {
                    errors.push(e);
                }
            }
            ExprKind::Truthy(p) => match self.resolve(p) {
                Err(e) => errors.push(e),
                Ok(ty) if !matches!(base(ty), Type::Bool) => errors.push(
                    Error::at(
                        ErrorKind::TypeMismatch,
                        p.span,
                        format!(
                            "`{}` is {}, so it cannot stand alone as a condition",
                            p.dotted(),
                            describe(ty)
                        ),
                    )
                    .with_help(format!(
                        "compare it: `{} exists`, or `{} == ...`",
                        p.dotted(),
                        p.dotted()
                    )),
                ),
                Ok(_) => {}
            },
            ExprKind::Compare(c) => match self.resolve(&c.path) {
                Err(e) => errors.push(e),
                Ok(ty) => {
                    if let Some(e) = check_compare(c.op, &c.path, ty, &c.values) {
                        errors.push(e.with_help(help_for(c.op, base(ty), &c.path)));
                    }
                }
            },
        }
    }

    fn resolve(&self, path: &Path) -> Result<&Type, Error> {
        let mut scope = &self.attributes;
        let mut found: Option<&Type> = None;
        for (i, segment) in path.segments.iter().enumerate() {
            match found {
                Some(Type::Object(attrs)) => scope = attrs,
                Some(ty) => {
                    let parent = path.segments[..i].join(".");
                    return Err(Error::at(
                        ErrorKind::TypeMismatch,
                        path.span,
                        format!(
                            "`{parent}` is {}, so it has no attribute `{segment}`",
                            describe(ty)
                        ),
                    ));
                }
                None => {}
            }
            match scope.iter().find(|a| a.name == *segment) {
                Some(a) => found = Some(&a.ty),
                None => {
                    let mut err = Error::at(
                        ErrorKind::UnknownAttribute,
                        path.span,
                        format!(
                            "the schema has no attribute `{}`",
                            path.segments[..=i].join(".")
                        ),
                    );
                    if let Some(g) =
                        crate::suggest::closest(segment, scope.iter().map(|a| a.name.as_str()))
                    {
                        err = err.with_help(crate::suggest::did_you_mean(
                            g,
                            crate::suggest::Quote::Rule,
                        ));
                    }
                    return Err(err);
                }
            }
        }
        found.ok_or_else(|| {
            Error::at(
                ErrorKind::UnknownAttribute,
                path.span,
                "empty attribute path",
            )
        })
    }
}

/// The element type of a list; other types as they are.
fn base(ty: &Type) -> &Type {
    match ty {
        Type::List(inner) => base(inner),
        other => other,
    }
}

fn describe(ty: &Type) -> String {
    match ty {
        Type::String => "a string".into(),
        Type::Number => "a number".into(),
        Type::Bool => "a bool".into(),
        Type::SemVer => "a semver".into(),
        Type::DateTime => "a datetime".into(),
        Type::List(inner) => format!("a list of {}", describe(inner).trim_start_matches("a ")),
        Type::Object(_) => "an object".into(),
    }
}

fn check_compare(
    op: Op,
    path: &Path,
    ty: &Type,
    values: &[crate::syntax::ast::Literal],
) -> Option<Error> {
    let ty = base(ty);
    let is_text = matches!(ty, Type::String | Type::SemVer | Type::DateTime);
    let fits = match op {
        _ if matches!(ty, Type::Object(_)) => false,
        Op::Eq | Op::Ne => {
            // Every literal must be of the attribute's kind.
            let bad = values.iter().find(|l| match (&l.value, ty) {
                (LiteralValue::String(_), _) => !is_text,
                (LiteralValue::Int(_) | LiteralValue::Float(_), Type::Number) => false,
                (LiteralValue::Bool(_), Type::Bool) => false,
                _ => true,
            });
            if let Some(l) = bad {
                return Some(Error::at(
                    ErrorKind::TypeMismatch,
                    l.span,
                    format!(
                        "`{}` is {}, but is compared with a {}",
                        path.dotted(),
                        describe(ty),
                        l.value.type_name()
                    ),
                ));
            }
            true
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => matches!(ty, Type::Number),
        Op::StartsWith | Op::EndsWith | Op::Contains | Op::Matches => is_text,
        Op::Before | Op::After => matches!(ty, Type::DateTime | Type::Number),
        Op::SemVerEq | Op::SemVerLt | Op::SemVerLe | Op::SemVerGt | Op::SemVerGe => {
            matches!(ty, Type::SemVer)
        }
    };
    (!fits).then(|| {
        Error::at(
            ErrorKind::TypeMismatch,
            path.span,
            format!(
                "`{}` is {}, which `{}` does not compare",
                path.dotted(),
                describe(ty),
                crate::syntax::ops::canonical(op, false, values.len() != 1)
            ),
        )
    })
}

fn help_for(op: Op, ty: &Type, path: &Path) -> String {
    let name = path.dotted();
    match (ty, op) {
        (Type::SemVer, Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
            format!("compare versions with a semVer operator: `{name} semVerGreaterThan \"2.0\"`")
        }
        (Type::DateTime, Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
            format!("compare date-times with `before` or `after`: `{name} after \"2025-01-01T00:00:00Z\"`")
        }
        (Type::Object(_), _) => format!("compare one of its attributes, such as `{name}.id`"),
        (Type::Number, _) => format!("numbers take ==, !=, <, <=, >, >=: `{name} >= 18`"),
        (Type::Bool, _) => format!("test it alone (`{name}`) or with `== true`"),
        _ => "see the README's table of operators".into(),
    }
}

fn attributes(json: &Node, report: &mut impl FnMut(Span, String)) -> Vec<Attribute> {
    let NodeKind::Object(members) = &json.value else {
        report(
            json.span,
            "\"attributes\" is an object of names and types".into(),
        );
        return Vec::new();
    };
    members
        .iter()
        .filter_map(|m| {
            let (ty, required) = attribute(&m.value, report)?;
            Some(Attribute {
                name: m.key.to_string(),
                ty,
                required,
            })
        })
        .collect()
}

fn attribute(json: &Node, report: &mut impl FnMut(Span, String)) -> Option<(Type, bool)> {
    match &json.value {
        NodeKind::String(name) => type_name(name, json.span, report).map(|t| (t, false)),
        NodeKind::Object(members) => {
            let field = |k: &str| members.iter().find(|m| m.key == k).map(|m| &m.value);
            let required = matches!(
                field("required").map(|j| &j.value),
                Some(NodeKind::Bool(true))
            );
            for m in members {
                if !["type", "required", "attributes"].contains(&&*m.key) {
                    report(
                        m.key_span,
                        format!("unknown field \"{}\" in an attribute", m.key),
                    );
                }
            }
            match field("type").map(|j| (&j.value, j.span)) {
                Some((NodeKind::String(t), _)) if t == "object" => {
                    let attrs = field("attributes")
                        .map(|a| attributes(a, report))
                        .unwrap_or_default();
                    Some((Type::Object(attrs), required))
                }
                Some((NodeKind::String(t), span)) => {
                    type_name(t, span, report).map(|ty| (ty, required))
                }
                _ => {
                    report(json.span, "an attribute needs a \"type\"".into());
                    None
                }
            }
        }
        _ => {
            report(json.span, format!("a type is a string ({TYPE_NAMES})"));
            None
        }
    }
}

fn type_name(name: &str, span: Span, report: &mut impl FnMut(Span, String)) -> Option<Type> {
    let ty = match name {
        "string" => Type::String,
        "number" => Type::Number,
        "bool" | "boolean" => Type::Bool,
        "semver" => Type::SemVer,
        "datetime" => Type::DateTime,
        other => match other
            .strip_prefix("list<")
            .and_then(|s| s.strip_suffix('>'))
        {
            Some(inner) => Type::List(Box::new(type_name(inner, span, report)?)),
            None => {
                report(
                    span,
                    format!("unknown type \"{other}\"; the types are {TYPE_NAMES}"),
                );
                return None;
            }
        },
    };
    Some(ty)
}
