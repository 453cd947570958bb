//! YAML configs, read into the same tree as JSON ([`Node`]) with the byte
//! span of every value and key.
//!
//! `saphyr-parser` gives events with positions; this module builds the
//! tree, resolves plain scalars by the YAML 1.2 core schema (only
//! `true`/`false` are booleans, `yes` is a string), and rejects what a
//! flag config has no use for and what could make it expensive: aliases
//! (so an alias bomb ends at its first `*`), tags, several documents and
//! keys that are not strings. Nesting is bounded like JSON's.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as Marks, StrInput};

use super::text::{Escapes, RawStrings, RawText};
use super::{add_member, Document, Member, Node, NodeKind, ReadError};

use crate::error::{ErrorKind, Span};

/// Reads one YAML document.
pub(crate) fn parse(src: &str, max_depth: usize) -> Result<Document<'_>, ReadError> {
    let mut reader = Reader {
        src,
        parser: Parser::new_from_str(src),
        offsets: Offsets::new(src),
        max_depth,
        problems: Vec::new(),
        strings: RawStrings::default(),
    };
    let doc = reader.document()?;
    reader.strings.sort();
    Ok(Document {
        doc,
        problems: reader.problems,
        strings: reader.strings,
    })
}

struct Reader<'s> {
    src: &'s str,
    parser: Parser<'s, StrInput<'s>>,
    offsets: Offsets<'s>,
    max_depth: usize,
    problems: Vec<ReadError>,
    strings: RawStrings,
}

fn error(kind: ErrorKind, span: Span, message: String, help: Option<&str>) -> ReadError {
    ReadError {
        kind,
        span,
        message,
        help: help.map(str::to_string),
    }
}

impl<'s> Reader<'s> {
    /// The next event and its span in bytes.
    fn next(&mut self) -> Result<(Event<'s>, Span), ReadError> {
        match self.parser.next_event() {
            Some(Ok((event, marks))) => {
                let span = self.span(marks);
                Ok((event, span))
            }
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(error(
                ErrorKind::InvalidJson,
                Span::new(self.src.len(), self.src.len()),
                "unexpected end of the YAML document".into(),
                None,
            )),
        }
    }

    fn span(&mut self, marks: Marks) -> Span {
        let start = self.offsets.byte(marks.start.index());
        let end = self.offsets.byte(marks.end.index());
        Span::new(start, end.max(start))
    }

    fn scan_error(&mut self, e: &ScanError) -> ReadError {
        let at = self.offsets.byte(e.marker().index());
        let len = self
            .src
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(0, char::len_utf8);
        if e.info().contains("recursion limit") {
            // The scanner looks ahead and has a nesting limit of its own.
            return error(
                ErrorKind::TooDeep,
                Span::new(at, at + len),
                format!("YAML nests deeper than {} levels", self.max_depth),
                None,
            );
        }
        error(
            ErrorKind::InvalidJson,
            Span::new(at, at + len),
            format!("invalid YAML: {}", e.info()),
            None,
        )
    }

