//! A JSON reader that keeps the byte span of every value and key.
//!
//! serde_json cannot say where a value was, and it keeps the last of
//! duplicate keys silently; config diagnostics need both the position of
//! every problem and duplicates reported. Nesting is bounded, so hostile
//! input cannot exhaust the stack.

use super::{add_member, Member, Node, NodeKind, ReadError};
use crate::error::{ErrorKind, Span};
use std::borrow::Cow;

/// Reads a whole document. Duplicate keys do not stop the reading: they are
/// returned beside the value (the first occurrence is kept).
pub(crate) fn parse(src: &str, max_depth: usize) -> Result<(Node<'_>, Vec<ReadError>), ReadError> {
    let mut reader = Reader {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
        max_depth,
        duplicates: Vec::new(),
    };
    if src.starts_with('\u{feff}') {
        reader.pos = 3;
    }
    reader.skip_blank();
    let value = reader.value()?;
    reader.skip_blank();
    if reader.pos < reader.bytes.len() {
        return Err(reader.error(
            reader.here(),
            "unexpected text after the JSON value",
            Some("a file holds one value: wrap several flags in an array"),
        ));
    }
    Ok((value, reader.duplicates))
}

struct Reader<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
    duplicates: Vec<ReadError>,
}

impl<'s> Reader<'s> {
    fn error(&self, span: Span, message: &str, help: Option<&str>) -> ReadError {
        ReadError {
            kind: ErrorKind::InvalidJson,
            span,
            message: message.to_string(),
            help: help.map(str::to_string),
        }
    }

