//! Config files -> [`FlagSet`], collecting every problem with its place.
//!
//! A file holds one flag object, an array of flags, or `{"flags": [...]}`,
//! in JSON, YAML or TOML: each is read into the same spanned tree.

pub(crate) mod diagnostic;
pub(crate) mod edit;
mod lint;
mod load;
pub(crate) mod report;
pub(crate) mod schema;

mod flag;
mod link;
mod metadata;
mod schedule;
mod segments;
mod variants;

use link::Pending;
use metadata::Lifetimes;
use segments::references;

use crate::config::diagnostic::Diagnostic;
use crate::config::schema::Schema;
use crate::document::{self, Document, Format, Member, Node, NodeKind};
use crate::error::Severity;
use crate::error::{Error, ErrorKind, Span, LINTS};
use crate::eval::flag::Flag;
use crate::eval::flag_set::FlagSet;
use crate::eval::rule::Rule;
use crate::limits::Limits;
use crate::plan::compile::{compile_within, SegmentTable, Spent};
use crate::suggest::{did_you_mean, Quote};
use crate::syntax::ast::Expr;
use crate::value::datetime::Instant;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

/// How deeply a config's JSON (YAML, TOML) may nest.
const MAX_JSON_DEPTH: usize = 64;

const FLAG_FIELDS: &[&str] = &[
    "flag_key",
    "enabled",
    "kill_switch",
    "rollout_percentage",
    "targeting_rules",
    "allow_lints",
    "bucket_by",
    "rollout_schedule",
    "requires",
    "variants",
    "off_variant",
    "on_variant",
    "split",
    "description",
    "owner",
    "tags",
    "type",
    "expires",
    "permanent",
];

/// The fields of a config's top level, when it is an object rather than a
/// flag or an array of flags.
const TOP_FIELDS: &[&str] = &["flags", "segments", "id", "lifetimes"];
const RULE_LISTS: &[&str] = &["allow_list", "deny_list"];

/// A config file's bytes as text, or a diagnostic at the first byte that
/// is not UTF-8 (its line and column counted in the valid text before it).
/// A UTF-16 file (a byte-order mark `FF FE` or `FE FF`) is named as such.
/// A UTF-8 byte-order mark is kept: the readers skip it.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, Box<Diagnostic>> {
    let err = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(err) => err,
    };
    let at = err.valid_up_to();
    // The text up to the bad byte is valid, so positions before it are
    // the file's own; the rest is shown with replacement characters.
    let shown = String::from_utf8_lossy(bytes);
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    let (message, help) = if utf16 {
        (
            "this file is UTF-16 (it starts with a UTF-16 byte-order mark); configs are UTF-8"
                .to_string(),
            "save it as UTF-8",
        )
    } else {
        let bad: Vec<String> = bytes
            .get(at..at + err.error_len().unwrap_or(bytes.len() - at).min(4))
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        (
            format!("invalid UTF-8: 0x{} at byte offset {at}", bad.join(" 0x")),
            "configs are UTF-8: save the file as UTF-8, or remove the bad bytes",
        )
    };
    // One replacement character stands for the bad bytes.
    let span = Span::new(at, at + char::REPLACEMENT_CHARACTER.len_utf8());
    Err(Box::new(
        Diagnostic::new(ErrorKind::InvalidEncoding, message, Some(span), &shown)
            .with_help(Some(help.to_string())),
    ))
}

/// Loads a config, or returns every error found in it.
pub(crate) fn load(src: &str, format: Format, limits: &Limits) -> Result<FlagSet, Vec<Diagnostic>> {
    match check(src, format, limits, None, None) {
        (Some(flags), _) => Ok(flags),
        (None, diagnostics) => Err(diagnostics
            .into_iter()
            .filter(|d| d.severity() == Severity::Error)
            .collect()),
    }
}

