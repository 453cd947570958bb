//! A compiled targeting rule: its text, its syntax tree and its plan.

use crate::error::Error;
use crate::limits::Limits;
use crate::plan::compile::{compile, Compiled};
use crate::plan::{Program, Segment};
use crate::syntax::ast::Expr;
use crate::value::Context;
use std::sync::Arc;

/// A compiled targeting rule.
///
/// ```
/// use killswitch::{Context, Rule};
/// let rule = Rule::parse(r#"email endsWith "@internal.com" and not segment == "legacy""#)?;
/// let staff = Context::new().with("email", "ana@internal.com");
/// let legacy = Context::new().with("email", "bo@internal.com").with("segment", "legacy");
/// assert!(rule.matches(&staff));
/// assert!(!rule.matches(&legacy));
/// # Ok::<(), killswitch::Error>(())
/// ```
#[derive(Debug)]
pub struct Rule {
    source: Box<str>,
    expr: Expr,
    node: Program,
    /// The segments the rule refers to directly (shared with every other
    /// rule that uses them), for explanations.
    pub(crate) segments: Box<[Arc<Segment>]>,
}

impl Rule {
    /// Parses and compiles rule text with the default [`Limits`].
    pub fn parse(text: &str) -> Result<Rule, Error> {
        Rule::parse_with(text, &Limits::default())
    }

    /// Parses and compiles rule text within `limits`.
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Rule, Error> {
        let expr = crate::syntax::parse(text, limits)?;
        let node = compile(&expr, limits).map_err(|e| e.with_source(text))?;
        Ok(Rule {
            source: text.into(),
            expr,
            node,
            segments: Box::new([]),
        })
    }

    /// Compiles an expression (from [`ast::parse`](crate::ast::parse) or
    /// built by hand).
    ///
    /// ```
    /// use killswitch::{ast, Context, Limits, Rule};
    /// let expr = ast::parse("tier in [\"gold\", \"platinum\"]")?;
    /// let rule = Rule::from_expr(expr, &Limits::default())?;
    /// assert_eq!(rule.source(), r#"tier in ["gold", "platinum"]"#);
    /// assert!(rule.matches(&Context::new().with("tier", "gold")));
    /// # Ok::<(), killswitch::Error>(())
    /// ```
    pub fn from_expr(expr: Expr, limits: &Limits) -> Result<Rule, Error> {
        let node = compile(&expr, limits)?;
        Ok(Rule {
            source: expr.to_string().into(),
            expr,
            node,
            segments: Box::new([]),
        })
    }

    /// Whether the rule matches the context. Never fails: a missing
    /// attribute or a value of the wrong type makes a comparison false.
    pub fn matches(&self, ctx: &Context<'_>) -> bool {
        self.node.eval(ctx)
    }

    /// The rule's compiled program, which explanations run observed.
    pub(crate) fn program(&self) -> &Program {
        &self.node
    }

    /// The rule's text: as written, or the canonical text of a rule that
    /// came from the structured form.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The rule's syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The named segments the rule uses, directly or through other
    /// segments, each once, in the order first met: each name with the
    /// syntax tree of its definition. Tools that compare two configs use
    /// it to see that a rule's text is the same but a segment it uses is
    /// not.
    ///
    /// ```
    /// use killswitch::FlagSet;
    /// let flags = FlagSet::from_json(r#"{
    ///     "segments": {"staff": "email endsWith \"@internal.com\"", "beta_staff": "@staff and beta"},
    ///     "flags": [{"flag_key": "f", "enabled": true,
    ///                "targeting_rules": {"allow_list": ["@beta_staff"]}}]
    /// }"#)?;
    /// let rule = &flags.get("f").unwrap().allow_rules()[0];
    /// let used: Vec<(&str, String)> =
    ///     rule.segments().into_iter().map(|(name, expr)| (name, expr.to_string())).collect();
    /// assert_eq!(used, [("beta_staff", "@staff and beta".to_string()),
    ///                   ("staff", r#"email endsWith "@internal.com""#.to_string())]);
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn segments(&self) -> Vec<(&str, &Expr)> {
        // Segments nest at most `MAX_SEGMENT_DEPTH` deep and are shared, so
        // the walk visits each once.
        let mut seen: Vec<&Segment> = Vec::new();
        let mut stack: Vec<&Segment> = self.segments.iter().rev().map(|s| &**s).collect();
        while let Some(segment) = stack.pop() {
            if seen.iter().any(|s| std::ptr::eq(*s, segment)) {
                continue;
            }
            seen.push(segment);
            stack.extend(segment.uses.iter().rev().map(|s| &**s));
        }
        seen.into_iter().map(|s| (&*s.name, &s.expr)).collect()
    }
}

impl Rule {
    /// A rule from its tree and its compiled form; `source` is the text it
    /// was written as, or `None` to print the tree.
    pub(crate) fn from_parts(expr: Expr, source: Option<&str>, compiled: Compiled) -> Rule {
        Rule {
            source: source.map_or_else(|| print(&expr), Into::into),
            expr,
            node: compiled.program,
            segments: compiled.uses.into_boxed_slice(),
        }
    }
}

/// The canonical text of a structured rule, written into one buffer sized
/// for a typical rule (not grown from empty a few bytes at a time).
fn print(expr: &Expr) -> Box<str> {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    let _ = write!(text, "{expr}");
    text.into_boxed_str()
}
