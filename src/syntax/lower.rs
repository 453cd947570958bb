//! pest pairs -> [`Expr`], with the checks the permissive grammar leaves to
//! us: operator names, missing or misplaced values, escapes, number ranges.
//!
//! Every mistake in a rule that parses is reported, left to right, not only
//! the first. After a syntax error, the parts of the rule before it are
//! lowered too (the longest expression at the start of the rule and of each
//! group the error sits in, and the values of a list it sits in), so that
//! their mistakes come first, as they stand in the text. pest types never
//! leave this module.

use super::ast::{Compare, Expr, ExprKind, Literal, LiteralValue, Op, Path};
use super::grammar::{Rule, TargetingParser};
use super::ops::{self, OpName};
use crate::error::{Error, ErrorKind, Span};
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;
use std::ops::Range;

/// Parses `text`, which the guard has already checked. On failure, every
/// mistake found, in the order they stand in the text.
pub(super) fn parse(text: &str) -> Result<Expr, Vec<Error>> {
    match TargetingParser::parse(Rule::rule, text) {
        Ok(mut pairs) => {
            let items = pairs.next().map(Pair::into_inner);
            let mut lower = Lower::new(0);
            let part = items.and_then(|items| lower.expr(items));
            match part {
                Some(Part {
                    expr: Some(expr), ..
                }) if lower.errors.is_empty() => Ok(expr),
                _ if lower.errors.is_empty() => Err(vec![internal(text)]),
                _ => Err(lower.errors),
            }
        }
        Err(e) => Err(after_syntax_error(text, &e)),
    }
}

/// A lowered operand of `and` or `or`, with the extent of its text: a group's
/// expression keeps its own span, but its extent includes the parentheses,
/// and a negated operand's extent starts at its first `not`.
struct Part {
    /// `None` when a mistake inside it was reported.
    expr: Option<Expr>,
    start: usize,
    end: usize,
}

struct Lower {
    /// Where the text being lowered starts in the rule (not 0 only when a
    /// group's inside is parsed on its own after a syntax error).
    base: usize,
    errors: Vec<Error>,
    /// Which of `errors` are operators left without a value.
    valueless: Vec<usize>,
}

