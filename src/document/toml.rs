//! TOML configs, read into the same tree as JSON ([`Node`]) with the byte
//! span of every value and key.
//!
//! `toml`'s `DeTable` parses with spans (and bounds the nesting of arrays
//! and inline tables); this module converts it. Duplicate keys are
//! reported beside the tree (the first one is kept), date-times become
//! strings in RFC 3339 form (so that rules compare them like any other
//! date-time string), and `inf`/`nan` are rejected.

use std::ops::Range;

use ::toml::de::{DeTable, DeValue};
use ::toml::Spanned;

use super::text::{Escapes, RawStrings, RawText};
use super::{Document, Member, Node, NodeKind, ReadError};
use crate::error::{ErrorKind, Span};

/// Reads a TOML document.
pub(crate) fn parse(src: &str, max_depth: usize) -> Result<Document<'_>, ReadError> {
    let (table, errors) = DeTable::parse_recoverable(src);
    let mut problems = Vec::new();
    let mut fatal: Option<ReadError> = None;
    for e in errors {
        let span = e.span().map_or(Span::new(0, 0), |r| span_of(src, &r));
        if e.message() == "duplicate key" {
            let key = src.get(span.range()).unwrap_or("");
            let key = if key.starts_with(['"', '\'']) {
                key.to_string()
            } else {
                format!("\"{key}\"")
            };
            problems.push(ReadError {
                kind: ErrorKind::DuplicateKey,
                span,
                message: format!("duplicate key {key}"),
                help: Some("a key may appear once in a table: remove one of them".into()),
            });
        } else if fatal.as_ref().is_none_or(|f| span.start < f.span.start) {
            // Past the first error, recovery may produce follow-on errors:
            // report the first one, as for JSON.
            fatal = Some(ReadError {
                kind: ErrorKind::InvalidJson,
                span,
                message: format!("invalid TOML: {}", e.message()),
                help: None,
            });
        }
    }
    if let Some(fatal) = fatal {
        return Err(fatal);
    }
    let mut converter = Converter {
        src,
        depth: 0,
        max_depth,
        strings: RawStrings::default(),
    };
    let members = converter.table(table.get_ref())?;
    let doc = Node {
        value: NodeKind::Object(members),
        span: Span::new(0, src.len()),
    };
    converter.strings.sort();
    Ok(Document {
        doc,
        problems,
        strings: converter.strings,
    })
}

/// A span from a byte range, widened to one character when it is empty
/// and kept inside the text.
fn span_of(src: &str, range: &Range<usize>) -> Span {
    let start = range.start.min(src.len());
    let end = range.end.clamp(start, src.len());
    if end > start {
        return Span::new(start, end);
    }
    let len = src
        .get(start..)
        .and_then(|s| s.chars().next())
        .map_or(0, char::len_utf8);
    Span::new(start, start + len)
}

struct Converter<'s> {
    src: &'s str,
    depth: usize,
    max_depth: usize,
    strings: RawStrings,
}