    fn here(&self) -> Span {
        let len = self.src[self.pos..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        Span::new(self.pos, self.pos + len)
    }

    fn found(&self) -> String {
        match self.src[self.pos..].chars().next() {
            Some(c) => format!("`{c}`"),
            None => "the end of the file".to_string(),
        }
    }

    fn skip_blank(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Node<'s>, ReadError> {
        let start = self.pos;
        let value = match self.bytes.get(self.pos) {
            Some(b'{') => self.nested(Reader::object)?,
            Some(b'[') => self.nested(Reader::array)?,
            Some(b'"') => NodeKind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.word("true", NodeKind::Bool(true))?,
            Some(b'f') => self.word("false", NodeKind::Bool(false))?,
            Some(b'n') => self.word("null", NodeKind::Null)?,
            Some(b'\'') => {
                return Err(self.error(
                    self.here(),
                    "JSON strings use double quotes",
                    Some("write \"...\" instead of '...'"),
                ))
            }
            _ => {
                return Err(self.error(
                    self.here(),
                    &format!("expected a JSON value, found {}", self.found()),
                    None,
                ))
            }
        };
        Ok(Node {
            value,
            span: Span::new(start, self.pos),
        })
    }

    fn nested(
        &mut self,
        read: fn(&mut Self) -> Result<NodeKind<'s>, ReadError>,
    ) -> Result<NodeKind<'s>, ReadError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(ReadError {
                kind: ErrorKind::TooDeep,
                span: self.here(),
                message: format!("JSON nests deeper than {} levels", self.max_depth),
                help: None,
            });
        }
        let value = read(self)?;
        self.depth -= 1;
        Ok(value)
    }

    fn word(&mut self, word: &str, value: NodeKind<'s>) -> Result<NodeKind<'s>, ReadError> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            let end = self.src[self.pos..]
                .find(|c: char| !c.is_alphanumeric())
                .map_or(self.src.len(), |i| self.pos + i);
            Err(self.error(
                Span::new(self.pos, end.max(self.pos + 1)),
                &format!("expected `{word}`, found `{}`", &self.src[self.pos..end]),
                None,
            ))
        }
    }

    fn expect_after(&mut self, what: &str, closing: u8) -> Result<bool, ReadError> {
        self.skip_blank();
        match self.bytes.get(self.pos) {
            Some(b',') => {
                let comma = self.pos;
                self.pos += 1;
                self.skip_blank();
                if self.bytes.get(self.pos) == Some(&closing) {
                    return Err(self.error(
                        Span::new(comma, comma + 1),
                        "trailing comma",
                        Some("JSON does not allow a comma before the closing bracket"),
                    ));
                }
                Ok(true)
            }
            Some(b) if *b == closing => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.error(
                self.here(),
                &format!(
                    "expected `,` or `{}` after {what}, found {}",
                    closing as char,
                    self.found()
                ),
                Some("is a comma missing?"),
            )),
        }
    }

    fn array(&mut self) -> Result<NodeKind<'s>, ReadError> {
        self.pos += 1;
        self.skip_blank();
        let mut items = Vec::new();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(NodeKind::Array(items));
        }
        loop {
            items.push(self.value()?);
            if !self.expect_after("an array element", b']')? {
                return Ok(NodeKind::Array(items));
            }
        }
    }

    fn object(&mut self) -> Result<NodeKind<'s>, ReadError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_blank();
        let mut members: Vec<Member> = Vec::new();
        // Keys seen so far, to find duplicates in linear time even in a
        // hostile object with a million keys.
        let mut keys: std::collections::HashMap<Cow<'s, str>, usize> =
            std::collections::HashMap::new();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(NodeKind::Object(members));
        }
        loop {
            if self.bytes.get(self.pos) != Some(&b'"') {
                let help = if self.pos >= self.bytes.len() {
                    format!("the `{{` at byte {open} is never closed")
                } else {
                    "object keys are strings in double quotes".to_string()
                };
                return Err(self.error(
                    self.here(),
                    &format!("expected a key, found {}", self.found()),
                    Some(&help),
                ));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            self.skip_blank();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error(
                    self.here(),
                    &format!("expected `:` after the key, found {}", self.found()),
                    None,
                ));
            }
            self.pos += 1;
            self.skip_blank();
            let value = self.value()?;
            let member = Member {
                key,
                key_span,
                value,
            };
            add_member(
                self.src,
                &mut members,
                &mut keys,
                &mut self.duplicates,
                member,
            );
            if !self.expect_after("an object member", b'}')? {
                return Ok(NodeKind::Object(members));
            }
            self.skip_blank();
        }
    }

    /// Reads a string, borrowed from the source unless it has escapes.
    fn string(&mut self) -> Result<Cow<'s, str>, ReadError> {
        let open = self.pos;
        self.pos += 1;
        let src: &'s str = self.src;
        let mut out: Option<String> = None;
        loop {
            let rest = src.get(self.pos..).unwrap_or_default();
            // The three stops are ASCII, so a byte scan finds them on
            // character boundaries (no UTF-8 decoding per character).
            let Some(stop) = rest
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < b' ')
            else {
                return Err(self.error(
                    Span::new(open, self.src.len()),
                    "unclosed string",
                    Some("add the closing `\"`"),
                ));
            };
            let run = rest.get(..stop).unwrap_or_default();
            self.pos += stop;
            match self.bytes[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(match out {
                        // No escape: the text between the quotes, as is.
                        None => Cow::Borrowed(run),
                        Some(mut out) => {
                            out.push_str(run);
                            Cow::Owned(out)
                        }
                    });
                }
                b'\\' => {
                    let (c, len) = decode_escape(&self.src[self.pos..]).ok_or_else(|| {
                        let len = self.src[self.pos + 1..]
                            .chars()
                            .next()
                            .map_or(1, |c| 1 + c.len_utf8());
                        self.error(
                            Span::new(self.pos, self.pos + len),
                            "invalid escape in a JSON string",
                            Some("JSON escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"),
                        )
                    })?;
                    let out = out.get_or_insert_with(String::new);
                    out.push_str(run);
                    out.push(c);
                    self.pos += len;
                }
                _ => {
                    let help = if self.bytes[self.pos] == b'\n' {
                        "a string cannot span lines: close it, or write \\n"
                    } else {
                        "write control characters as escapes such as \\t"
                    };
                    return Err(self.error(
                        Span::new(self.pos, self.pos + 1),
                        "control character in a string",
                        Some(help),
                    ));
                }
            }
        }
    }

    fn number(&mut self) -> Result<NodeKind<'s>, ReadError> {
        let start = self.pos;
        let b = self.bytes;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_len = i - int_start;
        let bad = |end: usize, msg: &str| ReadError {
            kind: ErrorKind::InvalidJson,
            span: Span::new(start, end.max(start + 1)),
            message: msg.to_string(),
            help: None,
        };
        if int_len == 0 {
            return Err(bad(i, "invalid number"));
        }
        if int_len > 1 && b[int_start] == b'0' {
            return Err(bad(i, "numbers cannot have leading zeros"));
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            let frac = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == frac {
                return Err(bad(i, "invalid number: digits must follow `.`"));
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            float = true;
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let exp = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == exp {
                return Err(bad(i, "invalid number: digits must follow the exponent"));
            }
        }
        self.pos = i;
        let text = &self.src[start..i];
        if !float {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(NodeKind::Int(n));
            }
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(NodeKind::Float(f)),
            _ => Err(bad(i, "number out of range")),
        }
    }
}

