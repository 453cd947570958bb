//! Errors, spans and diagnostics.
//!
//! Every error that input can cause is found when a rule or a config is
//! compiled, never during evaluation. Errors are opaque values with
//! accessors; their [`ErrorKind`] is `#[non_exhaustive]` so new kinds can be
//! added without breaking callers.

use std::fmt;
use std::ops::Range;

/// A byte range in some source text (a rule, or a config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The span as a range, for slicing the source.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    /// The span made safe to slice `source` with: inside it, on character
    /// boundaries (widened to whole characters), start before end. Readers
    /// widen an empty span to one character so that `^` shows; at the end
    /// of a file there is none, and this is where that is caught.
    pub(crate) fn within(self, source: &str) -> Span {
        let start = floor_char_boundary(source, self.start.min(source.len()));
        let mut end = self.end.clamp(start, source.len());
        while !source.is_char_boundary(end) {
            end += 1;
        }
        Span::new(start, end)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The config cannot be used.
    Error,
    /// Valid, but almost certainly a mistake (a lint).
    Warning,
    /// Worth knowing; never fails a check.
    Note,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// What went wrong. Each kind has a stable code ([`ErrorKind::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The rule text is not well formed.
    #[error("syntax error")]
    Syntax,
    /// An operator name that the language does not have.
    #[error("unknown operator")]
    UnknownOperator,
    /// An operator without the value it needs, or a value where none belongs.
    #[error("missing value")]
    MissingValue,
    /// A malformed literal: a bad escape, a number out of range.
    #[error("invalid literal")]
    InvalidLiteral,
    /// A `matches` pattern that is not a valid regular expression, or too big.
    #[error("invalid regular expression")]
    InvalidRegex,
    /// A literal that is not a semantic version where one is needed.
    #[error("invalid version")]
    InvalidVersion,
    /// A literal that is not an RFC 3339 date-time or epoch milliseconds.
    #[error("invalid date-time")]
    InvalidDateTime,
    /// A literal of the wrong type for its operator (`age < "18"`).
    #[error("type mismatch")]
    TypeMismatch,
    /// Input longer than the configured limit.
    #[error("input too long")]
    TooLong,
    /// Input nested deeper than the configured limit.
    #[error("nesting too deep")]
    TooDeep,
    /// A config file that is not valid JSON, YAML or TOML (by its format),
    /// or a context that is not valid JSON. The name is kept from when JSON
    /// was the only format.
    #[error("invalid syntax")]
    InvalidJson,
    /// A field the config format does not have.
    #[error("unknown field")]
    UnknownField,
    /// A required field that is absent.
    #[error("missing field")]
    MissingField,
    /// A field of the wrong JSON type.
    #[error("wrong type")]
    WrongType,
    /// The same key twice in one JSON object.
    #[error("duplicate key")]
    DuplicateKey,
    /// Two flags with the same `flag_key`.
    #[error("duplicate flag")]
    DuplicateFlag,
    /// A number outside its allowed range.
    #[error("value out of range")]
    OutOfRange,
    /// A context that is not a JSON object with a string `user_id`.
    #[error("invalid context")]
    InvalidContext,
    /// A file could not be read.
    #[error("I/O error")]
    Io,
    /// Lint: a deny rule identical to an allow rule, so it never decides.
    #[error("shadowed rule")]
    ShadowedRule,
    /// Lint: the same rule twice in one list.
    #[error("duplicate rule")]
    DuplicateRule,
    /// Lint: a rule that can never match.
    #[error("rule never matches")]
    NeverMatches,
    /// Lint: a rule that always matches.
    #[error("rule always matches")]
    AlwaysMatches,
    /// Lint: a rollout percentage on a flag whose kill switch is on.
    #[error("dead rollout")]
    DeadRollout,
    /// Lint (a note): rules on a disabled flag.
    #[error("disabled flag with rules")]
    DisabledWithRules,
    /// Lint: a `matches` pattern that matches every string.
    #[error("regex matches everything")]
    RegexMatchesEverything,
    /// Lint: a value listed twice.
    #[error("duplicate value")]
    DuplicateValue,
    /// A lint name in `allow_lints` that no lint has.
    #[error("unknown lint")]
    UnknownLint,
    /// An attribute the context schema does not declare.
    #[error("unknown attribute")]
    UnknownAttribute,
    /// A context schema that is not well formed.
    #[error("invalid schema")]
    InvalidSchema,
    /// More problems than are reported for one file.
    #[error("too many problems")]
    TooManyDiagnostics,
    /// A `requires` entry that names no flag of the file.
    #[error("unknown flag")]
    UnknownFlag,
    /// A `@segment` reference that names no declared segment.
    #[error("unknown segment")]
    UnknownSegment,
    /// Prerequisites or segments that refer to themselves, directly or
    /// through others.
    #[error("cycle")]
    Cycle,
    /// A `rollout_schedule` entry out of order, overlapping another, or
    /// mixing the step and ramp forms.
    #[error("invalid rollout schedule")]
    InvalidSchedule,
    /// Lint: a schedule entry that lowers the rollout percentage, taking the
    /// feature away from users who had it.
    #[error("decreasing rollout")]
    DecreasingRollout,
    /// Lint: a declared segment that no rule or segment uses.
    #[error("unused segment")]
    UnusedSegment,
    /// A config file that is not UTF-8 (invalid bytes, or UTF-16).
    #[error("invalid encoding")]
    InvalidEncoding,
    /// A flag key with a control or bidi character, or with whitespace at
    /// either end.
    #[error("invalid name")]
    InvalidName,
    /// Lint: a flag key that mixes scripts (Latin with Cyrillic or Greek),
    /// so it may look like another key.
    #[error("confusable key")]
    ConfusableKey,
    /// A variant name (`off_variant`, `on_variant`, a split entry, a pinned
    /// variant) that the flag's `variants` do not declare.
    #[error("unknown variant")]
    UnknownVariant,
    /// A split weight that is negative, over 100 or has more than two
    /// decimals, or split weights that do not sum to exactly 100.
    #[error("invalid weight")]
    InvalidWeight,
    /// The same variant twice in one split.
    #[error("duplicate variant")]
    DuplicateVariant,
    /// Fields that exclude each other (`on_variant` and `split`), or that
    /// need one the flag lacks (`off_variant` without `variants`), or a
    /// pinned variant on a deny-list entry.
    #[error("conflicting fields")]
    ConflictingFields,
    /// Lint: a variant that no path can serve.
    #[error("unserved variant")]
    UnservedVariant,
    /// Lint: a split that gives one variant all its weight.
    #[error("single-variant split")]
    SingleVariantSplit,
    /// Lint: a flag whose variants all hold the same value.
    #[error("same variant values")]
    SameVariantValues,
    /// A flag `type` (or a `lifetimes` key) that names no flag type.
    #[error("unknown flag type")]
    UnknownFlagType,
    /// Lint: a flag past its `expires` time.
    #[error("expired flag")]
    ExpiredFlag,
}