/// Loads a config and lints it: the flag set when there is no error, and
/// every diagnostic (errors, warnings and notes). Flags past their
/// `expires` at `now` are linted when `now` is given.
pub(crate) fn check(
    src: &str,
    format: Format,
    limits: &Limits,
    schema: Option<&Schema>,
    now: Option<Instant>,
) -> (Option<FlagSet>, Vec<Diagnostic>) {
    let parsed = document::read(src, format, MAX_JSON_DEPTH);
    let Document {
        doc,
        problems: duplicates,
        strings,
    } = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let d = Diagnostic::from_read(e, src);
            return (None, vec![d]);
        }
    };
    let duplicate_count = duplicates.len();
    let mut loader = Loader {
        src,
        limits,
        schema,
        strings: &strings,
        format,
        diagnostics: duplicates
            .into_iter()
            .take(MAX_DIAGNOSTICS)
            .map(|e| Diagnostic::from_read(e, src))
            .collect(),
        suppressed: duplicate_count.saturating_sub(MAX_DIAGNOSTICS),
        suppressed_error: duplicate_count > MAX_DIAGNOSTICS,
        segments: SegmentTable::default(),
        declared_segments: Vec::new(),
        referenced: std::collections::HashSet::new(),
        spent: Spent::default(),
        flag_tests: 0,
        file_tests: 0,
        now,
        lifetimes: Lifetimes::default(),
        id: None,
    };
    let flags = loader.document(&doc);
    loader.unused_segments();
    let failed = loader.suppressed_error
        || loader
            .diagnostics
            .iter()
            .any(|d| d.severity() == Severity::Error);
    if loader.suppressed > 0 {
        let severity = if loader.suppressed_error {
            Severity::Error
        } else {
            Severity::Warning
        };
        let d = Diagnostic::new(
            ErrorKind::TooManyDiagnostics,
            format!(
                "{} more problems not shown (at most {MAX_DIAGNOSTICS} are reported per file)",
                loader.suppressed
            ),
            None,
            src,
        )
        .with_severity(severity);
        loader.diagnostics.push(d);
    }
    let id = loader.id.take();
    let flags = (!failed).then(|| FlagSet::new(flags).with_id(id));
    (flags, loader.diagnostics)
}

/// The most diagnostics reported for one file: enough for any real file,
/// and it keeps a hostile one (a million unknown keys) fast to check.
const MAX_DIAGNOSTICS: usize = 500;

struct Loader<'s> {
    src: &'s str,
    limits: &'s Limits,
    schema: Option<&'s Schema>,
    /// Where the raw text of each string is (YAML, TOML).
    strings: &'s crate::document::text::RawStrings,
    /// Problems found past `MAX_DIAGNOSTICS`, and whether any was an error.
    suppressed: usize,
    suppressed_error: bool,
    diagnostics: Vec<Diagnostic>,
    /// The file's segments, compiled before its flags.
    segments: SegmentTable,
    /// The declared segments' names and key spans, in file order.
    declared_segments: Vec<(String, Span)>,
    /// The segments some rule or segment refers to.
    referenced: std::collections::HashSet<String>,
    /// The file's format, for fixes written in its syntax.
    format: Format,
    /// What the file's rules and segments have used of its budgets.
    spent: Spent,
    /// The tests one evaluation of the current flag may run so far
    /// (`Limits::max_tests_per_flag`).
    flag_tests: usize,
    /// The tests evaluating every flag so far may run
    /// (`Limits::max_tests_per_file`).
    file_tests: usize,
    /// The time the expiry lint compares `expires` with (`None`: no lint).
    now: Option<Instant>,
    /// The expected lifetime of each flag type (`lifetimes`).
    lifetimes: Lifetimes,
    /// The config's `id`.
    id: Option<Box<str>>,
}

/// Where a problem is: the flag and the field path inside it.
#[derive(Clone)]
struct Place<'a> {
    flag: Owner,
    key: Option<&'a str>,
}

/// What a problem's field belongs to: written out only when a problem is
/// reported, so that loading a good config builds no paths.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    /// The file's top level.
    File,
    /// A section such as `segments`, or the one flag of a file that is a
    /// single flag (`flag`).
    Named(&'static str),
    /// `flags[<index>]`.
    Flag(usize),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::File => Ok(()),
            Owner::Named(name) => f.write_str(name),
            Owner::Flag(i) => write!(f, "flags[{i}]"),
        }
    }
}

impl Place<'_> {
    fn path(&self, field: impl fmt::Display) -> String {
        let mut out = self.flag.to_string();
        if let Some(key) = self.key {
            let _ = write!(out, " \"{key}\"");
        }
        if out.is_empty() {
            // A field of the file's top level (`lifetimes.release`).
            let _ = write!(out, "{field}");
            return out;
        }
        let before = out.len();
        let _ = write!(out, " > {field}");
        if out.len() == before + 3 {
            // An empty field: the place is the flag itself.
            out.truncate(before);
        }
        out
    }
}