    fn document(&mut self) -> Result<Node<'s>, ReadError> {
        let mut doc = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) if doc.is_some() => {
                    return Err(error(
                        ErrorKind::InvalidJson,
                        Span::new(span.start, span.end.max(span.start + 1)),
                        "a second YAML document".into(),
                        Some("a config file holds one document: drop this `---` and put every flag in one list"),
                    ));
                }
                Event::DocumentStart(_) => {
                    let (event, span) = self.next()?;
                    if let Event::DocumentEnd = event {
                        // An empty document (only `---`) is null.
                        doc = Some(Node {
                            value: NodeKind::Null,
                            span: Span::new(span.start, span.start),
                        });
                    } else {
                        doc = Some(self.node(event, span)?);
                    }
                }
                _ => {
                    return Err(error(
                        ErrorKind::InvalidJson,
                        span,
                        "unexpected YAML event".into(),
                        None,
                    ))
                }
            }
        }
        // An empty file is null too; the loader says what a config holds.
        Ok(doc.unwrap_or(Node {
            value: NodeKind::Null,
            span: Span::new(0, 0),
        }))
    }

    /// Reads the node that `event` starts. Collections are built with an
    /// explicit stack rather than by recursion, so that nesting costs heap,
    /// not stack, up to the depth limit.
    fn node(&mut self, mut event: Event<'s>, mut span: Span) -> Result<Node<'s>, ReadError> {
        let mut stack: Vec<Frame<'s>> = Vec::new();
        loop {
            let expecting_key = matches!(stack.last(), Some(Frame::Map { key: None, .. }));
            let done = match event {
                Event::Alias(_) => return Err(alias_error(span)),
                Event::Scalar(_, _, _, Some(tag))
                | Event::SequenceStart(_, Some(tag))
                | Event::MappingStart(_, Some(tag)) => {
                    return Err(tag_error(&tag.to_string(), span))
                }
                Event::SequenceStart(..) | Event::MappingStart(..) if expecting_key => {
                    return Err(error(
                        ErrorKind::WrongType,
                        Span::new(span.start, span.end.max(span.start + 1)),
                        "a YAML key must be a string, not a list or a mapping".into(),
                        None,
                    ));
                }
                Event::Scalar(text, style, _, None) if expecting_key => {
                    let key = self.scalar(text, style, span)?;
                    if let Some(Frame::Map { key: slot, .. }) = stack.last_mut() {
                        *slot = Some(match key.value {
                            NodeKind::String(s) => Ok((s, key.span)),
                            other => Err((other.type_name(), key.span)),
                        });
                    }
                    (event, span) = self.next()?;
                    continue;
                }
                Event::Scalar(text, style, _, None) => self.scalar(text, style, span)?,
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    if stack.len() >= self.max_depth {
                        return Err(error(
                            ErrorKind::TooDeep,
                            Span::new(span.start, span.end.max(span.start + 1)),
                            format!("YAML nests deeper than {} levels", self.max_depth),
                            None,
                        ));
                    }
                    stack.push(match event {
                        Event::SequenceStart(..) => Frame::Seq {
                            start: span,
                            items: Vec::new(),
                        },
                        _ => Frame::Map {
                            start: span,
                            members: Vec::new(),
                            keys: HashMap::new(),
                            key: None,
                            last: None,
                        },
                    });
                    (event, span) = self.next()?;
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                    Some(Frame::Seq { start, items }) => Node {
                        span: closed(start, items.last().map(|j| j.span), span),
                        value: NodeKind::Array(items),
                    },
                    Some(Frame::Map {
                        start,
                        members,
                        last,
                        ..
                    }) => Node {
                        span: closed(start, last, span),
                        value: NodeKind::Object(members),
                    },
                    None => return Err(unexpected(span)),
                },
                _ => return Err(unexpected(span)),
            };
            match stack.last_mut() {
                None => return Ok(done),
                Some(Frame::Seq { items, .. }) => items.push(done),
                Some(Frame::Map {
                    members,
                    keys,
                    key,
                    last,
                    ..
                }) => {
                    *last = Some(done.span);
                    match key.take() {
                        Some(Ok((key, key_span))) => {
                            let member = Member {
                                key,
                                key_span,
                                value: done,
                            };
                            add_member(self.src, members, keys, &mut self.problems, member);
                        }
                        Some(Err((type_name, key_span))) => self.problems.push(error(
                            ErrorKind::WrongType,
                            Span::new(key_span.start, key_span.end.max(key_span.start + 1)),
                            format!("a key must be a string, not {type_name}"),
                            Some("quote the key to make it a string"),
                        )),
                        None => return Err(unexpected(done.span)),
                    }
                }
            }
            (event, span) = self.next()?;
        }
    }

    /// A scalar's node; a string borrows the parser's text (the source's,
    /// where the scalar needs no folding or unescaping).
    fn scalar(
        &mut self,
        text: Cow<'s, str>,
        style: ScalarStyle,
        span: Span,
    ) -> Result<Node<'s>, ReadError> {
        let raw = self.src.get(span.range()).unwrap_or("");
        let (span, content, escapes) = match style {
            ScalarStyle::Plain => {
                let value = plain(&text).map_err(|message| {
                    error(
                        ErrorKind::InvalidJson,
                        span,
                        message,
                        Some("write a finite number, or quote the text"),
                    )
                })?;
                if let Some(value) = value {
                    return Ok(Node { value, span });
                }
                (span, span, Escapes::Folded)
            }
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                // The parser's span may run past the closing quote (over
                // blanks and a comment); find the quote itself.
                let double = style == ScalarStyle::DoubleQuoted;
                let len = closing_quote(raw, double).map_or(raw.len(), |i| i + 1);
                let span = Span::new(span.start, span.start + len);
                let content = Span::new(
                    span.start + 1,
                    span.end.saturating_sub(1).max(span.start + 1),
                );
                let escapes = if double {
                    Escapes::YamlDouble
                } else {
                    Escapes::YamlSingle
                };
                (span, content, escapes)
            }
            ScalarStyle::Literal | ScalarStyle::Folded => {
                // The span starts at the content and runs over the blank
                // lines after it.
                let trimmed = raw.trim_end_matches([' ', '\t', '\n', '\r']).len();
                let span = Span::new(span.start, span.start + trimmed);
                let escapes = if style == ScalarStyle::Literal {
                    Escapes::None
                } else {
                    Escapes::Folded
                };
                (span, span, escapes)
            }
        };
        self.strings.push(RawText {
            node: span.start,
            start: content.start,
            end: content.end,
            escapes,
        });
        Ok(Node {
            value: NodeKind::String(text),
            span,
        })
    }
}