impl Lower {
    fn new(base: usize) -> Lower {
        Lower {
            base,
            errors: Vec::new(),
            valueless: Vec::new(),
        }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    /// An expression given as its flat items (`not`, operands, `and`, `or`):
    /// the grammar's `expr`, `conj` and `neg` are silent, so that a chain
    /// costs no pairs of its own.
    fn expr(&mut self, items: Pairs<'_, Rule>) -> Option<Part> {
        let mut disjuncts = Vec::new();
        let mut conjuncts = Vec::new();
        // The start of the first `not` before the next operand, and how many.
        let mut nots: Option<(usize, usize)> = None;
        for item in items {
            match item.as_rule() {
                Rule::kw_not => {
                    let start = self.span(&item).start;
                    let (first, count) = nots.unwrap_or((start, 0));
                    nots = Some((first, count + 1));
                }
                Rule::kw_and | Rule::close_paren | Rule::EOI => {}
                Rule::kw_or => {
                    disjuncts.extend(join(std::mem::take(&mut conjuncts), ExprKind::And))
                }
                _ => {
                    let mut part = self.primary(item);
                    if let Some((start, count)) = nots.take() {
                        part.start = start;
                        // `not not x` is `x`: collapsing the run keeps the
                        // tree shallow however many there are.
                        if count % 2 == 1 {
                            part.expr = part.expr.map(|e| Expr {
                                kind: ExprKind::Not(Box::new(e)),
                                span: Span::new(start, part.end),
                            });
                        }
                    }
                    conjuncts.push(part);
                }
            }
        }
        disjuncts.extend(join(conjuncts, ExprKind::And));
        join(disjuncts, ExprKind::Or)
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Part {
        let span = self.span(&pair);
        let expr = match pair.as_rule() {
            Rule::group => {
                let inner = self.expr(pair.into_inner());
                return Part {
                    expr: inner.and_then(|p| p.expr),
                    start: span.start,
                    end: span.end,
                };
            }
            Rule::segment_ref => Some(Expr {
                kind: ExprKind::Segment(pair.as_str()[1..].to_string()),
                span,
            }),
            _ => {
                let (expr, end) = self.test(pair);
                return Part {
                    expr,
                    start: span.start,
                    end,
                };
            }
        };
        Part {
            expr,
            start: span.start,
            end: span.end,
        }
    }

    /// `path (operator operand?)?`, and where it ends: where the last of
    /// them does (pest's span would include blanks after an operator without
    /// a value).
    fn test(&mut self, pair: Pair<'_, Rule>) -> (Option<Expr>, usize) {
        let whole = self.span(&pair);
        let mut inner = pair.into_inner();
        let Some(path_pair) = inner.next() else {
            return (None, whole.end);
        };
        let path_span = self.span(&path_pair);
        let path = self.path(path_pair);
        let Some(op_pair) = inner.next() else {
            let expr = path.map(|path| Expr {
                span: path.span,
                kind: ExprKind::Truthy(path),
            });
            return (expr, path_span.end);
        };
        let op_span = self.span(&op_pair);
        let op_text = op_pair.as_str();
        let name = match op_pair.as_rule() {
            Rule::op_not_in => Some(OpName::Compare(Op::Ne, false)),
            Rule::op_symbol => ops::symbol(op_text).map(|op| OpName::Compare(op, false)),
            _ => ops::word(op_text),
        };
        let operand = inner.next();
        let end = operand.as_ref().map_or(op_span.end, |o| self.span(o).end);
        let span = Span::new(path_span.start, end);
        (
            self.compare(path, span, op_span, op_text, name, operand),
            end,
        )
    }

    /// The test's operator and value, checked.
    fn compare(
        &mut self,
        path: Option<Path>,
        span: Span,
        op_span: Span,
        op_text: &str,
        name: Option<OpName>,
        operand: Option<Pair<'_, Rule>>,
    ) -> Option<Expr> {
        if name.is_none() {
            let mut err = Error::at(
                ErrorKind::UnknownOperator,
                op_span,
                format!("unknown operator `{op_text}`"),
            );
            if let Some(help) = ops::suggest(op_text) {
                err = err.with_help(help);
            }
            self.errors.push(err);
        }
        // The value's own mistakes (escapes, ranges, empty keys) come next:
        // they stand where the value does.
        let value = operand.map(|pair| {
            let span = self.span(&pair);
            (self.operand(pair), span)
        });
        let name = name?;
        match (name, value) {
            (OpName::Exists, None) => Some(Expr {
                kind: ExprKind::Exists(path?),
                span,
            }),
            (OpName::Exists, Some((_, value_span))) => {
                let mut err = Error::at(
                    ErrorKind::MissingValue,
                    value_span,
                    "`exists` takes no value",
                );
                if let Some(path) = &path {
                    err = err.with_help(format!("write `{} exists`", path.dotted()));
                }
                self.errors.push(err);
                None
            }
            (OpName::Compare(..), None) => {
                let dotted = path.as_ref().map_or_else(String::new, Path::dotted);
                self.valueless.push(self.errors.len());
                self.errors.push(
                    Error::at(
                        ErrorKind::MissingValue,
                        op_span,
                        format!("`{op_text}` needs a value after it"),
                    )
                    .with_help(format!(
                        "for example `{dotted} {op_text} \"text\"`, or a list `[\"a\", \"b\"]`"
                    )),
                );
                None
            }
            (OpName::Compare(op, ignore_case), Some((value, value_span))) => {
                let values = match value {
                    Operand::Values(values) => values,
                    Operand::Path(text) => {
                        self.errors.push(
                            Error::at(
                                ErrorKind::TypeMismatch,
                                value_span,
                                format!(
                                    "`{text}` is not a value: rules compare attributes with literals"
                                ),
                            )
                            .with_help(format!("to compare with the text, quote it: \"{text}\"")),
                        );
                        return None;
                    }
                    Operand::Broken => return None,
                };
                Some(Expr {
                    kind: ExprKind::Compare(Compare {
                        path: path?,
                        op,
                        ignore_case,
                        values,
                        op_span,
                    }),
                    span,
                })
            }
        }
    }

    /// What stands in value position, with its own mistakes reported.
    fn operand<'i>(&mut self, pair: Pair<'i, Rule>) -> Operand<'i> {
        match pair.as_rule() {
            Rule::list => {
                let mut values = Some(Vec::new());
                for item in pair.into_inner() {
                    if matches!(item.as_rule(), Rule::comma | Rule::close_bracket) {
                        continue;
                    }
                    let literal = self.literal(item);
                    values = values.zip(literal).map(|(mut v, l)| {
                        v.push(l);
                        v
                    });
                }
                values.map_or(Operand::Broken, Operand::Values)
            }
            Rule::path => {
                let text = pair.as_str();
                match self.path(pair) {
                    Some(_) => Operand::Path(text),
                    None => Operand::Broken,
                }
            }
            _ => self
                .literal(pair)
                .map_or(Operand::Broken, |l| Operand::Values(vec![l])),
        }
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Option<Literal> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let value = match pair.as_rule() {
            Rule::boolean => Ok(LiteralValue::Bool(text == "true")),
            Rule::number => number(text, span),
            _ => unescape(unquote(text), span.start + 1, false).map(LiteralValue::String),
        };
        match value {
            Ok(value) => Some(Literal { value, span }),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Option<Path> {
        let span = self.span(&pair);
        let mut segments = Some(Vec::new());
        for seg in pair.into_inner() {
            let key = if seg.as_rule() == Rule::quoted_key {
                let seg_span = self.span(&seg);
                match unescape(unquote(seg.as_str()), seg_span.start + 1, true) {
                    Ok(key) if key.is_empty() => Err(Error::at(
                        ErrorKind::Syntax,
                        seg_span,
                        "empty attribute key",
                    )),
                    other => other,
                }
            } else {
                Ok(seg.as_str().to_string())
            };
            match key {
                Ok(key) => {
                    if let Some(segments) = &mut segments {
                        segments.push(key);
                    }
                }
                Err(e) => {
                    self.errors.push(e);
                    segments = None;
                }
            }
        }
        Some(Path {
            segments: segments?,
            span,
        })
    }
}

/// What stands after an operator.
enum Operand<'i> {
    /// A literal or a list of them.
    Values(Vec<Literal>),
    /// A path, whose text is not a value.
    Path(&'i str),
    /// Something whose mistakes were reported.
    Broken,
}

/// One part as itself, several as an n-ary node spanning them.
fn join(mut parts: Vec<Part>, kind: fn(Vec<Expr>) -> ExprKind) -> Option<Part> {
    if parts.len() <= 1 {
        return parts.pop();
    }
    let start = parts.first().map_or(0, |p| p.start);
    let end = parts.last().map_or(0, |p| p.end);
    let exprs: Option<Vec<Expr>> = parts.into_iter().map(|p| p.expr).collect();
    Some(Part {
        expr: exprs.map(|exprs| Expr {
            kind: kind(exprs),
            span: Span::new(start, end),
        }),
        start,
        end,
    })
}

/// The text between a token's first and last character (its quotes).
fn unquote(token: &str) -> &str {
    let inner = token.get(1..).unwrap_or("");
    inner.get(..inner.len().saturating_sub(1)).unwrap_or("")
}

fn internal(text: &str) -> Error {
    Error::at(
        ErrorKind::Syntax,
        Span::new(0, text.len()),
        "could not parse rule",
    )
}

/// The mistakes of a rule that does not parse: those in the parts before the
/// syntax error, then the syntax error itself.
fn after_syntax_error(text: &str, err: &pest::error::Error<Rule>) -> Vec<Error> {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let positives = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
        pest::error::ErrorVariant::CustomError { .. } => &[],
    };
    // The rule up to the first bracket still open at `pos`, each open
    // bracket's inside up to the next one, the innermost's up to `pos`:
    // disjoint pieces, so that this stays linear however deep the error is.
    let mut errors = Vec::new();
    let mut explained = false;
    let mut piece = (b'(', 0);
    for (bracket, at) in super::guard::open_brackets(text, pos)
        .into_iter()
        .chain([(b')', pos)])
    {
        let (kind, start) = piece;
        if kind == b'(' {
            explained |= head_errors(text, start..at, pos, &mut errors);
        } else {
            list_errors(text, start..at, &mut errors);
        }
        piece = (bracket, at + 1);
    }
    if !explained {
        errors.push(syntax_error(
            text,
            pos,
            &expected(positives, token_at(text, pos)),
        ));
    }
    errors
}

/// Adds the mistakes in the longest expression at the start of `piece` of
/// `text`, all of which stand before the syntax error at `pos`.
///
/// An operator left without a value at the end of that expression is a case
/// of its own. When `and`, `or` or `not` follows it, "`==` needs a value" is
/// the mistake, and when that word is where the syntax error is, it explains
/// it (the syntax error is then left out: returns `true`). Anything else
/// after it stands where a value should, and the syntax error ("expected a
/// value") says it better.
fn head_errors(text: &str, piece: Range<usize>, pos: usize, errors: &mut Vec<Error>) -> bool {
    let start = piece.start;
    let Some(rest) = text.get(piece) else {
        return false;
    };
    let Ok(mut pairs) = TargetingParser::parse(Rule::head, rest) else {
        return false;
    };
    let mut lower = Lower::new(start);
    let Some(end) = pairs
        .next()
        .and_then(|head| lower.expr(head.into_inner()))
        .map(|part| part.end)
    else {
        return false;
    };
    let mut explained = false;
    for (index, error) in lower.errors.into_iter().enumerate() {
        let span = error.span().unwrap_or_default();
        if span.start >= pos {
            continue;
        }
        if lower.valueless.contains(&index) && span.end == end {
            let gap = text
                .get(end..)
                .map_or(0, |rest| rest.len() - rest.trim_start().len());
            if !matches!(token_at(text, end + gap), "and" | "or" | "not") {
                continue;
            }
            explained |= end + gap == pos;
        }
        errors.push(error);
    }
    explained
}

/// Adds the mistakes in the values at the start of `piece`, the inside of a
/// list up to a syntax error (`[1, 99999999999999999999 @x]`).
fn list_errors(text: &str, piece: Range<usize>, errors: &mut Vec<Error>) {
    let start = piece.start;
    let Some(rest) = text.get(piece) else {
        return;
    };
    if let Ok(mut pairs) = TargetingParser::parse(Rule::list_head, rest) {
        let mut lower = Lower::new(start);
        for item in pairs.next().into_iter().flat_map(Pair::into_inner) {
            if !matches!(item.as_rule(), Rule::comma | Rule::EOI) {
                lower.literal(item);
            }
        }
        errors.extend(lower.errors);
    }
}

/// What the grammar expected where it stopped, in words, from the rules pest
/// tried there and the token `found` there.
fn expected(positives: &[Rule], found: &str) -> String {
    let has = |rules: &[Rule]| rules.iter().any(|r| positives.contains(r));
    if has(&[Rule::segment_name]) {
        return "a segment name after `@`".into();
    }
    // After an operator pest tries a list first; inside a list, literals.
    let after_operator = has(&[Rule::list]);
    if !after_operator && has(&[Rule::string, Rule::number, Rule::boolean]) {
        return if has(&[Rule::close_bracket]) {
            "a value or `]`".into()
        } else {
            "a value".into()
        };
    }
    // After an operator, `not` is no value but a misplaced word
    // (`email exists not x`): the connectives below are what was expected.
    if after_operator && found != "not" {
        return "a value".into();
    }
    // (`path` there was tried as a value, not as the start of a test.)
    // `rule` stands for everything it tried where it started: nothing
    // parsed at all.
    if !after_operator
        && has(&[
            Rule::rule,
            Rule::path,
            Rule::test,
            Rule::group,
            Rule::segment_ref,
            Rule::kw_not,
        ])
    {
        return "an attribute or `(`".into();
    }
    if has(&[Rule::comma, Rule::close_bracket]) {
        return "`,` or `]`".into();
    }
    let end = if has(&[Rule::close_paren]) {
        "`)`"
    } else {
        "the end of the rule"
    };
    format!("`and`, `or` or {end}")
}

/// "expected X, found Y" at byte `pos`, with a hint for common mistakes.
fn syntax_error(text: &str, pos: usize, expected: &str) -> Error {
    let found = token_at(text, pos);
    let span = Span::new(pos, pos + found.len().max(1)).clamp_to(text.len());
    let message = if found.is_empty() {
        format!("expected {expected}, found the end of the rule")
    } else {
        format!("expected {expected}, found `{found}`")
    };
    let mut error = Error::at(ErrorKind::Syntax, span, message);
    if let Some(help) = syntax_help(text, pos, found) {
        error = error.with_help(help);
    }
    error
}

fn syntax_help(text: &str, pos: usize, found: &str) -> Option<String> {
    match found {
        "&&" => return Some("write `and` instead of `&&`".into()),
        "||" => return Some("write `or` instead of `||`".into()),
        "!" => return Some("write `not` instead of `!`".into()),
        "=" => return Some("compare with `==`".into()),
        _ => {}
    }
    let before = text[..pos].trim_end();
    let at_test_start = before.is_empty()
        || before.ends_with('(')
        || [" and", " or", " not"].iter().any(|w| before.ends_with(w))
        || ["and", "or", "not"].contains(&before);
    if at_test_start
        && found.starts_with([
            '"', '\'', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '[',
        ])
    {
        return Some(
            "a test starts with the attribute, then the operator and the value: `tags == \"beta\"`"
                .into(),
        );
    }
    if before.ends_with(['=', '<', '>', '[', ',']) || before.ends_with("in") {
        return Some(
            "values are quoted strings, numbers, true/false or lists like [\"a\", \"b\"]".into(),
        );
    }
    None
}

/// The token at `pos`: a word, a run of operator symbols, or one
/// character.
fn token_at(text: &str, pos: usize) -> &str {
    let rest = text.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "";
    };
    let end = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else if "=!<>~&|".contains(first) {
        rest.find(|c: char| !"=!<>~&|".contains(c))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    &rest[..end]
}

impl Span {
    fn clamp_to(self, len: usize) -> Span {
        Span::new(self.start.min(len), self.end.min(len))
    }
}

pub(super) fn number(text: &str, span: Span) -> Result<LiteralValue, Error> {
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(LiteralValue::Float(f)),
            _ => Err(Error::at(
                ErrorKind::InvalidLiteral,
                span,
                format!("number `{text}` is out of range"),
            )),
        }
    } else {
        text.parse::<i64>().map(LiteralValue::Int).map_err(|_| {
            Error::at(
                ErrorKind::InvalidLiteral,
                span,
                format!("integer `{text}` does not fit in 64 bits"),
            )
            .with_help("compare large identifiers as strings: put them in quotes")
        })
    }
}