/// A field of a flag, for messages: a name, a rule list or one entry of
/// one. Written out only when a problem is reported, so that loading a
/// good config builds no field paths.
#[derive(Clone, Copy)]
pub(crate) enum Field<'a> {
    /// `targeting_rules.<list>`.
    List(&'a str),
    /// `targeting_rules.<list>[<index>]`.
    Entry(&'a str, usize),
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::List(list) => write!(f, "targeting_rules.{list}"),
            Field::Entry(list, i) => write!(f, "targeting_rules.{list}[{i}]"),
        }
    }
}

impl Loader<'_> {
    /// Reports an error.
    fn report(
        &mut self,
        place: &Place<'_>,
        field: impl fmt::Display,
        kind: ErrorKind,
        span: Span,
        message: String,
        help: Option<String>,
    ) {
        if self.full(Severity::Error) {
            return;
        }
        let d = Diagnostic::new(kind, message, Some(span), self.src).with_help(help);
        self.push(d, place, field);
    }

    /// Reports a lint, at the severity the lint table gives it.
    fn lint(
        &mut self,
        place: &Place<'_>,
        field: impl fmt::Display,
        kind: ErrorKind,
        span: Span,
        message: String,
        help: Option<String>,
    ) {
        let severity = kind.lint().map_or(Severity::Warning, |l| l.severity);
        if self.full(severity) {
            return;
        }
        let d = Diagnostic::new(kind, message, Some(span), self.src)
            .with_help(help)
            .with_severity(severity);
        self.push(d, place, field);
    }

    /// Whether the file already has `MAX_DIAGNOSTICS`; if so the problem is
    /// only counted. Checked before a diagnostic is built, because placing
    /// one scans the file.
    fn full(&mut self, severity: Severity) -> bool {
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            return false;
        }
        self.suppressed += 1;
        self.suppressed_error |= severity == Severity::Error;
        true
    }

    /// The first character of `span` (an object's `{`, a YAML mapping's
    /// first key), where a missing field is reported; empty at the end of
    /// the file.
    fn opening(&self, span: Span) -> Span {
        let len = self
            .src
            .get(span.start..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        Span::new(span.start, span.start + len)
    }

    /// Adds a diagnostic at a place (after [`Loader::full`] said there is
    /// room).
    fn push(&mut self, d: Diagnostic, place: &Place<'_>, field: impl fmt::Display) {
        self.diagnostics
            .push(d.in_place(place.path(field), place.key));
    }

    fn document(&mut self, doc: &Node) -> Vec<Arc<Flag>> {
        let top = Place {
            flag: Owner::File,
            key: None,
        };
        match &doc.value {
            NodeKind::Array(items) => self.flag_list(items),
            NodeKind::Object(members) if is_top_level(members) => {
                // Segments and lifetimes first, wherever they are written:
                // every flag may use them.
                if let Some(segments) = members.iter().find(|m| m.key == "segments") {
                    self.declare_segments(segments);
                }
                if let Some(lifetimes) = members.iter().find(|m| m.key == "lifetimes") {
                    self.lifetimes = self.lifetimes(lifetimes);
                }
                let mut flags = Vec::new();
                for member in members {
                    match (&*member.key, &member.value.value) {
                        ("segments" | "lifetimes", _) => {}
                        ("id", _) => self.id = self.config_id(member),
                        ("flags", NodeKind::Array(items)) => flags = self.flag_list(items),
                        ("flags", other) => self.report(
                            &top,
                            "",
                            ErrorKind::WrongType,
                            member.value.span,
                            format!("\"flags\" must be an array, not {}", other.type_name()),
                            None,
                        ),
                        ("$schema", _) => {}
                        (other, _) => self.report(
                            &top,
                            "",
                            ErrorKind::UnknownField,
                            member.key_span,
                            format!("unknown top-level field \"{other}\""),
                            Some(
                                match crate::suggest::closest(other, TOP_FIELDS.iter().copied()) {
                                    Some(g) => did_you_mean(g, Quote::Config),
                                    None => format!(
                                        "the top level holds {}",
                                        TOP_FIELDS
                                            .iter()
                                            .map(|f| format!("\"{f}\""))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                },
                            ),
                        ),
                    }
                }
                flags
            }
            NodeKind::Object(members) if members.is_empty() => {
                self.report(
                    &top,
                    "",
                    ErrorKind::WrongType,
                    self.opening(doc.span),
                    "the config is empty".into(),
                    Some("write a flag, an array of flags or {\"flags\": [...]}".into()),
                );
                Vec::new()
            }
            NodeKind::Object(_) => {
                let place = Place {
                    flag: Owner::Named("flag"),
                    key: None,
                };
                let pending = self.flag(doc, place).into_iter().collect();
                self.link(pending, &HashMap::new())
            }
            other => {
                self.report(
                    &top,
                    "",
                    ErrorKind::WrongType,
                    doc.span,
                    format!(
                        "a config is a flag, an array of flags or {{\"flags\": [...]}}, not {}",
                        other.type_name()
                    ),
                    None,
                );
                Vec::new()
            }
        }
    }

    fn flag_list(&mut self, items: &[Node]) -> Vec<Arc<Flag>> {
        let mut flags: Vec<Pending> = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let place = Place {
                flag: Owner::Flag(i),
                key: None,
            };
            let key = key_of(item);
            if let Some((key, span)) = key {
                if let Some(first) = seen.get(key) {
                    // Placing the first definition scans the file: only
                    // while diagnostics are still shown, or a file of many
                    // duplicate keys would cost quadratic time.
                    let (line, column) = if self.diagnostics.len() < MAX_DIAGNOSTICS {
                        crate::error::line_column(self.src, first.start)
                    } else {
                        (0, 0)
                    };
                    let named = Place {
                        flag: place.flag,
                        key: Some(key),
                    };
                    self.report(
                        &named,
                        "flag_key",
                        ErrorKind::DuplicateFlag,
                        span,
                        format!("flag \"{key}\" is defined twice"),
                        Some(format!(
                            "the first definition is at {line}:{column}; flag keys must be unique"
                        )),
                    );
                } else {
                    seen.insert(key, span);
                }
            }
            if let Some(flag) = self.flag(item, place) {
                flags.push(flag);
            }
        }
        self.link(flags, &seen)
    }

    fn allowed_lints(&mut self, place: &Place<'_>, member: &Member) -> Vec<ErrorKind> {
        let NodeKind::Array(items) = &member.value.value else {
            self.report(
                place,
                "allow_lints",
                ErrorKind::WrongType,
                member.value.span,
                "allow_lints must be an array of lint names".into(),
                None,
            );
            return Vec::new();
        };
        let mut kinds = Vec::new();
        for item in items {
            match &item.value {
                NodeKind::String(name) => match ErrorKind::lint_by_name(name) {
                    // Each kind once: the list is searched for every
                    // finding, and a hostile one repeats a name a million
                    // times.
                    Some(kind) if kinds.contains(&kind) => {}
                    Some(kind) => kinds.push(kind),
                    None => {
                        let names = LINTS.iter().map(|l| l.name);
                        let help = crate::suggest::closest(name, names).map_or_else(
                            || {
                                format!(
                                    "the lints are {}",
                                    LINTS.iter().map(|l| l.name).collect::<Vec<_>>().join(", ")
                                )
                            },
                            |g| did_you_mean(g, Quote::Config),
                        );
                        self.report(
                            place,
                            "allow_lints",
                            ErrorKind::UnknownLint,
                            item.span,
                            format!("unknown lint \"{name}\""),
                            Some(help),
                        );
                    }
                },
                other => self.report(
                    place,
                    "allow_lints",
                    ErrorKind::WrongType,
                    item.span,
                    format!("a lint name is a string, not {}", other.type_name()),
                    None,
                ),
            }
        }
        kinds
    }

    /// A percentage: a whole number from 0 to 100. `label` names the
    /// field in messages; `field` is its path.
    fn percentage(
        &mut self,
        place: &Place<'_>,
        field: &str,
        label: &str,
        member: &Member,
    ) -> Option<u8> {
        match &member.value.value {
            NodeKind::Int(p) if (0..=100).contains(p) => u8::try_from(*p).ok(),
            // A whole number written as a float (`20.0`), as many JSON
            // writers print whole floats.
            NodeKind::Float(f) if f.fract() == 0.0 && (0.0..=100.0).contains(f) => {
                // Whole and within 0..=100: the cast is exact.
                Some(*f as u8)
            }
            NodeKind::Float(f) if f.is_finite() && (0.0..=100.0).contains(f) => {
                self.report(
                    place,
                    field,
                    ErrorKind::OutOfRange,
                    member.value.span,
                    format!("{label} must be a whole number from 0 to 100, not {f}"),
                    Some(format!(
                        "percentages are whole: use {} or {}",
                        f.floor(),
                        f.ceil()
                    )),
                );
                None
            }
            NodeKind::Int(_) | NodeKind::Float(_) => {
                self.report(
                    place,
                    field,
                    ErrorKind::OutOfRange,
                    member.value.span,
                    format!("{label} must be a whole number from 0 to 100"),
                    None,
                );
                None
            }
            other => {
                self.report(
                    place,
                    field,
                    ErrorKind::WrongType,
                    member.value.span,
                    format!("{label} must be a number, not {}", other.type_name()),
                    None,
                );
                None
            }
        }
    }

    fn boolean(&mut self, place: &Place<'_>, member: &Member) -> Option<bool> {
        match member.value.value {
            NodeKind::Bool(b) => Some(b),
            ref other => {
                let help = match other {
                    NodeKind::String(s) if s == "true" || s == "false" => {
                        Some(format!("drop the quotes: {s}"))
                    }
                    _ => None,
                };
                self.report(
                    place,
                    &member.key,
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "{} must be true or false, not {}",
                        member.key,
                        other.type_name()
                    ),
                    help,
                );
                None
            }
        }
    }

    /// Compiles a rule list; a failed rule is `None` (and reported).
    fn rules(&mut self, place: &Place<'_>, list: &Member) -> Vec<(Option<Rule>, Span)> {
        match &list.value.value {
            NodeKind::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    (
                        self.rule(place, Field::Entry(&list.key, i), item),
                        item.span,
                    )
                })
                .collect(),
            NodeKind::Null => Vec::new(),
            other => {
                self.report(
                    place,
                    Field::List(&list.key),
                    ErrorKind::WrongType,
                    list.value.span,
                    format!(
                        "{} must be an array of rules, not {}",
                        list.key,
                        other.type_name()
                    ),
                    None,
                );
                vec![(None, list.value.span)]
            }
        }
    }

    fn rule(&mut self, place: &Place<'_>, field: Field<'_>, item: &Node) -> Option<Rule> {
        let unpinned = self.unpinned(place, field, item)?;
        let item = unpinned.as_ref();
        let expr = self.rule_expr(place, field, item)?;
        references(&expr, &mut |name, _| {
            self.referenced.insert(name.to_string());
        });
        let compiled = match compile_within(&expr, self.limits, &self.segments, &mut self.spent) {
            Ok(compiled) => compiled,
            Err(e) => {
                let span = self.file_span(item, e.span());
                self.error(place, field, &e, span);
                return None;
            }
        };
        if !self.charge_tests(place, field, item.span, compiled.cost) {
            return None;
        }
        let errors = self.schema.map(|s| s.check(&expr)).unwrap_or_default();
        for e in &errors {
            let span = self.file_span(item, e.span());
            self.error(place, field, e, span);
        }
        let source = match &item.value {
            NodeKind::String(text) => Some(&**text),
            _ => None,
        };
        errors
            .is_empty()
            .then(|| Rule::from_parts(expr, source, compiled))
    }

    /// A list entry without the variant it may pin: the `rule` of
    /// `{"rule": ..., "variant": ...}`, or a structured rule without its
    /// `variant` field; the entry itself otherwise. `None` when the
    /// `{"rule"}` form has another field (reported).
    fn unpinned<'n, 's>(
        &mut self,
        place: &Place<'_>,
        field: Field<'_>,
        item: &'n Node<'s>,
    ) -> Option<std::borrow::Cow<'n, Node<'s>>> {
        let NodeKind::Object(members) = &item.value else {
            return Some(std::borrow::Cow::Borrowed(item));
        };
        if let Some(rule) = members.iter().find(|m| m.key == "rule") {
            let mut ok = true;
            for m in members {
                if m.key != "rule" && m.key != "variant" {
                    ok = false;
                    self.report(
                        place,
                        format_args!("{field}.{}", m.key),
                        ErrorKind::UnknownField,
                        m.key_span,
                        format!("unknown field \"{}\" beside \"rule\"", m.key),
                        Some("an entry is {\"rule\": \"...\", \"variant\": \"...\"}, or a structured rule with a \"variant\" field".into()),
                    );
                }
            }
            return ok.then_some(std::borrow::Cow::Borrowed(&rule.value));
        }
        if !members.iter().any(|m| m.key == "variant") {
            return Some(std::borrow::Cow::Borrowed(item));
        }
        let kept = members
            .iter()
            .filter(|m| m.key != "variant")
            .cloned()
            .collect();
        Some(std::borrow::Cow::Owned(Node {
            value: NodeKind::Object(kept),
            span: item.span,
        }))
    }

    /// Parses a rule written as text or in the structured form into its
    /// tree; errors are reported.
    fn rule_expr(
        &mut self,
        place: &Place<'_>,
        field: impl fmt::Display + Copy,
        item: &Node,
    ) -> Option<Expr> {
        let parsed = match &item.value {
            NodeKind::String(text) => crate::syntax::parse_all(text, self.limits),
            NodeKind::Object(_) => crate::syntax::structured::lower(item).and_then(|expr| {
                crate::syntax::structured::check_len(&expr, self.limits)
                    .map(|()| expr)
                    .map_err(|e| vec![e])
            }),
            other => {
                self.report(
                    place,
                    field,
                    ErrorKind::WrongType,
                    item.span,
                    format!("a rule is a string or an object, not {}", other.type_name()),
                    Some("write a rule as text, such as \"segment == \\\"beta\\\"\"".into()),
                );
                return None;
            }
        };
        match parsed {
            Ok(expr) => Some(expr),
            Err(errors) => {
                for e in errors {
                    let span = self.file_span(item, e.span());
                    self.error(place, field, &e, span);
                }
                None
            }
        }
    }

    /// Where a span of a rule's error is in the file. Spans of text rules
    /// are offsets into the decoded string, mapped back to the file through
    /// the raw text of the string in its format; structured rules carry
    /// file spans already.
    fn file_span(&self, item: &Node, span: Option<Span>) -> Span {
        let Some(s) = span else {
            return item.span;
        };
        match &item.value {
            NodeKind::String(text) => self.strings.to_file(self.src, item.span, text, s),
            _ => s,
        }
    }

    /// Adds a rule's tests to its flag's and the file's; past either
    /// budget, reports it at the rule and returns false.
    fn charge_tests(
        &mut self,
        place: &Place<'_>,
        field: impl fmt::Display,
        span: Span,
        cost: usize,
    ) -> bool {
        let flag_tests = self.flag_tests.saturating_add(cost);
        let file_tests = self.file_tests.saturating_add(cost);
        let (total, max, what, limit) = if flag_tests > self.limits.max_tests_per_flag {
            (
                flag_tests,
                self.limits.max_tests_per_flag,
                "this flag",
                "max_tests_per_flag",
            )
        } else if file_tests > self.limits.max_tests_per_file {
            (
                file_tests,
                self.limits.max_tests_per_file,
                "the flags of this file",
                "max_tests_per_file",
            )
        } else {
            self.flag_tests = flag_tests;
            self.file_tests = file_tests;
            return true;
        };
        self.report(
            place,
            field,
            ErrorKind::TooLong,
            span,
            format!(
                "with this rule, one evaluation of {what} may run {total} tests (segments counted at each use); at most {max} are allowed"
            ),
            Some(format!(
                "use segments that use each other fewer times, or raise `Limits::{limit}`"
            )),
        );
        false
    }

    fn error(&mut self, place: &Place<'_>, field: impl fmt::Display, e: &Error, span: Span) {
        self.report(
            place,
            field,
            e.kind(),
            span,
            e.message().to_string(),
            e.help().map(str::to_string),
        );
    }
}

/// Whether an object is a config's top level (`{"flags": [...], ...}`)
/// rather than a single flag: it has a top-level field, and an `id` alone
/// counts only beside no `flag_key`.
fn is_top_level(members: &[Member]) -> bool {
    let has = |key: &str| members.iter().any(|m| m.key == key);
    has("flags") || has("segments") || has("lifetimes") || (has("id") && !has("flag_key"))
}

/// The flag key of a flag object, for duplicate detection.
fn key_of<'n>(item: &'n Node<'_>) -> Option<(&'n str, Span)> {
    let NodeKind::Object(members) = &item.value else {
        return None;
    };
    members
        .iter()
        .find(|m| m.key == "flag_key")
        .and_then(|m| match &m.value.value {
            NodeKind::String(k) if !k.is_empty() => Some((&**k, m.value.span)),
            _ => None,
        })
}