impl ErrorKind {
    /// The lint's name (`shadowed-rule`), for the lint kinds.
    pub fn lint_name(self) -> Option<&'static str> {
        self.lint().map(|l| l.name)
    }

    /// The lint this kind is, if it is one.
    pub(crate) fn lint(self) -> Option<&'static Lint> {
        LINTS.iter().find(|l| l.kind == self)
    }

    /// The lint a name or code (`shadowed-rule`, `W0001`) stands for.
    pub(crate) fn lint_by_name(name: &str) -> Option<ErrorKind> {
        LINTS
            .iter()
            .find(|l| l.name == name || l.kind.code() == name)
            .map(|l| l.kind)
    }

    /// The stable code of this kind, as shown in diagnostics (`E0002`).
    ///
    /// ```
    /// use killswitch::ErrorKind;
    /// assert_eq!(ErrorKind::UnknownOperator.code(), "E0002");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "E0001",
            ErrorKind::UnknownOperator => "E0002",
            ErrorKind::MissingValue => "E0003",
            ErrorKind::InvalidLiteral => "E0004",
            ErrorKind::InvalidRegex => "E0005",
            ErrorKind::InvalidVersion => "E0006",
            ErrorKind::InvalidDateTime => "E0007",
            ErrorKind::TypeMismatch => "E0008",
            ErrorKind::TooLong => "E0009",
            ErrorKind::TooDeep => "E0010",
            ErrorKind::InvalidJson => "E0101",
            ErrorKind::UnknownField => "E0102",
            ErrorKind::MissingField => "E0103",
            ErrorKind::WrongType => "E0104",
            ErrorKind::DuplicateKey => "E0105",
            ErrorKind::DuplicateFlag => "E0106",
            ErrorKind::OutOfRange => "E0107",
            ErrorKind::InvalidContext => "E0201",
            ErrorKind::Io => "E0301",
            ErrorKind::UnknownLint => "E0108",
            ErrorKind::UnknownAttribute => "E0011",
            ErrorKind::InvalidSchema => "E0109",
            ErrorKind::TooManyDiagnostics => "E0110",
            ErrorKind::UnknownFlag => "E0111",
            ErrorKind::Cycle => "E0112",
            ErrorKind::InvalidSchedule => "E0113",
            ErrorKind::UnknownSegment => "E0012",
            ErrorKind::DecreasingRollout => "W0009",
            ErrorKind::UnusedSegment => "W0010",
            ErrorKind::InvalidEncoding => "E0114",
            ErrorKind::InvalidName => "E0115",
            ErrorKind::ConfusableKey => "W0011",
            ErrorKind::UnknownVariant => "E0116",
            ErrorKind::InvalidWeight => "E0117",
            ErrorKind::DuplicateVariant => "E0118",
            ErrorKind::ConflictingFields => "E0119",
            ErrorKind::UnservedVariant => "W0012",
            ErrorKind::SingleVariantSplit => "W0013",
            ErrorKind::SameVariantValues => "W0014",
            ErrorKind::UnknownFlagType => "E0120",
            ErrorKind::ExpiredFlag => "W0015",
            ErrorKind::ShadowedRule => "W0001",
            ErrorKind::DuplicateRule => "W0002",
            ErrorKind::NeverMatches => "W0003",
            ErrorKind::AlwaysMatches => "W0004",
            ErrorKind::DeadRollout => "W0005",
            ErrorKind::DisabledWithRules => "W0006",
            ErrorKind::RegexMatchesEverything => "W0007",
            ErrorKind::DuplicateValue => "W0008",
        }
    }
}