/// Decodes the escapes of a string literal (or, with `key`, a backtick
/// key) whose raw text starts at byte `start` of the rule.
pub(super) fn unescape(raw: &str, start: usize, key: bool) -> Result<String, Error> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let bad = |len: usize, what: String| {
            Error::at(
                ErrorKind::InvalidLiteral,
                Span::new(start + i, start + i + len),
                what,
            )
        };
        let Some((_, e)) = chars.next() else {
            return Err(bad(1, "a backslash ends the string".into()));
        };
        let decoded = match (e, key) {
            ('\\', _) => '\\',
            ('`', true) => '`',
            ('"', false) => '"',
            ('\'', false) => '\'',
            ('/', false) => '/',
            ('n', false) => '\n',
            ('r', false) => '\r',
            ('t', false) => '\t',
            ('0', false) => '\0',
            ('u', false) => {
                let rest = &raw[i + 2..];
                let (code, used) = unicode_escape(rest).ok_or_else(|| {
                    bad(2, "invalid unicode escape".into())
                        .with_help("write `\\u{1F600}` or `\\u00e9`")
                })?;
                for _ in 0..used {
                    chars.next();
                }
                code
            }
            _ => {
                let len = 1 + e.len_utf8();
                let help = if key {
                    "in a backtick key only `\\`` and `\\\\` are escapes"
                } else {
                    "the escapes are \\\" \\' \\\\ \\/ \\n \\r \\t \\0 \\u{...}; write `\\\\` for a backslash"
                };
                return Err(bad(len, format!("unknown escape `\\{e}`")).with_help(help));
            }
        };
        out.push(decoded);
    }
    Ok(out)
}

/// Decodes `{X...}` (1 to 6 hex digits) or `XXXX` (4 hex digits, with a
/// following `\uXXXX` low surrogate where needed) after `\u`. Returns the
/// character and how many characters after `\u` it used.
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    if let Some(braced) = rest.strip_prefix('{') {
        let close = braced.find('}')?;
        let hex = &braced[..close];
        if hex.is_empty() || hex.len() > 6 {
            return None;
        }
        let code = u32::from_str_radix(hex, 16).ok()?;
        return char::from_u32(code).map(|c| (c, close + 2));
    }
    let hex = rest.get(..4)?;
    let high = u32::from_str_radix(hex, 16).ok()?;
    if (0xD800..0xDC00).contains(&high) {
        let low_hex = rest.get(4..10)?.strip_prefix("\\u")?;
        let low = u32::from_str_radix(low_hex, 16).ok()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        return char::from_u32(code).map(|c| (c, 10));
    }
    char::from_u32(high).map(|c| (c, 4))
}
