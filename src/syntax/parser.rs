//! Rule text -> [`Expr`]: a hand-written recursive-descent parser.
//!
//! The grammar, with blanks (space, tab, CR, LF) allowed between tokens
//! but not inside a path, a string or an operator:
//!
//! ```text
//! rule     = expr EOF
//! expr     = conj ("or" conj)*            -- a chain is one n-ary node
//! conj     = neg ("and" neg)*
//! neg      = "not"* primary               -- a run of `not` costs no recursion
//! primary  = "(" expr ")" | "@" ident | test
//! test     = path (operator operand?)?
//! operator = "not" blank+ "in" | [=!<>~]+ | word      -- checked against the table
//! operand  = list | string | number | boolean | path  -- a path only to explain
//! list     = "[" (literal ("," literal)* ","?)? "]"
//! path     = segment ("." segment)*       -- not starting with a keyword
//! segment  = ident | "`" raw "`"
//! ident    = (XID_Start | "_") XID_Continue*
//! keyword  = and | or | not | true | false   (as whole words)
//! ```
//!
//! The grammar is permissive on purpose: any word may stand where an
//! operator goes and any run of comparison symbols is an operator, so that
//! a typo gets "unknown operator `endswith`, did you mean `endsWith`?"
//! rather than a list of what was expected. Nesting is bounded before the
//! parser runs (`guard.rs`), so its recursion through `(` cannot overflow
//! the stack.

use super::ast::{Compare, Expr, ExprKind, Literal, LiteralValue, Op, Path};
use super::ops::{self, OpName};
use crate::error::{Error, ErrorKind, Span};

/// Parses `text`, which the guard has already checked.
pub(super) fn parse(text: &str) -> Result<Expr, Error> {
    let mut p = Parser { text, pos: 0 };
    p.blanks();
    let expr = p.expr()?;
    p.blanks();
    if p.pos < text.len() {
        return Err(p.unexpected("`and`, `or` or the end of the rule"));
    }
    Ok(expr)
}

/// What follows an operator: its values (or, for a bare word in value
/// position, the error to report if the operator takes a value), and its
/// span.
struct Operand {
    values: Result<Vec<Literal>, Error>,
    span: Span,
}

struct Parser<'t> {
    text: &'t str,
    /// The byte offset of the next unread character.
    pos: usize,
}

/// Whether a character may continue an identifier.
#[inline]
fn ident_continue(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        unicode_ident::is_xid_continue(c)
    }
}

/// Whether a character may start an identifier.
#[inline]
fn ident_start(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic() || c == '_'
    } else {
        unicode_ident::is_xid_start(c)
    }
}

const KEYWORDS: [&str; 5] = ["and", "or", "not", "true", "false"];

