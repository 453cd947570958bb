//! Config files -> [`FlagSet`], collecting every problem with its place.
//!
//! A file holds one flag object, an array of flags, or `{"flags": [...]}`,
//! in JSON, YAML or TOML: each is read into the same spanned tree.

mod format;
pub(crate) mod json;
mod text;
mod toml;
mod yaml;

mod link;
mod schedule;
mod segments;

use link::Pending;
use segments::references;

pub use format::Format;

use crate::compile::{compile_within, SegmentTable, Spent};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::{Error, ErrorKind, Span};
use crate::flag::{Flag, FlagSet, Rule};
use crate::lint::{self, At};
use crate::schema::Schema;
use crate::syntax::ast::Expr;
use crate::Limits;
use json::{Json, JsonValue, Member};
use std::collections::HashMap;
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
];
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
    match check(src, format, limits, None) {
        (Some(flags), _) => Ok(flags),
        (None, diagnostics) => Err(diagnostics
            .into_iter()
            .filter(|d| d.severity() == Severity::Error)
            .collect()),
    }
}

/// Loads a config and lints it: the flag set when there is no error, and
/// every diagnostic (errors, warnings and notes).
pub(crate) fn check(
    src: &str,
    format: Format,
    limits: &Limits,
    schema: Option<&Schema>,
) -> (Option<FlagSet>, Vec<Diagnostic>) {
    let parsed = match format {
        Format::Json => json::parse(src, MAX_JSON_DEPTH).map(|(doc, problems)| json::Parsed {
            doc,
            problems,
            strings: text::RawStrings::default(),
        }),
        Format::Yaml => yaml::parse(src, MAX_JSON_DEPTH),
        Format::Toml => toml::parse(src, MAX_JSON_DEPTH),
    };
    let json::Parsed {
        doc,
        problems: duplicates,
        strings,
    } = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let d = Diagnostic::new(e.kind, e.message, Some(e.span), src).with_help(e.help);
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
            .map(|e| Diagnostic::new(e.kind, e.message, Some(e.span), src).with_help(e.help))
            .collect(),
        suppressed: duplicate_count.saturating_sub(MAX_DIAGNOSTICS),
        suppressed_error: duplicate_count > MAX_DIAGNOSTICS,
        segments: SegmentTable::default(),
        declared_segments: Vec::new(),
        referenced: std::collections::HashSet::new(),
        spent: Spent::default(),
        flag_tests: 0,
        file_tests: 0,
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
    let flags = (!failed).then(|| FlagSet::new(flags));
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
    strings: &'s text::RawStrings,
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
}

/// Where a problem is: the flag and the field path inside it.
#[derive(Clone)]
struct Place<'a> {
    flag: String,
    key: Option<&'a str>,
}

impl Place<'_> {
    fn path(&self, field: &str) -> String {
        let mut out = self.flag.clone();
        if let Some(key) = self.key {
            out.push_str(&format!(" \"{key}\""));
        }
        if !field.is_empty() {
            out.push_str(" > ");
            out.push_str(field);
        }
        out
    }
}

