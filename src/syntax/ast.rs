//! The abstract syntax tree of a targeting rule.
//!
//! Both the text form (`email endsWith "@internal.com"`) and the structured
//! form (`{"attribute": "email", "operator": "endsWith", "value": ...}`) lower
//! to these types. Every node carries the [`Span`] of the text it came from
//! (an empty span for nodes that came from the structured form).

use crate::error::Span;
use std::fmt;

/// A boolean expression over the attributes of a context.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is in the rule text.
    pub span: Span,
}

/// The kinds of [`Expr`].
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// True when any operand is true (two or more operands).
    Or(Vec<Expr>),
    /// True when every operand is true (two or more operands).
    And(Vec<Expr>),
    /// True when the operand is false.
    Not(Box<Expr>),
    /// A comparison of an attribute with one or more literals.
    Compare(Compare),
    /// True when the attribute is present and not `null`.
    Exists(Path),
    /// True when the attribute is the boolean `true` (a bare path).
    Truthy(Path),
    /// True when the named segment (`@internal`), declared in the config's
    /// `segments`, holds.
    Segment(String),
}

/// A comparison: `path op value` or `path op [value, ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    /// The attribute compared.
    pub path: Path,
    /// The operator.
    pub op: Op,
    /// Whether string comparisons ignore case (the `...IgnoreCase` operators).
    pub ignore_case: bool,
    /// The literals; the comparison holds when any of them matches
    /// (for [`Op::Ne`], when none of them is equal).
    pub values: Vec<Literal>,
    /// Where the operator is in the rule text.
    pub op_span: Span,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `==`, `equals`, `in`.
    Eq,
    /// `!=`, `notEquals`, `not in`, `notIn`.
    Ne,
    /// `<`, `lessThan`.
    Lt,
    /// `<=`, `lessThanOrEqual`.
    Le,
    /// `>`, `greaterThan`.
    Gt,
    /// `>=`, `greaterThanOrEqual`.
    Ge,
    /// `startsWith`.
    StartsWith,
    /// `endsWith`.
    EndsWith,
    /// `contains` (substring).
    Contains,
    /// `matches` (regular expression search).
    Matches,
    /// `before` (date-time, strict).
    Before,
    /// `after` (date-time, strict).
    After,
    /// `semVerEqual`.
    SemVerEq,
    /// `semVerLessThan`.
    SemVerLt,
    /// `semVerLessThanOrEqual`.
    SemVerLe,
    /// `semVerGreaterThan`.
    SemVerGt,
    /// `semVerGreaterThanOrEqual`.
    SemVerGe,
}

impl Op {
    /// Whether the operator has a form that ignores case.
    pub fn can_ignore_case(self) -> bool {
        matches!(
            self,
            Op::Eq | Op::Ne | Op::StartsWith | Op::EndsWith | Op::Contains | Op::Matches
        )
    }
}

/// An attribute path such as `account.plan`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    /// The keys, outermost first.
    pub segments: Vec<String>,
    /// Where the path is in the rule text.
    pub span: Span,
}

impl Path {
    /// The path with its segments joined by dots (`account.plan`).
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

/// A literal value in a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// The value.
    pub value: LiteralValue,
    /// Where the literal is in the rule text.
    pub span: Span,
}

/// The value of a [`Literal`].
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralValue {
    /// A string.
    String(String),
    /// A whole number.
    Int(i64),
    /// A number with a fraction or exponent (always finite).
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl LiteralValue {
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            LiteralValue::String(_) => "string",
            LiteralValue::Int(_) | LiteralValue::Float(_) => "number",
            LiteralValue::Bool(_) => "boolean",
        }
    }
}

impl Expr {
    /// The same tree with every span emptied, to compare shapes only.
    ///
    /// ```
    /// use killswitch::ast::parse;
    /// let a = parse("a == 1 and b").unwrap();
    /// let b = parse("a==1   and   b").unwrap();
    /// assert_ne!(a, b);
    /// assert_eq!(a.without_spans(), b.without_spans());
    /// ```
    pub fn without_spans(&self) -> Expr {
        let kind = match &self.kind {
            ExprKind::Or(xs) => ExprKind::Or(xs.iter().map(Expr::without_spans).collect()),
            ExprKind::And(xs) => ExprKind::And(xs.iter().map(Expr::without_spans).collect()),
            ExprKind::Not(x) => ExprKind::Not(Box::new(x.without_spans())),
            ExprKind::Compare(c) => ExprKind::Compare(Compare {
                path: c.path.without_span(),
                op: c.op,
                ignore_case: c.ignore_case,
                values: c
                    .values
                    .iter()
                    .map(|l| Literal {
                        value: l.value.clone(),
                        span: Span::default(),
                    })
                    .collect(),
                op_span: Span::default(),
            }),
            ExprKind::Exists(p) => ExprKind::Exists(p.without_span()),
            ExprKind::Truthy(p) => ExprKind::Truthy(p.without_span()),
            ExprKind::Segment(name) => ExprKind::Segment(name.clone()),
        };
        Expr {
            kind,
            span: Span::default(),
        }
    }

    /// Whether two trees are equal but for their spans: what
    /// `a.without_spans() == b.without_spans()` says, without building
    /// either copy (the lints compare rules this way on every load).
    pub(crate) fn same_shape(&self, other: &Expr) -> bool {
        match (&self.kind, &other.kind) {
            (ExprKind::Or(xs), ExprKind::Or(ys)) | (ExprKind::And(xs), ExprKind::And(ys)) => {
                xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| x.same_shape(y))
            }
            (ExprKind::Not(x), ExprKind::Not(y)) => x.same_shape(y),
            (ExprKind::Compare(a), ExprKind::Compare(b)) => {
                a.path.segments == b.path.segments
                    && a.op == b.op
                    && a.ignore_case == b.ignore_case
                    && a.values.len() == b.values.len()
                    && a.values
                        .iter()
                        .zip(&b.values)
                        .all(|(x, y)| x.value == y.value)
            }
            (ExprKind::Exists(a), ExprKind::Exists(b))
            | (ExprKind::Truthy(a), ExprKind::Truthy(b)) => a.segments == b.segments,
            (ExprKind::Segment(a), ExprKind::Segment(b)) => a == b,
            _ => false,
        }
    }

    /// How deeply the tree nests (a leaf is 1).
    pub fn depth(&self) -> usize {
        match &self.kind {
            ExprKind::Or(xs) | ExprKind::And(xs) => {
                1 + xs.iter().map(Expr::depth).max().unwrap_or(0)
            }
            ExprKind::Not(x) => 1 + x.depth(),
            _ => 1,
        }
    }
}

impl Path {
    fn without_span(&self) -> Path {
        Path {
            segments: self.segments.clone(),
            span: Span::default(),
        }
    }
}

impl fmt::Display for Expr {
    /// Prints the canonical text of the expression; parsing it gives the same
    /// tree back (spans aside).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::print::write_expr(f, self)
    }
}
