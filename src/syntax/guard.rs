//! A linear pre-scan run before the parser: rule length, bracket nesting and
//! quote balance.
//!
//! The parser parses parentheses by recursion, so deep input would exhaust the
//! stack; checking the depth here first keeps every later stage (the parser, the
//! lowering, the compiler, the evaluator) free to recurse. The scan is
//! quote-aware, so brackets inside string literals do not count, and it
//! gives better messages for unclosed strings and brackets than a parser
//! error would.

use crate::error::{Error, ErrorKind, Span};
use crate::limits::Limits;

/// Checks `text` against `limits`; `Ok` means the parser may safely run on it.
pub(crate) fn check(text: &str, limits: &Limits) -> Result<(), Error> {
    if text.len() > limits.max_rule_len {
        let mut at = limits.max_rule_len;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        return Err(Error::at(
            ErrorKind::TooLong,
            Span::new(at, at),
            format!(
                "rule is {} bytes long; the limit is {} bytes",
                text.len(),
                limits.max_rule_len
            ),
        )
        .with_help("split the rule, or raise `Limits::max_rule_len`"));
    }
    if text.trim().is_empty() {
        return Err(
            Error::at(ErrorKind::Syntax, Span::new(0, text.len()), "empty rule")
                .with_help("write a condition such as `segment == \"beta\"`"),
        );
    }
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut brackets = Brackets::new(text);
    for (i, b) in brackets.by_ref() {
        match b {
            b'(' | b'[' => {
                open.push((b, i));
                if open.len() > limits.max_nesting_depth {
                    return Err(Error::at(
                        ErrorKind::TooDeep,
                        Span::new(i, i + 1),
                        format!(
                            "brackets nest deeper than {} levels",
                            limits.max_nesting_depth
                        ),
                    )
                    .with_help("simplify the rule, or raise `Limits::max_nesting_depth`"));
                }
            }
            _ => {
                let want = if b == b')' { b'(' } else { b'[' };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        let close = if o == b'(' { ')' } else { ']' };
                        return Err(Error::at(
                            ErrorKind::Syntax,
                            Span::new(i, i + 1),
                            format!(
                                "`{}` does not match the `{}` at byte {at}",
                                b as char, o as char
                            ),
                        )
                        .with_help(format!("close it with `{close}` first")));
                    }
                    None => {
                        return Err(Error::at(
                            ErrorKind::Syntax,
                            Span::new(i, i + 1),
                            format!("unmatched `{}`", b as char),
                        )
                        .with_help(format!("remove it, or add the opening `{}`", want as char)));
                    }
                }
            }
        }
    }
    if let Some((q, at)) = brackets.quote {
        let what = if q == b'`' { "key" } else { "string" };
        return Err(Error::at(
            ErrorKind::Syntax,
            Span::new(at, text.len()),
            format!("unclosed {what}: this `{}` is never closed", q as char),
        )
        .with_help(format!("add a closing `{}`", q as char)));
    }
    if let Some((o, at)) = open.pop() {
        let close = if o == b'(' { ')' } else { ']' };
        return Err(Error::at(
            ErrorKind::Syntax,
            Span::new(at, at + 1),
            format!("this `{}` is never closed", o as char),
        )
        .with_help(format!("add a `{close}`")));
    }
    Ok(())
}

/// The brackets still open at byte `pos` of a rule that passed [`check`],
/// outermost first, with their offsets: the groups and lists a syntax error
/// there sits in.
pub(super) fn open_brackets(text: &str, pos: usize) -> Vec<(u8, usize)> {
    let mut open = Vec::new();
    for (i, b) in Brackets::new(text.get(..pos).unwrap_or(text)) {
        match b {
            b'(' | b'[' => open.push((b, i)),
            _ => {
                open.pop();
            }
        }
    }
    open
}

/// The brackets of a rule outside its strings and backtick keys, with their
/// byte offsets; a backslash in a quote escapes the next byte.
struct Brackets<'t> {
    bytes: &'t [u8],
    i: usize,
    /// The quote open at the cursor, and where it opened.
    quote: Option<(u8, usize)>,
}

impl<'t> Brackets<'t> {
    fn new(text: &'t str) -> Brackets<'t> {
        Brackets {
            bytes: text.as_bytes(),
            i: 0,
            quote: None,
        }
    }
}

impl Iterator for Brackets<'_> {
    type Item = (usize, u8);

    fn next(&mut self) -> Option<(usize, u8)> {
        while let Some(&b) = self.bytes.get(self.i) {
            let i = self.i;
            self.i += 1;
            if let Some((q, _)) = self.quote {
                if b == b'\\' {
                    self.i += 1;
                } else if b == q {
                    self.quote = None;
                }
            } else {
                match b {
                    b'"' | b'\'' | b'`' => self.quote = Some((b, i)),
                    b'(' | b'[' | b')' | b']' => return Some((i, b)),
                    _ => {}
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<ErrorKind> {
        check(text, &Limits::default()).err().map(|e| e.kind())
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(kind(r#"a == "((((" and b == '))' and `[`"#), None);
        assert_eq!(kind(r#"a == "\")""#), None);
    }

    #[test]
    fn reports_unbalanced_and_unclosed_input() {
        assert_eq!(kind("(a == 1"), Some(ErrorKind::Syntax));
        assert_eq!(kind("a == 1)"), Some(ErrorKind::Syntax));
        assert_eq!(kind("a in [1)"), Some(ErrorKind::Syntax));
        assert_eq!(kind(r#"a == "x"#), Some(ErrorKind::Syntax));
        assert_eq!(kind("   "), Some(ErrorKind::Syntax));
    }

    #[test]
    fn enforces_limits() {
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(kind(&deep), Some(ErrorKind::TooDeep));
        let long = "a == 1 or ".repeat(100_000);
        assert_eq!(kind(&long), Some(ErrorKind::TooLong));
    }
}