impl Loader<'_> {
    /// Reports an error.
    fn report(
        &mut self,
        place: &Place<'_>,
        field: &str,
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
    fn push(&mut self, d: Diagnostic, place: &Place<'_>, field: &str) {
        self.diagnostics
            .push(d.in_place(place.path(field), place.key));
    }

    fn document(&mut self, doc: &Json) -> Vec<Arc<Flag>> {
        let top = Place {
            flag: String::new(),
            key: None,
        };
        match &doc.value {
            JsonValue::Array(items) => self.flag_list(items),
            JsonValue::Object(members)
                if members
                    .iter()
                    .any(|m| m.key == "flags" || m.key == "segments") =>
            {
                // Segments first, wherever they are written: every flag may
                // use them.
                if let Some(segments) = members.iter().find(|m| m.key == "segments") {
                    self.declare_segments(segments);
                }
                let mut flags = Vec::new();
                for member in members {
                    match (member.key.as_str(), &member.value.value) {
                        ("segments", _) => {}
                        ("flags", JsonValue::Array(items)) => flags = self.flag_list(items),
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
                                match crate::suggest::closest(other, ["flags", "segments"]) {
                                    Some(g) => format!("did you mean \"{g}\"?"),
                                    None => "the top level holds \"flags\" and \"segments\"".into(),
                                },
                            ),
                        ),
                    }
                }
                flags
            }
            JsonValue::Object(members) if members.is_empty() => {
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
            JsonValue::Object(_) => {
                let place = Place {
                    flag: "flag".into(),
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

    fn flag_list(&mut self, items: &[Json]) -> Vec<Arc<Flag>> {
        let mut flags: Vec<Pending> = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let place = Place {
                flag: format!("flags[{i}]"),
                key: None,
            };
            let key = key_of(item);
            if let Some((key, span)) = &key {
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
                        flag: place.flag.clone(),
                        key: Some(key),
                    };
                    self.report(
                        &named,
                        "flag_key",
                        ErrorKind::DuplicateFlag,
                        *span,
                        format!("flag \"{key}\" is defined twice"),
                        Some(format!(
                            "the first definition is at {line}:{column}; flag keys must be unique"
                        )),
                    );
                } else {
                    seen.insert(key.clone(), *span);
                }
            }
            if let Some(flag) = self.flag(item, place) {
                flags.push(flag);
            }
        }
        self.link(flags, &seen)
    }

    fn flag<'j>(&mut self, json: &'j Json, mut place: Place<'j>) -> Option<Pending> {
        let JsonValue::Object(members) = &json.value else {
            self.report(
                &place,
                "",
                ErrorKind::WrongType,
                json.span,
                format!("a flag is an object, not {}", json.value.type_name()),
                None,
            );
            return None;
        };
        let key_member = members.iter().find(|m| m.key == "flag_key");
        let key = match key_member.map(|m| &m.value) {
            Some(
                value @ Json {
                    value: JsonValue::String(k),
                    ..
                },
            ) if !k.is_empty() => match lint::bad_name(k) {
                None => Some(k.as_str()),
                Some((at, message)) => {
                    let span = self.file_span(value, Some(Span::new(at.start, at.end)));
                    self.report(
                        &place,
                        "flag_key",
                        ErrorKind::InvalidName,
                        span,
                        format!("flag key \"{}\": {message}", k.escape_debug()),
                        Some("a flag key is printed in logs and terminals: use letters, digits, `_`, `-` and `.`".into()),
                    );
                    None
                }
            },
            Some(Json {
                value: JsonValue::String(_),
                span,
            }) => {
                self.report(
                    &place,
                    "flag_key",
                    ErrorKind::MissingField,
                    *span,
                    "flag_key is empty".into(),
                    None,
                );
                None
            }
            Some(other) => {
                self.report(
                    &place,
                    "flag_key",
                    ErrorKind::WrongType,
                    other.span,
                    format!("flag_key must be a string, not {}", other.value.type_name()),
                    None,
                );
                None
            }
            None => {
                self.report(
                    &place,
                    "",
                    ErrorKind::MissingField,
                    self.opening(json.span),
                    "this flag has no \"flag_key\"".into(),
                    None,
                );
                None
            }
        };
        place.key = key;
        self.flag_tests = 0;
        let mut enabled = None;
        let mut kill_switch = Some(false);
        let mut rollout_percentage = None;
        let mut bucket_by = None;
        let mut allow = Vec::new();
        let mut deny = Vec::new();
        let mut allowed_lints = Vec::new();
        let mut schedule = None;
        let mut requires = Vec::new();
        let mut ok = key.is_some();
        for member in members {
            match member.key.as_str() {
                "flag_key" => {}
                "rollout_schedule" => match self.schedule(&place, member) {
                    Some(s) => schedule = s,
                    None => ok = false,
                },
                "requires" => match self.requires(&place, member) {
                    Some(r) => requires = r,
                    None => ok = false,
                },
                "allow_lints" => allowed_lints = self.allowed_lints(&place, member),
                "enabled" => enabled = self.boolean(&place, member),
                "kill_switch" => kill_switch = self.boolean(&place, member),
                "bucket_by" => match &member.value.value {
                    JsonValue::String(path)
                        if !path.is_empty() && path.split('.').all(|s| !s.is_empty()) =>
                    {
                        if path != "user_id" {
                            bucket_by = Some(crate::flag::BucketBy {
                                dotted: path.as_str().into(),
                                segments: path.split('.').map(Into::into).collect(),
                            });
                        }
                    }
                    _ => {
                        ok = false;
                        self.report(
                            &place,
                            "bucket_by",
                            ErrorKind::WrongType,
                            member.value.span,
                            "bucket_by is an attribute path such as \"account.id\"".into(),
                            None,
                        );
                    }
                },
                "rollout_percentage" => match &member.value.value {
                    JsonValue::Null => {}
                    _ => match self.percentage(&place, "rollout_percentage", &member.key, member) {
                        Some(p) => rollout_percentage = Some(p),
                        None => ok = false,
                    },
                },
                "targeting_rules" => {
                    match &member.value.value {
                        JsonValue::Object(lists) => {
                            for list in lists {
                                match list.key.as_str() {
                                    "allow_list" => allow = self.rules(&place, list),
                                    "deny_list" => deny = self.rules(&place, list),
                                    other => {
                                        ok = false;
                                        let help = crate::suggest::closest(other, RULE_LISTS.iter().copied())
                                        .map_or_else(|| "targeting_rules holds \"allow_list\" and \"deny_list\"".to_string(),
                                            |g| format!("did you mean \"{g}\"?"));
                                        self.report(
                                            &place,
                                            &format!("targeting_rules.{other}"),
                                            ErrorKind::UnknownField,
                                            list.key_span,
                                            format!("unknown field \"{other}\" in targeting_rules"),
                                            Some(help),
                                        );
                                    }
                                }
                            }
                        }
                        JsonValue::Null => {}
                        other => {
                            ok = false;
                            self.report(
                                &place,
                                "targeting_rules",
                                ErrorKind::WrongType,
                                member.value.span,
                                format!(
                                    "targeting_rules must be an object, not {}",
                                    other.type_name()
                                ),
                                None,
                            );
                        }
                    }
                }
                other => {
                    ok = false;
                    let help = crate::suggest::closest(other, FLAG_FIELDS.iter().copied())
                        .map_or_else(
                            || format!("a flag has the fields {}", FLAG_FIELDS.join(", ")),
                            |g| format!("did you mean \"{g}\"?"),
                        );
                    self.report(
                        &place,
                        other,
                        ErrorKind::UnknownField,
                        member.key_span,
                        format!("unknown field \"{other}\""),
                        Some(help),
                    );
                }
            }
        }
        if !members.iter().any(|m| m.key == "enabled") {
            self.report(
                &place,
                "",
                ErrorKind::MissingField,
                self.opening(json.span),
                "this flag has no \"enabled\"".into(),
                Some("add \"enabled\": true or false".into()),
            );
        }
        let (Some(key), Some(enabled), Some(kill_switch), true) = (key, enabled, kill_switch, ok)
        else {
            return None;
        };
        let schedule_spans: Vec<Span> = schedule
            .as_ref()
            .map(|(_, spans)| spans.clone())
            .unwrap_or_default();
        let allow_spans: Vec<Span> = allow.iter().map(|(_, s)| *s).collect();
        let deny_spans: Vec<Span> = deny.iter().map(|(_, s)| *s).collect();
        let flag = Flag {
            key: key.into(),
            enabled,
            kill_switch,
            rollout_percentage,
            bucket_by,
            allow: allow.into_iter().filter_map(|(r, _)| r).collect(),
            deny: deny.into_iter().filter_map(|(r, _)| r).collect(),
            requires: Box::new([]),
            schedule: schedule.map(|(s, _)| s),
        };
        for found in lint::check(&flag) {
            if allowed_lints.contains(&found.kind) {
                continue;
            }
            let (field, span) = match found.at {
                At::Allow(i) => (
                    format!("targeting_rules.allow_list[{i}]"),
                    allow_spans.get(i).copied(),
                ),
                At::Deny(i) => (
                    format!("targeting_rules.deny_list[{i}]"),
                    deny_spans.get(i).copied(),
                ),
                At::Field(name) => (
                    name.to_string(),
                    members.iter().find(|m| m.key == name).map(|m| m.key_span),
                ),
                At::Schedule(i) => (
                    format!("rollout_schedule[{i}]"),
                    schedule_spans.get(i).copied(),
                ),
            };
            let severity = if found.kind == ErrorKind::DisabledWithRules {
                Severity::Note
            } else {
                Severity::Warning
            };
            if self.full(severity) {
                continue;
            }
            // The fix, written in the file's own format.
            let allow = |n: &str| match self.format {
                Format::Json => format!("\"allow_lints\": [\"{n}\"]"),
                Format::Yaml => format!("allow_lints: [{n}]"),
                Format::Toml => format!("allow_lints = [\"{n}\"]"),
            };
            let help = match (found.help, lint::name(found.kind)) {
                (Some(h), Some(n)) => Some(format!("{h}; or allow it: {}", allow(n))),
                (None, Some(n)) => Some(format!("if intended, allow it: {}", allow(n))),
                (h, None) => h,
            };
            let d = Diagnostic::new(
                found.kind,
                found.message,
                Some(span.unwrap_or(json.span)),
                self.src,
            )
            .with_help(help)
            .with_severity(severity);
            self.push(d, &place, &field);
        }
        Some(Pending {
            flag,
            requires,
            place: place.flag.clone(),
            tests: self.flag_tests,
        })
    }

    fn allowed_lints(&mut self, place: &Place<'_>, member: &Member) -> Vec<ErrorKind> {
        let JsonValue::Array(items) = &member.value.value else {
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
                JsonValue::String(name) => match lint::by_name(name) {
                    // Each kind once: the list is searched for every
                    // finding, and a hostile one repeats a name a million
                    // times.
                    Some(kind) if kinds.contains(&kind) => {}
                    Some(kind) => kinds.push(kind),
                    None => {
                        let names = lint::LINTS.iter().map(|(_, n)| *n);
                        let help = crate::suggest::closest(name, names).map_or_else(
                            || {
                                format!(
                                    "the lints are {}",
                                    lint::LINTS
                                        .iter()
                                        .map(|(_, n)| *n)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            },
                            |g| format!("did you mean \"{g}\"?"),
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
            JsonValue::Int(p) if (0..=100).contains(p) => u8::try_from(*p).ok(),
            // A whole number written as a float (`20.0`), as many JSON
            // writers print whole floats.
            JsonValue::Float(f) if f.fract() == 0.0 && (0.0..=100.0).contains(f) => {
                // Whole and within 0..=100: the cast is exact.
                Some(*f as u8)
            }
            JsonValue::Float(f) if f.is_finite() && (0.0..=100.0).contains(f) => {
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
            JsonValue::Int(_) | JsonValue::Float(_) => {
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
            JsonValue::Bool(b) => Some(b),
            ref other => {
                let help = match other {
                    JsonValue::String(s) if s == "true" || s == "false" => {
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
        let field = format!("targeting_rules.{}", list.key);
        match &list.value.value {
            JsonValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (self.rule(place, &format!("{field}[{i}]"), item), item.span))
                .collect(),
            JsonValue::Null => Vec::new(),
            other => {
                self.report(
                    place,
                    &field,
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

    fn rule(&mut self, place: &Place<'_>, field: &str, item: &Json) -> Option<Rule> {
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
            JsonValue::String(text) => Some(text.as_str()),
            _ => None,
        };
        errors
            .is_empty()
            .then(|| Rule::from_parts(expr, source, compiled))
    }

    /// Parses a rule written as text or in the structured form into its
    /// tree; errors are reported.
    fn rule_expr(&mut self, place: &Place<'_>, field: &str, item: &Json) -> Option<Expr> {
        let parsed = match &item.value {
            JsonValue::String(text) => crate::syntax::parse(text, self.limits).map_err(|e| vec![e]),
            JsonValue::Object(_) => crate::structured::lower(item).and_then(|expr| {
                crate::structured::check_len(&expr, self.limits)
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
    fn file_span(&self, item: &Json, span: Option<Span>) -> Span {
        let Some(s) = span else {
            return item.span;
        };
        match &item.value {
            JsonValue::String(text) => self.strings.to_file(self.src, item.span, text, s),
            _ => s,
        }
    }

    /// Adds a rule's tests to its flag's and the file's; past either
    /// budget, reports it at the rule and returns false.
    fn charge_tests(&mut self, place: &Place<'_>, field: &str, span: Span, cost: usize) -> bool {
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

    fn error(&mut self, place: &Place<'_>, field: &str, e: &Error, span: Span) {
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

/// The flag key of a flag object, for duplicate detection.
fn key_of(item: &Json) -> Option<(String, Span)> {
    let JsonValue::Object(members) = &item.value else {
        return None;
    };
    members
        .iter()
        .find(|m| m.key == "flag_key")
        .and_then(|m| match &m.value.value {
            JsonValue::String(k) if !k.is_empty() => Some((k.clone(), m.value.span)),
            _ => None,
        })
}