impl<'t> Parser<'t> {
    fn rest(&self) -> &'t str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn blanks(&mut self) {
        let skipped = self
            .rest()
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        self.pos += skipped;
    }

    /// The length of the identifier at the cursor (0 when there is none).
    fn ident_len(&self) -> usize {
        let rest = self.rest();
        let mut chars = rest.char_indices();
        match chars.next() {
            Some((_, c)) if ident_start(c) => {}
            _ => return 0,
        }
        chars
            .find(|&(_, c)| !ident_continue(c))
            .map_or(rest.len(), |(i, _)| i)
    }

    /// Whether `word` is at the cursor as a whole word.
    fn at_word(&self, word: &str) -> bool {
        let rest = self.rest();
        rest.starts_with(word)
            && !rest[word.len()..]
                .chars()
                .next()
                .is_some_and(ident_continue)
    }

    /// Whether a keyword is at the cursor, as a whole word.
    fn at_keyword(&self) -> bool {
        KEYWORDS.iter().any(|k| self.at_word(k))
    }

    /// Consumes `word` (and the blanks after it) when it is at the cursor.
    fn eat_word(&mut self, word: &str) -> bool {
        if self.at_word(word) {
            self.pos += word.len();
            self.blanks();
            true
        } else {
            false
        }
    }

    /// A syntax error at the cursor: what was expected, and what is there.
    fn unexpected(&self, expected: &str) -> Error {
        syntax_error(self.text, self.pos, expected)
    }

    /// `conj ("or" conj)*`, at a token; returns at the last token's end.
    fn expr(&mut self) -> Result<Expr, Error> {
        let start = self.pos;
        let mut operands = vec![self.conj()?];
        let mut end = self.pos;
        loop {
            self.blanks();
            if !self.eat_word("or") {
                break;
            }
            operands.push(self.conj()?);
            end = self.pos;
        }
        self.pos = end;
        Ok(join(operands, start, end, ExprKind::Or))
    }

    fn conj(&mut self) -> Result<Expr, Error> {
        let start = self.pos;
        let mut operands = vec![self.neg()?];
        let mut end = self.pos;
        loop {
            self.blanks();
            if !self.eat_word("and") {
                break;
            }
            operands.push(self.neg()?);
            end = self.pos;
        }
        self.pos = end;
        Ok(join(operands, start, end, ExprKind::And))
    }

    fn neg(&mut self) -> Result<Expr, Error> {
        let start = self.pos;
        let mut nots = 0usize;
        while self.eat_word("not") {
            nots += 1;
        }
        let operand = self.primary()?;
        // `not not x` is `x`: collapsing the run keeps the tree shallow
        // however many there are.
        if nots % 2 == 1 {
            Ok(Expr {
                kind: ExprKind::Not(Box::new(operand)),
                span: Span::new(start, self.pos),
            })
        } else {
            Ok(operand)
        }
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                self.blanks();
                let inner = self.expr()?;
                self.blanks();
                if self.peek() != Some(')') {
                    return Err(self.unexpected("`and`, `or` or `)`"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some('@') => {
                let start = self.pos;
                self.pos += 1;
                let len = self.ident_len();
                if len == 0 {
                    return Err(self.unexpected("a segment name after `@`"));
                }
                self.pos += len;
                Ok(Expr {
                    kind: ExprKind::Segment(self.text[start + 1..self.pos].to_string()),
                    span: Span::new(start, self.pos),
                })
            }
            _ => self.test(),
        }
    }

    /// `path (operator operand?)?`.
    fn test(&mut self) -> Result<Expr, Error> {
        let start = self.pos;
        let Some(path) = self.path()? else {
            return Err(self.unexpected("an attribute or `(`"));
        };
        let path_end = self.pos;
        self.blanks();
        let Some((op_span, name)) = self.operator() else {
            self.pos = path_end;
            return Ok(Expr {
                kind: ExprKind::Truthy(path),
                span: Span::new(start, path_end),
            });
        };
        let op_text = &self.text[op_span.start..op_span.end];
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
        self.blanks();
        let operand = self.operand()?;
        if operand.is_none() {
            self.pos = op_span.end;
        }
        let span = Span::new(start, self.pos);
        match name {
            OpName::Exists => {
                if let Some(Operand {
                    span: value_span, ..
                }) = operand
                {
                    return Err(Error::at(
                        ErrorKind::MissingValue,
                        value_span,
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
                let Some(Operand { values, .. }) = operand else {
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
                Ok(Expr {
                    kind: ExprKind::Compare(Compare {
                        path,
                        op,
                        ignore_case,
                        values: values?,
                        op_span,
                    }),
                    span,
                })
            }
        }
    }

    /// The operator at the cursor: its span and, when it is one, its
    /// meaning. `None` when nothing in operator position is there.
    fn operator(&mut self) -> Option<(Span, Option<OpName>)> {
        let start = self.pos;
        let rest = self.rest();
        // `not in`, with at least one blank between the words.
        if let Some(after) = rest.strip_prefix("not") {
            let gap = after
                .bytes()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .count();
            if gap > 0 {
                self.pos = start + 3 + gap;
                if self.eat_word_raw("in") {
                    return Some((
                        Span::new(start, self.pos),
                        Some(OpName::Compare(Op::Ne, false)),
                    ));
                }
                self.pos = start;
            }
        }
        let symbols = rest
            .bytes()
            .take_while(|b| matches!(b, b'=' | b'!' | b'<' | b'>' | b'~'))
            .count();
        if symbols > 0 {
            self.pos += symbols;
            let name = ops::symbol(&rest[..symbols]).map(|op| OpName::Compare(op, false));
            return Some((Span::new(start, self.pos), name));
        }
        if self.at_keyword() {
            return None;
        }
        let len = self.ident_len();
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some((Span::new(start, self.pos), ops::word(&rest[..len])))
    }

    /// Consumes `word` as a whole word, without the blanks after it.
    fn eat_word_raw(&mut self, word: &str) -> bool {
        if self.at_word(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// The operand at the cursor, with its span: `None` when what follows
    /// cannot start one (`and`, `or`, `)` or the end: the operator has no
    /// value). A path in value position is an error, reported once the
    /// operator is known to take a value.
    fn operand(&mut self) -> Result<Option<Operand>, Error> {
        let start = self.pos;
        match self.peek() {
            None | Some(')') => Ok(None),
            Some('[') => {
                let values = self.list()?;
                Ok(Some(Operand {
                    values: Ok(values),
                    span: Span::new(start, self.pos),
                }))
            }
            Some(_) => {
                if let Some(literal) = self.literal()? {
                    let span = literal.span;
                    return Ok(Some(Operand {
                        values: Ok(vec![literal]),
                        span,
                    }));
                }
                if self.at_keyword() {
                    return Ok(None);
                }
                if self.path()?.is_some() {
                    let span = Span::new(start, self.pos);
                    let text = &self.text[start..self.pos];
                    let err = Error::at(
                        ErrorKind::TypeMismatch,
                        span,
                        format!("`{text}` is not a value: rules compare attributes with literals"),
                    )
                    .with_help(format!("to compare with the text, quote it: \"{text}\""));
                    return Ok(Some(Operand {
                        values: Err(err),
                        span,
                    }));
                }
                Err(self.unexpected("a value"))
            }
        }
    }

    /// `[` literal, ... `]`, at `[`.
    fn list(&mut self) -> Result<Vec<Literal>, Error> {
        self.pos += 1;
        self.blanks();
        let mut values = Vec::new();
        loop {
            if self.peek() == Some(']') {
                self.pos += 1;
                return Ok(values);
            }
            let Some(literal) = self.literal()? else {
                let expected = if values.is_empty() {
                    "a value or `]`"
                } else {
                    "a value"
                };
                return Err(self.unexpected(expected));
            };
            values.push(literal);
            self.blanks();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    self.blanks();
                }
                Some(']') => {}
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    /// A string, number or boolean at the cursor, or `None` when none
    /// starts there.
    fn literal(&mut self) -> Result<Option<Literal>, Error> {
        let start = self.pos;
        let rest = self.rest();
        let value = match rest.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => {
                let (raw, len) = quoted(rest, q)
                    .ok_or_else(|| self.unexpected(if q == b'"' { "`\"`" } else { "`'`" }))?;
                self.pos += len;
                LiteralValue::String(unescape(raw, start + 1, false)?)
            }
            Some(b'-' | b'0'..=b'9') => {
                let len = number_len(rest);
                if len == 0 {
                    return Ok(None);
                }
                self.pos += len;
                number(&rest[..len], Span::new(start, self.pos))?
            }
            _ if self.at_word("true") => {
                self.pos += 4;
                LiteralValue::Bool(true)
            }
            _ if self.at_word("false") => {
                self.pos += 5;
                LiteralValue::Bool(false)
            }
            _ => return Ok(None),
        };
        Ok(Some(Literal {
            value,
            span: Span::new(start, self.pos),
        }))
    }

    /// An attribute path at the cursor, or `None` when none starts there
    /// (a keyword, or no identifier or backtick key).
    fn path(&mut self) -> Result<Option<Path>, Error> {
        if self.at_keyword() {
            return Ok(None);
        }
        let start = self.pos;
        let mut segments = Vec::new();
        loop {
            let seg_start = self.pos;
            let rest = self.rest();
            if rest.starts_with('`') {
                let (raw, len) = quoted(rest, b'`').ok_or_else(|| self.unexpected("`` ` ``"))?;
                let key = unescape(raw, seg_start + 1, true)?;
                if key.is_empty() {
                    return Err(Error::at(
                        ErrorKind::Syntax,
                        Span::new(seg_start, seg_start + len),
                        "empty attribute key",
                    ));
                }
                segments.push(key);
                self.pos += len;
            } else {
                let len = self.ident_len();
                if len == 0 {
                    if segments.is_empty() {
                        return Ok(None);
                    }
                    // `a.` : the dot belongs to no segment; leave it for
                    // the caller to report.
                    self.pos -= 1;
                    break;
                }
                segments.push(rest[..len].to_string());
                self.pos += len;
            }
            if self.peek() == Some('.') {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Some(Path {
            segments,
            span: Span::new(start, self.pos),
        }))
    }
}

/// One operand as itself, several as an n-ary node spanning them.
fn join(
    mut operands: Vec<Expr>,
    start: usize,
    end: usize,
    kind: fn(Vec<Expr>) -> ExprKind,
) -> Expr {
    if operands.len() == 1 {
        if let Some(only) = operands.pop() {
            return only;
        }
    }
    Expr {
        kind: kind(operands),
        span: Span::new(start, end),
    }
}

/// The raw text between the quote `q` that starts `text` and its closing
/// twin (a backslash escapes any character), and the quoted length
/// including both quotes; `None` when it is not closed.
fn quoted(text: &str, q: u8) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' {
            i += 2;
        } else if b == q {
            return Some((text.get(1..i)?, i + 1));
        } else {
            i += 1;
        }
    }
    None
}

/// The length of the number at the start of `text`:
/// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`, 0 when there is none.
fn number_len(text: &str) -> usize {
    let b = text.as_bytes();
    let digits = |from: usize| {
        b.get(from..)
            .map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int = digits(i);
    if int == 0 {
        return 0;
    }
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = digits(i + 1);
        if frac > 0 {
            i += 1 + frac;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let exp = digits(i + 1 + sign);
        if exp > 0 {
            i += 1 + sign + exp;
        }
    }
    i
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

/// Decodes the escapes of a string literal (or, with `key`, a backtick
/// key) whose raw text starts at byte `start` of the rule.
fn unescape(raw: &str, start: usize, key: bool) -> Result<String, Error> {
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

/// "expected X, found Y" at byte `pos`, with a hint for common mistakes.
fn syntax_error(text: &str, pos: usize, expected: &str) -> Error {
    let found = token_at(text, pos);
    let span = Span::new(
        pos.min(text.len()),
        (pos + found.len().max(1)).min(text.len()),
    );
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
