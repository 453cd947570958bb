//! Where the characters of a decoded string are in the file.
//!
//! A rule's diagnostics carry offsets into the decoded rule text; the file
//! has that text quoted, escaped, folded across lines or indented. Mapping
//! walks the raw text and the decoded text side by side: equal characters
//! advance both, an escape advances the raw text by the whole escape and
//! the decoded text by one character, and anything else in the raw text
//! (quotes doubled, indentation, a folded line break) is skipped. For text
//! without escapes this is exact; for escapes and folds it is exact at
//! every character that is not itself produced by the escape or fold.

use crate::error::Span;

/// How the raw text of a string encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// The text as it is: TOML literal strings, YAML literal blocks.
    None,
    /// YAML plain scalars and folded blocks: a line break and the
    /// indentation after it read as one space.
    Folded,
    /// YAML single-quoted scalars: `''` is a quote; lines fold.
    YamlSingle,
    /// YAML double-quoted scalars: backslash escapes; lines fold.
    YamlDouble,
    /// TOML basic strings: backslash escapes, and a backslash at the end
    /// of a line swallows the line break and the blanks after it.
    TomlBasic,
}

/// The raw text of one string value: where its content is in the file
/// (without quotes or a block header) and how it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawText {
    /// The start of the string value's span (the key to look it up by).
    pub node: usize,
    /// The content, as byte offsets into the file.
    pub start: usize,
    pub end: usize,
    pub escapes: Escapes,
}

/// The raw text of every string value of a document, ordered by position.
/// Empty for JSON, whose strings are always `"..."` with JSON escapes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawStrings {
    items: Vec<RawText>,
}

impl RawStrings {
    pub(crate) fn push(&mut self, raw: RawText) {
        self.items.push(raw);
    }

    /// Orders the entries so that [`RawStrings::get`] can find them.
    pub(crate) fn sort(&mut self) {
        self.items.sort_by_key(|r| r.node);
    }

    fn get(&self, node: usize) -> Option<&RawText> {
        self.items
            .binary_search_by_key(&node, |r| r.node)
            .ok()
            .and_then(|i| self.items.get(i))
    }

    /// Maps `span`, offsets into `decoded` (the value of the string whose
    /// span in `src` is `node`), to a span in `src`.
    pub(crate) fn to_file(&self, src: &str, node: Span, decoded: &str, span: Span) -> Span {
        let (raw_start, raw, escapes) = match self.get(node.start) {
            Some(r) => (
                r.start,
                src.get(r.start..r.end).unwrap_or(""),
                Some(r.escapes),
            ),
            // A JSON string: the text between the quotes.
            None => {
                let start = node.start + 1;
                let end = node.end.saturating_sub(1).max(start);
                (start, src.get(start..end).unwrap_or(""), None)
            }
        };
        let offset = |at: usize, is_start: bool| match escapes {
            Some(escapes) => raw_offset(raw, decoded, at, escapes, is_start),
            None => super::json::raw_offset(raw, at),
        };
        let start = raw_start + offset(span.start, true);
        let end = raw_start + offset(span.end, false);
        Span::new(start, end.max(start))
    }
}