/// Decodes one escape at the start of `s` (which starts with `\`): the
/// character and the bytes used.
fn decode_escape(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    let c = match b.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = u32::from_str_radix(s.get(2..6)?, 16).ok()?;
            if (0xD800..0xDC00).contains(&high) {
                if s.get(6..8)? != "\\u" {
                    return None;
                }
                let low = u32::from_str_radix(s.get(8..12)?, 16).ok()?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(code).map(|c| (c, 12));
            }
            return char::from_u32(high).map(|c| (c, 6));
        }
        _ => return None,
    };
    Some((c, 2))
}

/// Maps a byte offset in a decoded string back to the offset in its raw
/// JSON text (`raw` is the text between the quotes).
pub(crate) fn raw_offset(raw: &str, decoded: usize) -> usize {
    let mut seen = 0;
    let mut i = 0;
    while i < raw.len() && seen < decoded {
        if raw.as_bytes()[i] == b'\\' {
            match decode_escape(&raw[i..]) {
                Some((c, len)) => {
                    seen += c.len_utf8();
                    i += len;
                }
                None => i += 1,
            }
        } else {
            let len = raw[i..].chars().next().map_or(1, char::len_utf8);
            seen += len;
            i += len;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(src: &str) -> Result<Node<'_>, ReadError> {
        parse(src, 64).map(|(j, _)| j)
    }

    #[test]
    fn reads_values_with_spans() {
        let src = r#" {"a": [1, -2.5e1, "x\u00e9\n", true, null]} "#;
        let json = read(src).unwrap();
        assert_eq!(json.span, Span::new(1, src.len() - 1));
        let NodeKind::Object(members) = json.value else {
            panic!()
        };
        assert_eq!(&src[members[0].key_span.range()], "\"a\"");
        let NodeKind::Array(items) = &members[0].value.value else {
            panic!()
        };
        assert_eq!(items[0].value, NodeKind::Int(1));
        assert_eq!(items[1].value, NodeKind::Float(-25.0));
        assert_eq!(items[2].value, NodeKind::String("xé\n".into()));
        assert_eq!(&src[items[2].span.range()], r#""x\u00e9\n""#);
    }

    #[test]
    fn borrows_strings_without_escapes_and_decodes_the_rest() {
        let src = r#"{"plain": "café ok", "escaped": "a\"b\u0041c", "k\u0065y": ""}"#;
        let json = read(src).unwrap();
        let NodeKind::Object(members) = json.value else {
            panic!()
        };
        let strings: Vec<(&Cow<'_, str>, &Cow<'_, str>)> = members
            .iter()
            .map(|m| match &m.value.value {
                NodeKind::String(s) => (&m.key, s),
                other => panic!("{other:?}"),
            })
            .collect();
        // Escape-free keys and values point into the source.
        assert!(matches!(strings[0].0, Cow::Borrowed("plain")));
        assert!(
            matches!(strings[0].1, Cow::Borrowed(s) if *s == "caf\u{e9} ok" && src.contains(s))
        );
        assert!(matches!(strings[2].1, Cow::Borrowed("")));
        // An escape anywhere decodes the whole string, text on both sides kept.
        assert!(matches!(strings[1].1, Cow::Owned(s) if s == "a\"bAc"));
        assert!(matches!(strings[2].0, Cow::Owned(s) if s == "key"));
    }

    #[test]
    fn reports_duplicates_and_keeps_going() {
        let (json, dups) = parse(r#"{"a": 1, "b": 2, "a": 3}"#, 8).unwrap();
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(dups[0].span, Span::new(17, 20));
        let NodeKind::Object(members) = json.value else {
            panic!()
        };
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].value.value, NodeKind::Int(1));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{'a':1}",
            "01",
            "1.",
            "tru",
            "\"abc",
            "\"a\nb\"",
            "[1 2]",
            "{\"a\" 1}",
            "1 2",
            "\"\\x\"",
            "\"\\ud800\"",
            "1e999",
        ] {
            assert!(read(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_trailing_comma_is_marked_where_it_is() {
        let err = read("[1, \n ]").unwrap_err();
        assert_eq!(err.message, "trailing comma");
        assert_eq!(err.span, Span::new(2, 3));
    }

    #[test]
    fn bounds_nesting() {
        let deep = "[".repeat(100_000);
        let err = read(&deep).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooDeep);
    }

    #[test]
    fn maps_decoded_offsets_to_raw_offsets() {
        let raw = r#"a \"b\" \u00e9c"#;
        // decoded: a "b" éc  -> `c` is at decoded byte 8 (é is 2 bytes)
        assert_eq!(raw_offset(raw, 2), 2);
        assert_eq!(raw_offset(raw, 3), 4);
        assert_eq!(raw_offset(raw, 8), 14);
    }
}