/// A lint: a finding in a config that is valid but almost certainly not
/// what its author meant. It can be allowed per flag with
/// `"allow_lints": ["name-or-code", ...]`.
#[derive(Debug)]
pub(crate) struct Lint {
    pub kind: ErrorKind,
    /// The name `allow_lints` accepts (beside the code).
    pub name: &'static str,
    /// How it is reported unless `--deny-warnings` makes it an error.
    pub severity: Severity,
}

/// Every lint, in the order of their codes ([`ErrorKind::code`]): the one
/// table of lint names and severities.
pub(crate) const LINTS: &[Lint] = &[
    lint(ErrorKind::ShadowedRule, "shadowed-rule", Severity::Warning),
    lint(
        ErrorKind::DuplicateRule,
        "duplicate-rule",
        Severity::Warning,
    ),
    lint(ErrorKind::NeverMatches, "never-matches", Severity::Warning),
    lint(
        ErrorKind::AlwaysMatches,
        "always-matches",
        Severity::Warning,
    ),
    lint(ErrorKind::DeadRollout, "dead-rollout", Severity::Warning),
    lint(
        ErrorKind::DisabledWithRules,
        "disabled-with-rules",
        Severity::Note,
    ),
    lint(
        ErrorKind::RegexMatchesEverything,
        "regex-matches-everything",
        Severity::Warning,
    ),
    lint(
        ErrorKind::DuplicateValue,
        "duplicate-value",
        Severity::Warning,
    ),
    lint(
        ErrorKind::DecreasingRollout,
        "decreasing-rollout",
        Severity::Warning,
    ),
    lint(
        ErrorKind::UnusedSegment,
        "unused-segment",
        Severity::Warning,
    ),
    lint(
        ErrorKind::ConfusableKey,
        "confusable-key",
        Severity::Warning,
    ),
    lint(
        ErrorKind::UnservedVariant,
        "unserved-variant",
        Severity::Warning,
    ),
    lint(
        ErrorKind::SingleVariantSplit,
        "single-variant-split",
        Severity::Warning,
    ),
    lint(
        ErrorKind::SameVariantValues,
        "same-variant-values",
        Severity::Warning,
    ),
    lint(ErrorKind::ExpiredFlag, "expired-flag", Severity::Warning),
];