/// A mapping key read: a string, or the type name of a key that is not one.
type Key<'s> = Result<(Cow<'s, str>, Span), (&'static str, Span)>;

/// A collection being read.
enum Frame<'s> {
    Seq {
        start: Span,
        items: Vec<Node<'s>>,
    },
    Map {
        start: Span,
        members: Vec<Member<'s>>,
        /// Keys seen so far, to find duplicates in linear time.
        keys: HashMap<Cow<'s, str>, usize>,
        /// The key read, waiting for its value (an error if it is not a
        /// string).
        key: Option<Key<'s>>,
        /// The span of the last value, where a block mapping ends.
        last: Option<Span>,
    },
}

/// The span of a collection: from its start to the end of its closing
/// bracket (flow style) or of its last item (block style).
fn closed(start: Span, last: Option<Span>, end: Span) -> Span {
    let stop = if end.end > end.start {
        end.end
    } else {
        last.map_or(start.end, |s| s.end)
    };
    Span::new(start.start, stop.max(start.end))
}

fn unexpected(span: Span) -> ReadError {
    error(
        ErrorKind::InvalidJson,
        span,
        "unexpected YAML event".into(),
        None,
    )
}

fn alias_error(span: Span) -> ReadError {
    error(
        ErrorKind::InvalidJson,
        Span::new(span.start, span.end.max(span.start + 1)),
        "YAML aliases are not supported".into(),
        Some("write the value out again instead of `*name`"),
    )
}

fn tag_error(tag: &str, span: Span) -> ReadError {
    let help = if tag.ends_with("str") {
        "quote the value to make it a string"
    } else {
        "remove the tag: values are typed by how they are written"
    };
    error(
        ErrorKind::InvalidJson,
        Span::new(span.start, span.end.max(span.start + 1)),
        format!("YAML tags are not supported (`{}`)", short_tag(tag)),
        Some(help),
    )
}

/// `tag:yaml.org,2002:str` as it is usually written, `!!str`.
fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:!") {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// The offset of the closing quote in `raw`, which starts with the opening
/// one.
fn closing_quote(raw: &str, double: bool) -> Option<usize> {
    let bytes = raw.as_bytes();
    let quote = if double { b'"' } else { b'\'' };
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        if double && b == b'\\' {
            i += 2;
        } else if b == quote {
            if !double && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
            } else {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Resolves a plain scalar by the YAML 1.2 core schema: `None` for a
/// string (the caller keeps the text it has).
fn plain(text: &str) -> Result<Option<NodeKind<'static>>, String> {
    Ok(Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("`{text}` is not a finite number"));
        }
        _ => {
            if let Some(n) = integer(text) {
                match n {
                    Some(n) => NodeKind::Int(n),
                    None => match text.parse::<f64>() {
                        Ok(f) if f.is_finite() => NodeKind::Float(f),
                        _ => return Err("number out of range".into()),
                    },
                }
            } else if is_float(text) {
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => NodeKind::Float(f),
                    _ => return Err("number out of range".into()),
                }
            } else {
                return Ok(None);
            }
        }
    }))
}