impl Converter<'_> {
    fn table<'s>(&mut self, table: &DeTable<'s>) -> Result<Vec<Member<'s>>, ReadError> {
        let mut members = Vec::with_capacity(table.len());
        for (key, value) in table.iter() {
            members.push(Member {
                // Borrowed from the source unless the key has escapes.
                key: key.get_ref().clone(),
                key_span: span_of(self.src, &key.span()),
                value: self.value(value)?,
            });
        }
        // The map orders keys by name; the file's order reads better.
        members.sort_by_key(|m| m.key_span.start);
        Ok(members)
    }

    fn value<'s>(&mut self, value: &Spanned<DeValue<'s>>) -> Result<Node<'s>, ReadError> {
        let span = span_of(self.src, &value.span());
        let bad = |message: String, help: &str| ReadError {
            kind: ErrorKind::InvalidJson,
            span,
            message,
            help: Some(help.to_string()),
        };
        let value = match value.get_ref() {
            DeValue::String(s) => {
                self.string(span);
                NodeKind::String(s.clone())
            }
            DeValue::Integer(n) => match i64::from_str_radix(n.as_str(), n.radix()) {
                Ok(n) => NodeKind::Int(n),
                Err(_) => {
                    return Err(bad(
                        "integer out of range".into(),
                        "TOML integers are 64-bit",
                    ))
                }
            },
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(f) if f.is_finite() => NodeKind::Float(f),
                _ => {
                    return Err(bad(
                        format!("`{}` is not a finite number", f.as_str()),
                        "write a finite number",
                    ))
                }
            },
            DeValue::Boolean(b) => NodeKind::Bool(*b),
            DeValue::Datetime(dt) => {
                self.strings.push(RawText {
                    node: span.start,
                    start: span.start,
                    end: span.end,
                    escapes: Escapes::None,
                });
                NodeKind::String(dt.to_string().into())
            }
            DeValue::Array(items) => {
                self.enter(span)?;
                let items = items
                    .iter()
                    .map(|item| self.value(item))
                    .collect::<Result<Vec<_>, _>>()?;
                self.depth -= 1;
                NodeKind::Array(items)
            }
            DeValue::Table(table) => {
                self.enter(span)?;
                let members = self.table(table)?;
                self.depth -= 1;
                NodeKind::Object(members)
            }
        };
        Ok(Node { value, span })
    }

    fn enter(&mut self, span: Span) -> Result<(), ReadError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(ReadError {
                kind: ErrorKind::TooDeep,
                span,
                message: format!("TOML nests deeper than {} levels", self.max_depth),
                help: None,
            });
        }
        Ok(())
    }

    /// Records where the content of the string at `span` is, and how it is
    /// escaped.
    fn string(&mut self, span: Span) {
        let raw = self.src.get(span.range()).unwrap_or("");
        let (open, escapes) = if raw.starts_with("\"\"\"") {
            (3, Escapes::TomlBasic)
        } else if raw.starts_with("'''") {
            (3, Escapes::None)
        } else if raw.starts_with('"') {
            (1, Escapes::TomlBasic)
        } else if raw.starts_with('\'') {
            (1, Escapes::None)
        } else {
            (0, Escapes::None)
        };
        let mut start = span.start + open;
        let end = span.end.saturating_sub(open).max(start);
        if open == 3 {
            // A line break right after the opening quotes is not content.
            let content = self.src.get(start..end).unwrap_or("");
            if content.starts_with("\r\n") {
                start += 2;
            } else if content.starts_with('\n') {
                start += 1;
            }
        }
        self.strings.push(RawText {
            node: span.start,
            start,
            end,
            escapes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn members<'a>(json: &'a Node<'_>) -> &'a [Member<'a>] {
        match &json.value {
            NodeKind::Object(m) => m,
            other => panic!("not a table: {other:?}"),
        }
    }

    #[test]
    fn keeps_byte_spans_in_file_order() {
        let src = "\"zé\" = 'ü' # ö\na = [1, 2.5, true]\nwhen = 2025-03-01 09:00:00Z\n[t]\nk = \"\"\"\nx\"\"\"\n";
        let parsed = parse(src, 64).unwrap();
        let m = members(&parsed.doc);
        let keys: Vec<&str> = m.iter().map(|m| &*m.key).collect();
        assert_eq!(keys, ["zé", "a", "when", "t"]);
        assert_eq!(&src[m[0].key_span.range()], "\"zé\"");
        assert_eq!(&src[m[0].value.span.range()], "'ü'");
        assert_eq!(&src[m[1].value.span.range()], "[1, 2.5, true]");
        assert_eq!(
            m[2].value.value,
            NodeKind::String("2025-03-01T09:00:00Z".into())
        );
        let k = &members(&m[3].value)[0];
        assert_eq!(k.value.value, NodeKind::String("x".into()));
        assert_eq!(&src[k.value.span.range()], "\"\"\"\nx\"\"\"");
    }

    #[test]
    fn borrows_strings_without_escapes() {
        let src = "plain = \"hello world\"\nliteral = 'C:\\dir'\nescaped = \"a\\tb\"\n";
        let parsed = parse(src, 8).unwrap();
        let m = members(&parsed.doc);
        assert!(matches!(m[0].key, Cow::Borrowed("plain")), "{:?}", m[0].key);
        assert!(
            matches!(
                &m[0].value.value,
                NodeKind::String(Cow::Borrowed("hello world"))
            ),
            "{:?}",
            m[0].value
        );
        assert!(
            matches!(
                &m[1].value.value,
                NodeKind::String(Cow::Borrowed("C:\\dir"))
            ),
            "{:?}",
            m[1].value
        );
        assert!(
            matches!(&m[2].value.value, NodeKind::String(Cow::Owned(s)) if s == "a\tb"),
            "{:?}",
            m[2].value
        );
    }

    #[test]
    fn duplicates_are_reported_and_the_first_kept() {
        let parsed = parse("a = 1\nb = 2\na = 3\n", 64).unwrap();
        assert_eq!(members(&parsed.doc)[0].value.value, NodeKind::Int(1));
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(parsed.problems[0].message, "duplicate key \"a\"");
        assert_eq!(parsed.problems[0].span, Span::new(12, 13));
    }

    #[test]
    fn rejects_non_finite_numbers_and_bad_syntax_at_the_first_error() {
        let e = parse("a = nan\n", 64).unwrap_err();
        assert_eq!(e.message, "`nan` is not a finite number");
        assert_eq!(e.span, Span::new(4, 7));
        let e = parse("a = 1\nb = \nc = [\n", 64).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert!(e.message.starts_with("invalid TOML: "), "{}", e.message);
        assert_eq!(e.span.start, 10);
    }

    #[test]
    fn bounds_nesting() {
        let dotted = format!("{} = 1\n", vec!["a"; 100_000].join("."));
        assert!(parse(&dotted, 64).is_err());
        let deep = format!("{} = 1\n", vec!["a"; 70].join("."));
        assert_eq!(parse(&deep, 64).unwrap_err().kind, ErrorKind::TooDeep);
        let arrays = format!("a = {}", "[".repeat(100_000));
        assert!(parse(&arrays, 64).is_err());
    }
}