const fn lint(kind: ErrorKind, name: &'static str, severity: Severity) -> Lint {
    Lint {
        kind,
        name,
        severity,
    }
}

/// An error in a rule or a context, with its location and a hint where one
/// is likely to help.
///
/// `Display` renders it for people reading a monospace font: the message,
/// the line and column (counted in characters), the offending line with
/// `^^^` under the problem, and a `help:` line.
///
/// ```
/// use killswitch::{ErrorKind, Rule};
/// let err = Rule::parse(r#"email endswith "@internal.com""#).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnknownOperator);
/// assert_eq!(err.help(), Some("did you mean `endsWith`?"));
/// assert_eq!(err.to_string(), "\
/// unknown operator `endswith` at 1:7
///   |
/// 1 | email endswith \"@internal.com\"
///   |       ^^^^^^^^
///   = help: did you mean `endsWith`?");
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    span: Option<Span>,
    help: Option<String>,
    snippet: Option<Snippet>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                span: None,
                help: None,
                snippet: None,
            }),
        }
    }

    pub(crate) fn at(kind: ErrorKind, span: Span, message: impl Into<String>) -> Error {
        let mut err = Error::new(kind, message);
        err.inner.span = Some(span);
        err
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Error {
        self.inner.help = Some(help.into());
        self
    }

    /// Attaches the source excerpt the span points into, for `Display`.
    pub(crate) fn with_source(mut self, source: &str) -> Error {
        if let Some(span) = self.inner.span {
            self.inner.snippet = Some(Snippet::new(source, span));
        }
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without location or help.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Where in the rule text the problem is (bytes), when it has a place.
    pub fn span(&self) -> Option<Span> {
        self.inner.span
    }

    /// A suggested fix, when one is likely.
    pub fn help(&self) -> Option<&str> {
        self.inner.help.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("span", &self.inner.span)
            .field("help", &self.inner.help)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_for_terminal(&self.inner.message))?;
        if let Some(snippet) = &self.inner.snippet {
            write!(f, " at {}:{}", snippet.line, snippet.column)?;
            snippet.write(f)?;
        }
        if let Some(help) = &self.inner.help {
            let pad = self
                .inner
                .snippet
                .as_ref()
                .map_or(1, |s| s.line.to_string().len());
            write!(f, "\n{:pad$} = help: {}", "", escape_for_terminal(help))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Text from an input (a flag key, a rule, a line of a file) made safe to
/// print on a terminal, on one line: control characters (C0 including
/// ESC, NUL, CR and LF; DEL; C1) and the bidirectional text controls
/// (embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069,
/// and the marks U+200E, U+200F and U+061C) are written as Rust escapes
/// such as `\u{1b}`, so a file cannot clear the screen, forge lines or
/// reorder what is shown. Every rendering of errors and diagnostics goes
/// through it, and so does everything the command line echoes from its
/// input; the accessors keep the text as it was.
///
/// ```
/// assert_eq!(killswitch::escape_for_terminal("esc\u{1b}[2J"), "esc\\u{1b}[2J");
/// assert_eq!(killswitch::escape_for_terminal("plain"), "plain");
/// ```
pub fn escape_for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `c` is escaped by [`escape_for_terminal`].
fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Whether `c` is a bidirectional text control: an embedding, override or
/// isolate (U+202A-U+202E, U+2066-U+2069) or a direction mark (U+200E,
/// U+200F, U+061C). The one set both terminal escaping and the check on
/// flag, segment and variant names use.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Pushes `c`, escaped if need be; returns how many characters it took.
fn push_escaped(out: &mut String, c: char) -> usize {
    if needs_escape(c) {
        let escaped = format!("\\u{{{:x}}}", u32::from(c));
        out.push_str(&escaped);
        escaped.len()
    } else {
        out.push(c);
        1
    }
}

/// One line of source with a marked range, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snippet {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column of the span's start, in characters.
    pub column: usize,
    /// 1-based line and column just past the span's end.
    pub end_line: usize,
    /// See `end_line`.
    pub end_column: usize,
    /// The excerpt of the line shown (tabs as spaces, long lines cut).
    text: String,
    /// Characters of `text` before the marker.
    marker_offset: usize,
    /// Width of the marker, in characters (at least 1).
    marker_len: usize,
}

/// How many characters of a long line are shown before the marker.
const CONTEXT_BEFORE: usize = 40;
/// How many characters of a long line are shown in all; shorter lines are
/// shown whole.
const MAX_SHOWN: usize = 120;

impl Snippet {
    /// The excerpt of `source` around `span` (byte offsets, clamped).
    pub(crate) fn new(source: &str, span: Span) -> Snippet {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let (line, column) = line_column(source, start);
        let (end_line, end_column) = line_column(source, end);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line_text = source[line_start..line_end].trim_end_matches('\r');
        let before = column - 1;
        let marked = source[start..end.min(line_end)].chars().count().max(1);
        let skip = if line_text.len() <= MAX_SHOWN {
            0 // short enough (in bytes, so in characters too) to show whole
        } else {
            before.saturating_sub(CONTEXT_BEFORE)
        };
        let mut text: String = if skip > 0 {
            "...".into()
        } else {
            String::new()
        };
        let prefix_len = text.chars().count();
        let mut truncated = false;
        // Escaped characters (control, bidi) take several columns: the
        // marker moves right by what they add before it and widens by what
        // they add inside it.
        let marker_start = before - skip;
        let (mut widened_before, mut widened_inside, mut width) = (0, 0, prefix_len);
        // The first character shown, found by walking back from the marker
        // (at most `CONTEXT_BEFORE` characters) rather than forward over
        // the skipped ones: a file on one long line (minified JSON) would
        // otherwise cost a pass over the line for every diagnostic.
        let from = match (before - skip).checked_sub(1) {
            Some(back) => source
                .get(line_start..start)
                .and_then(|head| head.char_indices().rev().nth(back))
                .map_or(line_start, |(i, _)| line_start + i),
            None => start,
        };
        let from = if skip == 0 { line_start } else { from };
        let rest = line_text.get(from - line_start..).unwrap_or_default();
        for (shown, c) in rest.chars().enumerate() {
            if shown == MAX_SHOWN {
                truncated = true;
                break;
            }
            let taken = push_escaped(&mut text, if c == '\t' { ' ' } else { c });
            if shown < marker_start {
                widened_before += taken - 1;
            } else if shown < marker_start + marked {
                widened_inside += taken - 1;
            }
            width += taken;
        }
        if truncated {
            text.push_str("...");
        }
        let marker_offset = prefix_len + marker_start + widened_before;
        let marked = marked + widened_inside;
        let room = width.saturating_sub(marker_offset).max(1);
        Snippet {
            line,
            column,
            end_line,
            end_column,
            text,
            marker_offset,
            marker_len: marked.min(room),
        }
    }

    /// Writes the gutter, the line and the marker, each on a new line.
    pub(crate) fn write(&self, f: &mut impl fmt::Write) -> fmt::Result {
        let number = self.line.to_string();
        let pad = number.len();
        write!(f, "\n{:pad$} |", "")?;
        write!(f, "\n{number} | {}", self.text)?;
        write!(
            f,
            "\n{:pad$} | {:off$}{}",
            "",
            "",
            "^".repeat(self.marker_len),
            off = self.marker_offset
        )
    }
}

/// 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_kept_inside_the_source_on_character_boundaries() {
        assert_eq!(Span::new(2, 3).within("? "), Span::new(2, 2));
        assert_eq!(Span::new(9, 9).within("ab"), Span::new(2, 2));
        // `é` is bytes 1..3: a span into its middle widens to all of it.
        assert_eq!(Span::new(2, 2).within("aé"), Span::new(1, 3));
        assert_eq!(Span::new(0, 2).within("aé"), Span::new(0, 3));
        assert_eq!(Span::new(1, 0).within("abc"), Span::new(1, 1));
        assert_eq!(Span::new(0, 3).within("abc"), Span::new(0, 3));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_column("é == 1", 3), (1, 3));
        assert_eq!(line_column("a\nbé c", 6), (2, 4));
    }

    #[test]
    fn long_lines_are_cut_around_the_marker() {
        let source = format!("{}bad{}", "x".repeat(500), "y".repeat(500));
        let snippet = Snippet::new(&source, Span::new(500, 503));
        assert_eq!(snippet.column, 501);
        assert!(snippet.text.starts_with("..."));
        assert!(snippet.text.ends_with("..."));
        assert_eq!(&snippet.text[snippet.marker_offset..][..3], "bad");
        assert_eq!(snippet.marker_len, 3);
    }

    #[test]
    fn direction_marks_are_escaped_like_the_overrides() {
        // Name validation refuses exactly what escaping hides: a mark that
        // one accepted and the other printed raw would let a name reorder
        // what a terminal shows.
        for c in ['\u{200E}', '\u{200F}', '\u{061C}', '\u{202A}', '\u{2069}'] {
            assert!(is_bidi_control(c));
            let shown = escape_for_terminal(&format!("a{c}b")).into_owned();
            assert_eq!(shown, format!("a\\u{{{:x}}}b", u32::from(c)));
        }
        assert!(!is_bidi_control('\u{2065}'));
        assert!(!is_bidi_control('e'));
    }

    #[test]
    fn control_and_bidi_characters_are_escaped_and_the_marker_follows() {
        assert_eq!(escape_for_terminal("new_search_ui"), "new_search_ui");
        assert_eq!(
            escape_for_terminal("a\u{1b}[2J\0\r\n\u{7f}\u{9b}\u{202e}\u{2066}z"),
            "a\\u{1b}[2J\\u{0}\\u{d}\\u{a}\\u{7f}\\u{9b}\\u{202e}\\u{2066}z"
        );
        // Escapes before the span move the marker; inside it, widen it.
        let source = "x\u{202e} = \"\u{1b}b\" ~~ 1";
        let start = source.find('"').unwrap_or(0);
        let snippet = Snippet::new(source, Span::new(start, start + 4));
        assert_eq!(snippet.text, "x\\u{202e} = \"\\u{1b}b\" ~~ 1");
        let marked = &snippet.text[snippet.marker_offset..][..snippet.marker_len];
        assert_eq!(marked, "\"\\u{1b}b\"");
    }
}