/// A core-schema integer (`[-+]?[0-9]+`, `0o...`, `0x...`): `None` if
/// `text` is not one, `Some(None)` if it is but does not fit in an `i64`.
fn integer(text: &str) -> Option<Option<i64>> {
    let (radix, digits) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (8, oct)
    } else {
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(text.parse::<i64>().ok());
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(i64::from_str_radix(digits, radix).ok())
}

/// A core-schema float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let whole = digits(&mut i);
    let mut fraction = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        fraction = digits(&mut i);
    } else if whole == 0 {
        return false;
    }
    if whole == 0 && fraction == 0 {
        return false;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'-' | b'+') = b.get(i) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Converts the parser's character indexes to byte offsets. Events come in
/// file order, so walking from the last position is linear overall.
struct Offsets<'s> {
    src: &'s str,
    ascii: bool,
    char_index: usize,
    byte: usize,
}

impl<'s> Offsets<'s> {
    fn new(src: &'s str) -> Offsets<'s> {
        Offsets {
            src,
            ascii: src.is_ascii(),
            char_index: 0,
            byte: 0,
        }
    }

    fn byte(&mut self, index: usize) -> usize {
        if self.ascii {
            return index.min(self.src.len());
        }
        while self.char_index < index {
            match self.src.get(self.byte..).and_then(|s| s.chars().next()) {
                Some(c) => {
                    self.byte += c.len_utf8();
                    self.char_index += 1;
                }
                None => return self.byte,
            }
        }
        while self.char_index > index {
            match self
                .src
                .get(..self.byte)
                .and_then(|s| s.chars().next_back())
            {
                Some(c) => {
                    self.byte -= c.len_utf8();
                    self.char_index -= 1;
                }
                None => return self.byte,
            }
        }
        self.byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(src: &str) -> Result<Document<'_>, ReadError> {
        parse(src, 64)
    }

    fn members<'a>(json: &'a Node<'_>) -> &'a [Member<'a>] {
        match &json.value {
            NodeKind::Object(m) => m,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn resolves_plain_scalars_by_the_core_schema() {
        let cases = [
            ("1", NodeKind::Int(1)),
            ("-12", NodeKind::Int(-12)),
            ("0x1F", NodeKind::Int(31)),
            ("0o17", NodeKind::Int(15)),
            ("2.5", NodeKind::Float(2.5)),
            ("-1e3", NodeKind::Float(-1000.0)),
            (".5", NodeKind::Float(0.5)),
            ("99999999999999999999", NodeKind::Float(1e20)),
            ("true", NodeKind::Bool(true)),
            ("FALSE", NodeKind::Bool(false)),
            ("~", NodeKind::Null),
            ("null", NodeKind::Null),
            ("yes", NodeKind::String("yes".into())),
            ("off", NodeKind::String("off".into())),
            ("1.2.3", NodeKind::String("1.2.3".into())),
            ("0x", NodeKind::String("0x".into())),
            ("e3", NodeKind::String("e3".into())),
        ];
        for (text, want) in cases {
            let got = plain(text).unwrap();
            assert_eq!(got.unwrap_or(NodeKind::String(text.into())), want, "{text}");
        }
        assert!(plain(".inf").is_err());
        assert!(plain(".NaN").is_err());
    }

    #[test]
    fn strings_are_the_parser_s_text() {
        let src = "plain: hello world\nquoted: 'it''s'\nescaped: \"a\\tb\"\n";
        let parsed = read(src).unwrap();
        let m = members(&parsed.doc);
        let strings: Vec<(&str, &str)> = m
            .iter()
            .map(|m| match &m.value.value {
                NodeKind::String(s) => (&*m.key, &**s),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            strings,
            [
                ("plain", "hello world"),
                ("quoted", "it's"),
                ("escaped", "a\tb")
            ]
        );
    }

    #[test]
    fn keeps_byte_spans_of_keys_and_values() {
        let src = "é: \"ü\"  # cömment\nb: [1, 'q''s', {c: ~}]\nd: |\n  x\n  y\n\ne: x\n";
        let parsed = read(src).unwrap();
        let m = members(&parsed.doc);
        assert_eq!(&src[m[0].key_span.range()], "é");
        assert_eq!(&src[m[0].value.span.range()], "\"ü\"");
        assert_eq!(&src[m[1].key_span.range()], "b");
        assert_eq!(&src[m[1].value.span.range()], "[1, 'q''s', {c: ~}]");
        let NodeKind::Array(items) = &m[1].value.value else {
            panic!()
        };
        assert_eq!(&src[items[1].span.range()], "'q''s'");
        assert_eq!(items[1].value, NodeKind::String("q's".into()));
        assert_eq!(&src[m[2].value.span.range()], "x\n  y");
        assert_eq!(m[2].value.value, NodeKind::String("x\ny\n".into()));
        assert_eq!(&src[m[3].key_span.range()], "e");
        // A block mapping ends with its last value.
        assert_eq!(parsed.doc.span, Span::new(0, src.len() - 1));
    }

    #[test]
    fn a_byte_order_mark_and_crlf_keep_offsets_right() {
        let src = "\u{feff}a: 1\r\nbé: 'x'\r\n";
        let parsed = read(src).unwrap();
        let m = members(&parsed.doc);
        assert_eq!(&src[m[0].key_span.range()], "a");
        assert_eq!(&src[m[1].value.span.range()], "'x'");
    }

    #[test]
    fn reports_duplicates_and_non_string_keys_beside_the_tree() {
        let parsed = read("a: 1\nb: 2\na: 3\n1: x\n").unwrap();
        let m = members(&parsed.doc);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].value.value, NodeKind::Int(1));
        assert_eq!(parsed.problems.len(), 2);
        assert_eq!(parsed.problems[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(parsed.problems[0].span, Span::new(10, 11));
        assert_eq!(
            parsed.problems[0].help.as_deref(),
            Some("the first \"a\" is at 1:1; remove one of them")
        );
        assert_eq!(parsed.problems[1].kind, ErrorKind::WrongType);
        assert_eq!(parsed.problems[1].span, Span::new(15, 16));
    }

    #[test]
    fn rejects_what_a_config_has_no_use_for() {
        for (src, message, at) in [
            ("a: &x 1\nb: *x\n", "YAML aliases are not supported", 11),
            ("a: !!str 1\n", "YAML tags are not supported (`!!str`)", 3),
            (
                "a: !custom [1]\n",
                "YAML tags are not supported (`!custom`)",
                3,
            ),
            ("a: 1\n---\nb: 2\n", "a second YAML document", 5),
            (
                "? [a, b]\n: 1\n",
                "a YAML key must be a string, not a list or a mapping",
                2,
            ),
            ("a: .inf\n", "`.inf` is not a finite number", 3),
            ("a: [1\n", "invalid YAML", 6),
        ] {
            let e = read(src).unwrap_err();
            assert!(e.message.starts_with(message), "{src:?}: {}", e.message);
            assert_eq!(e.span.start, at, "{src:?}: {}", e.message);
        }
    }

    #[test]
    fn bounds_nesting() {
        let e = read(&"[".repeat(100_000)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooDeep);
        let mut block = String::new();
        for i in 0..100 {
            block.push_str(&" ".repeat(i));
            block.push_str("a:\n");
        }
        assert_eq!(read(&block).unwrap_err().kind, ErrorKind::TooDeep);
    }

    #[test]
    fn an_empty_file_is_null() {
        for src in ["", "# nothing\n", "---\n"] {
            assert_eq!(read(src).unwrap().doc.value, NodeKind::Null, "{src:?}");
        }
    }
}