fn is_break(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// The offset in `raw` of the character at byte `target` of `decoded`
/// (`is_start`), or of the end of the character before it.
pub(crate) fn raw_offset(
    raw: &str,
    decoded: &str,
    target: usize,
    escapes: Escapes,
    is_start: bool,
) -> usize {
    let folds = matches!(
        escapes,
        Escapes::Folded | Escapes::YamlSingle | Escapes::YamlDouble
    );
    let backslash = matches!(escapes, Escapes::YamlDouble | Escapes::TomlBasic);
    let mut i = 0;
    let mut j = 0;
    while j < target {
        let (Some(r), Some(d)) = (
            raw.get(i..).and_then(|s| s.chars().next()),
            decoded.get(j..).and_then(|s| s.chars().next()),
        ) else {
            break;
        };
        let rest = raw.get(i..).unwrap_or("");
        if backslash && r == '\\' {
            match continuation_len(rest, escapes) {
                // A line continuation produces nothing.
                Some(len) => i += len,
                None => {
                    i += escape_len(rest);
                    j += d.len_utf8();
                }
            }
        } else if escapes == Escapes::YamlSingle && r == '\'' && d == '\'' {
            i += if rest.starts_with("''") { 2 } else { 1 };
            j += 1;
        } else if r == d {
            i += r.len_utf8();
            j += d.len_utf8();
        } else if folds && is_break(r) && d == ' ' {
            i += fold_len(rest);
            j += 1;
        } else {
            i += r.len_utf8();
        }
    }
    if is_start {
        // Step over raw text that precedes the character: indentation, a
        // folded line break, a line continuation.
        let next = decoded.get(j..).and_then(|s| s.chars().next());
        while let Some(r) = raw.get(i..).and_then(|s| s.chars().next()) {
            let rest = raw.get(i..).unwrap_or("");
            if let Some(len) = continuation_len(rest, escapes).filter(|_| backslash) {
                i += len;
                continue;
            }
            if Some(r) == next || !(r == ' ' || r == '\t' || is_break(r)) {
                break;
            }
            i += r.len_utf8();
        }
    }
    i.min(raw.len())
}

/// The length of a line break and the blanks after it (one fold).
fn fold_len(s: &str) -> usize {
    let n = if s.starts_with("\r\n") { 2 } else { 1 };
    let after = s.get(n..).unwrap_or("");
    n + after.len() - after.trim_start_matches([' ', '\t']).len()
}

/// The length of a line continuation at the start of `s` (a backslash
/// ending a line), or `None` if the backslash starts an ordinary escape.
fn continuation_len(s: &str, escapes: Escapes) -> Option<usize> {
    let after = s.get(1..)?;
    let blanks = match escapes {
        // TOML allows blanks between the backslash and the line break.
        Escapes::TomlBasic => after.len() - after.trim_start_matches([' ', '\t']).len(),
        _ => 0,
    };
    if !after.get(blanks..)?.starts_with(is_break) {
        return None;
    }
    let rest = after.get(blanks..)?;
    let skipped = match escapes {
        // TOML trims every blank and line break up to the next text.
        Escapes::TomlBasic => rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len(),
        // YAML: the line break and the next line's indentation.
        _ => fold_len(rest),
    };
    Some(1 + blanks + skipped)
}

/// The length of the escape at the start of `s` (which starts with a
/// backslash): the backslash, a letter, and the hex digits of `\x`, `\u`
/// and `\U`.
fn escape_len(s: &str) -> usize {
    let Some(c) = s.get(1..).and_then(|a| a.chars().next()) else {
        return 1;
    };
    let hex = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => 0,
    };
    let n = 1 + c.len_utf8();
    n + s
        .get(n..)
        .unwrap_or("")
        .chars()
        .take(hex)
        .take_while(char::is_ascii_hexdigit)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The raw span of `word` (found in `decoded`).
    fn raw_span(raw: &str, decoded: &str, word: &str, escapes: Escapes) -> (usize, usize) {
        let at = decoded.find(word).unwrap();
        (
            raw_offset(raw, decoded, at, escapes, true),
            raw_offset(raw, decoded, at + word.len(), escapes, false),
        )
    }

    #[test]
    fn plain_text_maps_one_to_one() {
        let raw = "é == 1 and x endsWith 2";
        assert_eq!(raw_span(raw, raw, "x", Escapes::None), (12, 13));
        assert_eq!(raw_span(raw, raw, "é", Escapes::Folded), (0, 2));
    }

    #[test]
    fn folded_lines_map_past_the_indentation() {
        let raw = "a == 1 and\n    b endswith 2";
        let decoded = "a == 1 and b endswith 2";
        assert_eq!(
            raw_span(raw, decoded, "endswith", Escapes::Folded),
            (17, 25)
        );
        // The character after the fold, a start: past the indentation.
        assert_eq!(raw_span(raw, decoded, "b", Escapes::Folded), (15, 16));
        // The same with CRLF line ends.
        let raw = "a == 1 and\r\n    b endswith 2";
        assert_eq!(
            raw_span(raw, decoded, "endswith", Escapes::Folded),
            (18, 26)
        );
    }

    #[test]
    fn literal_blocks_skip_indentation() {
        let raw = "a == 1\n  and b endswith 3";
        let decoded = "a == 1\nand b endswith 3";
        assert_eq!(raw_span(raw, decoded, "endswith", Escapes::None), (15, 23));
    }

    #[test]
    fn yaml_double_quoted_escapes_count_as_one_character() {
        let raw = r#"\"x\" \u00e9 \x41 \U0001F600 y"#;
        let decoded = "\"x\" é A 😀 y";
        assert_eq!(raw_span(raw, decoded, "y", Escapes::YamlDouble), (29, 30));
        assert_eq!(raw_span(raw, decoded, "é", Escapes::YamlDouble), (6, 12));
        // An escaped line break produces nothing.
        let raw = "ab\\\n    cd";
        assert_eq!(raw_span(raw, "abcd", "cd", Escapes::YamlDouble), (8, 10));
        // `\ ` is an escaped space, not a continuation.
        assert_eq!(raw_span(r"a\ b", "a b", "b", Escapes::YamlDouble), (3, 4));
    }

    #[test]
    fn yaml_single_quoted_doubled_quotes_are_one() {
        assert_eq!(
            raw_span("it''s x", "it's x", "x", Escapes::YamlSingle),
            (6, 7)
        );
        assert_eq!(raw_span("a''''b", "a''b", "b", Escapes::YamlSingle), (5, 6));
        assert_eq!(raw_span("a\n  b", "a b", "b", Escapes::YamlSingle), (4, 5));
    }

    #[test]
    fn toml_line_ending_backslash_swallows_blank_lines() {
        let raw = "a \\  \n\n   b";
        assert_eq!(raw_span(raw, "a b", "b", Escapes::TomlBasic), (10, 11));
        let raw = r#"\"q\" \u00e9 \t z"#;
        assert_eq!(
            raw_span(raw, "\"q\" é \t z", "z", Escapes::TomlBasic),
            (16, 17)
        );
    }

    #[test]
    fn offsets_never_leave_the_raw_text() {
        // Decoded text that the raw text does not hold (a broken pairing)
        // still maps inside the raw text.
        assert_eq!(raw_offset("ab", "xyz", 3, Escapes::Folded, false), 2);
        assert_eq!(raw_offset("\\", "\n", 1, Escapes::YamlDouble, false), 1);
        assert_eq!(raw_offset("", "abc", 2, Escapes::None, true), 0);
    }

    #[test]
    fn json_strings_map_through_json_escapes() {
        let src = r#"["a \"b\" \u00e9c"]"#;
        let strings = RawStrings::default();
        let node = Span::new(1, src.len() - 1);
        let span = strings.to_file(src, node, "a \"b\" éc", Span::new(8, 9));
        assert_eq!(&src[span.range()], "c");
    }
}
