//! pest pairs -> [`Expr`], with the checks the permissive grammar leaves
//! to us: operator names, escapes and number ranges.

use super::ast::{Compare, Expr, ExprKind, Literal, LiteralValue, Path};
use super::grammar::{Rule, TargetingParser};
use super::ops::{self, OpName};
use crate::error::{Error, ErrorKind, Span};
use pest::iterators::Pair;
use pest::Parser;

/// Parses `text`, which the guard has already checked.
pub(super) fn parse(text: &str) -> Result<Expr, Error> {
    let mut pairs = TargetingParser::parse(Rule::rule, text).map_err(|e| syntax_error(text, &e))?;
    let rule = pairs.next().ok_or_else(|| internal(text))?;
    let expr = rule
        .into_inner()
        .find(|p| p.as_rule() == Rule::expr)
        .ok_or_else(|| internal(text))?;
    lower_expr(expr)
}

fn internal(text: &str) -> Error {
    Error::at(
        ErrorKind::Syntax,
        Span::new(0, text.len()),
        "could not parse rule",
    )
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn lower_expr(pair: Pair<'_, Rule>) -> Result<Expr, Error> {
    match pair.as_rule() {
        Rule::expr | Rule::conj => {
            let span = span_of(&pair);
            let is_or = pair.as_rule() == Rule::expr;
            let mut operands = Vec::new();
            for inner in pair.into_inner() {
                if matches!(inner.as_rule(), Rule::kw_or | Rule::kw_and) {
                    continue;
                }
                operands.push(lower_expr(inner)?);
            }
            if operands.len() == 1 {
                if let Some(only) = operands.pop() {
                    return Ok(only);
                }
            }
            let kind = if is_or {
                ExprKind::Or(operands)
            } else {
                ExprKind::And(operands)
            };
            Ok(Expr { kind, span })
        }
        Rule::neg => {
            let span = span_of(&pair);
            let mut nots = 0usize;
            let mut operand = None;
            for inner in pair.into_inner() {
                if inner.as_rule() == Rule::kw_not {
                    nots += 1;
                } else {
                    operand = Some(lower_expr(inner)?);
                }
            }
            let operand = operand.ok_or_else(|| {
                Error::at(ErrorKind::Syntax, span, "`not` needs something to negate")
            })?;
            // `not not x` is `x`: collapsing the run keeps the tree shallow
            // however many there are.
            if nots % 2 == 1 {
                Ok(Expr {
                    kind: ExprKind::Not(Box::new(operand)),
                    span,
                })
            } else {
                Ok(operand)
            }
        }
        Rule::group => {
            let inner = pair.into_inner().next().ok_or_else(|| {
                Error::at(ErrorKind::Syntax, Span::default(), "empty parentheses")
            })?;
            lower_expr(inner)
        }
        Rule::test => lower_test(pair),
        Rule::segment_ref => {
            let span = span_of(&pair);
            let name = pair.as_str().trim_start_matches('@').to_string();
            Ok(Expr {
                kind: ExprKind::Segment(name),
                span,
            })
        }
        _ => Err(Error::at(
            ErrorKind::Syntax,
            span_of(&pair),
            "unexpected input",
        )),
    }
}

fn lower_test(pair: Pair<'_, Rule>) -> Result<Expr, Error> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let path_pair = inner
        .next()
        .ok_or_else(|| Error::at(ErrorKind::Syntax, span, "expected an attribute"))?;
    let path = lower_path(path_pair)?;
    let Some(op_pair) = inner.next() else {
        return Ok(Expr {
            kind: ExprKind::Truthy(path),
            span,
        });
    };
    let op_span = span_of(&op_pair);
    let op_text = op_pair.as_str();
    let op_inner = op_pair.into_inner().next();
    let name = match op_inner.as_ref().map(Pair::as_rule) {
        Some(Rule::op_not_in) => Some(OpName::Compare(super::ast::Op::Ne, false)),
        Some(Rule::op_symbol) => ops::symbol(op_text).map(|op| OpName::Compare(op, false)),
        _ => ops::word(op_text),
    };
    let Some(name) = name else {
        let mut err = Error::at(
            ErrorKind::UnknownOperator,
            op_span,
            format!("unknown operator `{op_text}`"),
        );
        if let Some(help) = ops::suggest(op_text) {
            err = err.with_help(help);
        }
        return Err(err);
    };
    let operand = inner.next();
    match name {
        OpName::Exists => {
            if let Some(value) = operand {
                return Err(Error::at(
                    ErrorKind::MissingValue,
                    span_of(&value),
                    "`exists` takes no value",
                )
                .with_help(format!("write `{} exists`", path.dotted())));
            }
            Ok(Expr {
                kind: ExprKind::Exists(path),
                span,
            })
        }
        OpName::Compare(op, ignore_case) => {
            let Some(value) = operand else {
                return Err(Error::at(
                    ErrorKind::MissingValue,
                    op_span,
                    format!("`{op_text}` needs a value after it"),
                )
                .with_help(format!(
                    "for example `{} {op_text} \"text\"`, or a list `[\"a\", \"b\"]`",
                    path.dotted()
                )));
            };
            let values = lower_operand(value)?;
            Ok(Expr {
                kind: ExprKind::Compare(Compare {
                    path,
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

fn lower_operand(pair: Pair<'_, Rule>) -> Result<Vec<Literal>, Error> {
    match pair.as_rule() {
        Rule::list => pair.into_inner().map(lower_literal).collect(),
        Rule::path => {
            let text = pair.as_str();
            Err(Error::at(
                ErrorKind::TypeMismatch,
                span_of(&pair),
                format!("`{text}` is not a value: rules compare attributes with literals"),
            )
            .with_help(format!("to compare with the text, quote it: \"{text}\"")))
        }
        _ => Ok(vec![lower_literal(pair)?]),
    }
}

fn lower_literal(pair: Pair<'_, Rule>) -> Result<Literal, Error> {
    let span = span_of(&pair);
    let value = match pair.as_rule() {
        Rule::boolean => LiteralValue::Bool(pair.as_str() == "true"),
        Rule::number => number(pair.as_str(), span)?,
        Rule::string => {
            let raw = pair.into_inner().next();
            let (text, start) = raw
                .as_ref()
                .map_or(("", span.start + 1), |p| (p.as_str(), p.as_span().start()));
            LiteralValue::String(unescape(text, start, false)?)
        }
        _ => {
            return Err(Error::at(ErrorKind::Syntax, span, "expected a value"));
        }
    };
    Ok(Literal { value, span })
}

fn number(text: &str, span: Span) -> Result<LiteralValue, Error> {
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

fn lower_path(pair: Pair<'_, Rule>) -> Result<Path, Error> {
    let span = span_of(&pair);
    let mut segments = Vec::new();
    for seg in pair.into_inner() {
        match seg.as_rule() {
            Rule::ident => segments.push(seg.as_str().to_string()),
            Rule::quoted_key => {
                let seg_span = span_of(&seg);
                let raw = seg.into_inner().next();
                let (text, start) = raw.as_ref().map_or(("", seg_span.start + 1), |p| {
                    (p.as_str(), p.as_span().start())
                });
                let key = unescape(text, start, true)?;
                if key.is_empty() {
                    return Err(Error::at(
                        ErrorKind::Syntax,
                        seg_span,
                        "empty attribute key",
                    ));
                }
                segments.push(key);
            }
            _ => {}
        }
    }
    Ok(Path { segments, span })
}

/// Decodes the escapes of a string literal (or, with `key`, a backtick
/// key) whose raw text starts at byte `start` of the rule.
fn unescape(raw: &str, start: usize, key: bool) -> Result<String, Error> {
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

/// Turns a pest error into ours: a position and what was expected there,
/// in words rather than rule names.
fn syntax_error(text: &str, err: &pest::error::Error<Rule>) -> Error {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let found = token_at(text, pos);
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => describe(positives),
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
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
    if before.ends_with(['=', '<', '>']) || before.ends_with("in") {
        return Some(
            "values are quoted strings, numbers, true/false or lists like [\"a\", \"b\"]".into(),
        );
    }
    None
}

/// The token at `pos`: a word, a quoted string, or one character.
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

fn describe(positives: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for positive in positives {
        let word = match positive {
            Rule::expr | Rule::conj | Rule::neg | Rule::test | Rule::path | Rule::group => {
                "an attribute or `(`"
            }
            Rule::kw_not => "`not`",
            Rule::kw_and | Rule::kw_or => "`and` or `or`",
            Rule::operator | Rule::op_not_in | Rule::op_symbol | Rule::op_word => "an operator",
            Rule::list | Rule::string | Rule::number | Rule::boolean => "a value",
            Rule::EOI => "the end of the rule",
            Rule::ident | Rule::quoted_key => "an attribute name",
            _ => "something else",
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.as_slice() {
        [] => "something else".into(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

impl Span {
    fn clamp_to(self, len: usize) -> Span {
        Span::new(self.start.min(len), self.end.min(len))
    }
}
