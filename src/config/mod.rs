//! Config files -> [`FlagSet`], collecting every problem with its place.
//!
//! A file holds one flag object, an array of flags, or `{"flags": [...]}`,
//! in JSON, YAML or TOML: each is read into the same spanned tree.

mod format;
pub(crate) mod json;
mod text;
mod toml;
mod yaml;

pub use format::Format;

use crate::compile::{compile_in, SegmentTable};
use crate::datetime::Instant;
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::{Error, ErrorKind, Span};
use crate::flag::{Flag, FlagSet, Rule};
use crate::lint::{self, At};
use crate::plan::Segment;
use crate::schedule::{Phase, Schedule};
use crate::schema::Schema;
use crate::syntax::ast::{Expr, ExprKind};
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
}

/// A compiled flag whose prerequisites are not linked yet.
struct Pending {
    flag: Flag,
    /// The `requires` entries: flag keys and their spans.
    requires: Vec<(String, Span)>,
    /// The flag's place (`flags[3]`), for diagnostics.
    place: String,
}

/// How long a chain of prerequisites may be: evaluation recurses along it.
const MAX_PREREQUISITE_DEPTH: usize = 32;

/// How many flag evaluations one flag's prerequisites may imply, counting
/// shared ancestors once per path (evaluation keeps no memo, to stay
/// allocation-free, so a wide diamond of prerequisites costs this much).
const MAX_PREREQUISITE_COST: u64 = 1024;

/// The most entries a rollout schedule may have.
const MAX_SCHEDULE_ENTRIES: usize = 1000;

const STEP_FIELDS: &[&str] = &["at", "percentage"];
const RAMP_FIELDS: &[&str] = &["from", "to", "start_percentage", "end_percentage"];

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
                    let (line, column) = crate::error::line_column(self.src, first.start);
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
            Some(Json {
                value: JsonValue::String(k),
                ..
            }) if !k.is_empty() => Some(k.as_str()),
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
                    JsonValue::Int(p) if (0..=100).contains(p) => {
                        rollout_percentage = u8::try_from(*p).ok()
                    }
                    JsonValue::Null => {}
                    JsonValue::Int(_) | JsonValue::Float(_) => {
                        ok = false;
                        self.report(
                            &place,
                            "rollout_percentage",
                            ErrorKind::OutOfRange,
                            member.value.span,
                            "rollout_percentage must be a whole number from 0 to 100".into(),
                            None,
                        );
                    }
                    other => {
                        ok = false;
                        self.report(
                            &place,
                            "rollout_percentage",
                            ErrorKind::WrongType,
                            member.value.span,
                            format!(
                                "rollout_percentage must be a number, not {}",
                                other.type_name()
                            ),
                            None,
                        );
                    }
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
        })
    }

    /// Reads a `rollout_schedule`: the schedule (or `None` for `null`) and
    /// the span of each entry, or `None` when it has an error (reported).
    fn schedule(
        &mut self,
        place: &Place<'_>,
        member: &Member,
    ) -> Option<Option<(Schedule, Vec<Span>)>> {
        let items = match &member.value.value {
            JsonValue::Null => return Some(None),
            JsonValue::Array(items) => items,
            other => {
                self.report(
                    place,
                    "rollout_schedule",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "rollout_schedule must be an array of steps and ramps, not {}",
                        other.type_name()
                    ),
                    Some(
                        r#"write steps such as [{"at": "2026-12-01T09:00:00Z", "percentage": 10}]"#
                            .into(),
                    ),
                );
                return None;
            }
        };
        if items.len() > MAX_SCHEDULE_ENTRIES {
            self.report(
                place,
                "rollout_schedule",
                ErrorKind::TooLong,
                member.value.span,
                format!(
                    "rollout_schedule has {} entries; at most {MAX_SCHEDULE_ENTRIES} are allowed",
                    items.len()
                ),
                Some("a ramp moves smoothly between two times in one entry".into()),
            );
            return None;
        }
        let mut phases: Vec<Phase> = Vec::new();
        let mut starts: Vec<Span> = Vec::new();
        let mut spans = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let field = format!("rollout_schedule[{i}]");
            let Some((phase, start_span)) = self.phase(place, &field, item) else {
                ok = false;
                continue;
            };
            if let (Some(prev), Some(prev_span)) = (phases.last(), starts.last()) {
                let problem = if phase.start() < prev.start() {
                    Some("this entry starts before the previous one: entries must be in time order")
                } else if phase.start() == prev.start() {
                    Some("this entry starts at the same time as the previous one")
                } else if phase.start() < prev.end() {
                    Some("this entry starts while the previous ramp is still running")
                } else {
                    None
                };
                if let Some(message) = problem {
                    let (line, column) = crate::error::line_column(self.src, prev_span.start);
                    self.report(
                        place,
                        &field,
                        ErrorKind::InvalidSchedule,
                        start_span,
                        message.into(),
                        Some(format!(
                            "the previous entry starts at {line}:{column}; order the entries by time, without overlaps"
                        )),
                    );
                    ok = false;
                }
            }
            phases.push(phase);
            starts.push(start_span);
            spans.push(item.span);
        }
        ok.then(|| Some((Schedule::new(phases), spans)))
    }

    /// Reads one schedule entry: a step or a ramp, and the span of its
    /// start time.
    fn phase(&mut self, place: &Place<'_>, field: &str, item: &Json) -> Option<(Phase, Span)> {
        const FORMS: &str = r#"a schedule entry is a step {"at": ..., "percentage": ...} or a ramp {"from": ..., "to": ..., "start_percentage": ..., "end_percentage": ...}"#;
        let JsonValue::Object(members) = &item.value else {
            self.report(
                place,
                field,
                ErrorKind::WrongType,
                item.span,
                format!(
                    "a schedule entry is an object, not {}",
                    item.value.type_name()
                ),
                Some(FORMS.into()),
            );
            return None;
        };
        let mut ok = true;
        for m in members {
            let known =
                STEP_FIELDS.contains(&m.key.as_str()) || RAMP_FIELDS.contains(&m.key.as_str());
            if !known {
                let all = STEP_FIELDS.iter().chain(RAMP_FIELDS).copied();
                let help = crate::suggest::closest(&m.key, all)
                    .map_or_else(|| FORMS.to_string(), |g| format!("did you mean \"{g}\"?"));
                self.report(
                    place,
                    &format!("{field}.{}", m.key),
                    ErrorKind::UnknownField,
                    m.key_span,
                    format!("unknown field \"{}\" in a schedule entry", m.key),
                    Some(help),
                );
                ok = false;
            }
        }
        let get = |name: &str| members.iter().find(|m| m.key == name);
        let is_step = STEP_FIELDS.iter().any(|f| get(f).is_some());
        let is_ramp = RAMP_FIELDS.iter().any(|f| get(f).is_some());
        if is_step && is_ramp {
            self.report(
                place,
                field,
                ErrorKind::InvalidSchedule,
                item.span,
                "this entry mixes a step (\"at\", \"percentage\") with a ramp (\"from\", \"to\", \"start_percentage\", \"end_percentage\")".into(),
                Some("write the step and the ramp as two entries".into()),
            );
            return None;
        }
        let needed = if is_ramp { RAMP_FIELDS } else { STEP_FIELDS };
        let form = if is_ramp { "ramp" } else { "step" };
        for name in needed {
            if get(name).is_none() {
                self.report(
                    place,
                    field,
                    ErrorKind::MissingField,
                    self.opening(item.span),
                    format!("this {form} has no \"{name}\""),
                    Some(FORMS.into()),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        if is_step {
            let at = get("at")?;
            let percentage = get("percentage")?;
            let at_time = self.instant(place, field, at);
            let p = self.percent(place, field, percentage);
            return Some((
                Phase::Step {
                    at: at_time?,
                    percentage: p?,
                },
                at.value.span,
            ));
        }
        let (from, to) = (get("from")?, get("to")?);
        let from_time = self.instant(place, field, from);
        let to_time = self.instant(place, field, to);
        let start = self.percent(place, field, get("start_percentage")?);
        let end = self.percent(place, field, get("end_percentage")?);
        if matches!((from_time, to_time), (Some(f), Some(t)) if t <= f) {
            self.report(
                place,
                &format!("{field}.to"),
                ErrorKind::InvalidSchedule,
                to.value.span,
                "this ramp ends before it starts".into(),
                Some(
                    "\"to\" must be later than \"from\"; for a sudden change, write a step".into(),
                ),
            );
            return None;
        }
        let (from_time, to_time, start, end) = (from_time?, to_time?, start?, end?);
        Some((
            Phase::Ramp {
                from: from_time,
                to: to_time,
                start,
                end,
            },
            from.value.span,
        ))
    }

    /// A schedule time: an RFC 3339 date-time with a time zone.
    fn instant(&mut self, place: &Place<'_>, field: &str, member: &Member) -> Option<Instant> {
        let field = format!("{field}.{}", member.key);
        let text = match &member.value.value {
            JsonValue::String(text) => text,
            other => {
                self.report(
                    place,
                    &field,
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "\"{}\" must be a date-time string, not {}",
                        member.key,
                        other.type_name()
                    ),
                    Some("write an RFC 3339 date-time such as \"2026-12-01T09:00:00Z\"".into()),
                );
                return None;
            }
        };
        if let Some(t) = crate::datetime::parse_rfc3339(text) {
            return Some(t);
        }
        let zoned = format!("{text}Z");
        let help = if crate::datetime::parse_rfc3339(&zoned).is_some() {
            format!("add a time zone: \"{zoned}\" for UTC, or an offset such as \"{text}+01:00\"")
        } else {
            "write an RFC 3339 date-time such as \"2026-12-01T09:00:00Z\"".into()
        };
        self.report(
            place,
            &field,
            ErrorKind::InvalidDateTime,
            member.value.span,
            format!("\"{text}\" is not an RFC 3339 date-time with a time zone"),
            Some(help),
        );
        None
    }

    /// A schedule percentage: a whole number from 0 to 100.
    fn percent(&mut self, place: &Place<'_>, field: &str, member: &Member) -> Option<u8> {
        let field = format!("{field}.{}", member.key);
        match &member.value.value {
            JsonValue::Int(p) if (0..=100).contains(p) => u8::try_from(*p).ok(),
            JsonValue::Int(_) | JsonValue::Float(_) => {
                self.report(
                    place,
                    &field,
                    ErrorKind::OutOfRange,
                    member.value.span,
                    format!("\"{}\" must be a whole number from 0 to 100", member.key),
                    None,
                );
                None
            }
            other => {
                self.report(
                    place,
                    &field,
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "\"{}\" must be a number, not {}",
                        member.key,
                        other.type_name()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// Reads a `requires` list of flag keys.
    fn requires(&mut self, place: &Place<'_>, member: &Member) -> Option<Vec<(String, Span)>> {
        let items = match &member.value.value {
            JsonValue::Null => return Some(Vec::new()),
            JsonValue::Array(items) => items,
            other => {
                self.report(
                    place,
                    "requires",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "requires must be an array of flag keys, not {}",
                        other.type_name()
                    ),
                    Some("write [\"checkout_enabled\"]".into()),
                );
                return None;
            }
        };
        let mut keys = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                JsonValue::String(key) if !key.is_empty() => keys.push((key.clone(), item.span)),
                other => {
                    self.report(
                        place,
                        &format!("requires[{i}]"),
                        ErrorKind::WrongType,
                        item.span,
                        format!("a prerequisite is a flag key, not {}", other.type_name()),
                        None,
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(keys)
    }

    /// Resolves the prerequisites of the flags of one file and builds the
    /// shared flags, parents first. Unknown keys, cycles and chains too
    /// deep or too wide are reported; the flags are then not built.
    fn link(&mut self, pending: Vec<Pending>, declared: &HashMap<String, Span>) -> Vec<Arc<Flag>> {
        let index: HashMap<&str, usize> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| (&*p.flag.key, i))
            .collect();
        let mut ok = true;
        let mut parents: Vec<Vec<usize>> = Vec::with_capacity(pending.len());
        // (flag, its `requires` entry, kind, message, help)
        let mut problems: Vec<(usize, usize, ErrorKind, String, String)> = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let mut resolved = Vec::with_capacity(p.requires.len());
            for (j, (name, _)) in p.requires.iter().enumerate() {
                match index.get(name.as_str()) {
                    Some(&k) => resolved.push(k),
                    // Declared but not compiled: its own errors stop the load.
                    None if declared.contains_key(name) => ok = false,
                    None => {
                        let keys = index.keys().copied().filter(|k| *k != &*p.flag.key);
                        let help = crate::suggest::closest(name, keys).map_or_else(
                            || {
                                "a prerequisite is the flag_key of another flag in the same file"
                                    .to_string()
                            },
                            |g| format!("did you mean \"{g}\"?"),
                        );
                        let message = format!("no flag \"{name}\" in this file");
                        problems.push((i, j, ErrorKind::UnknownFlag, message, help));
                    }
                }
            }
            parents.push(resolved);
        }
        let n = pending.len();
        let (order, cycles) = depth_first(&parents);
        for cycle in cycles {
            let names: Vec<&str> = cycle.path.iter().map(|&k| &*pending[k].flag.key).collect();
            problems.push((
                cycle.node,
                cycle.edge,
                ErrorKind::Cycle,
                format!("prerequisite cycle: {}", names.join(" -> ")),
                "a flag cannot require itself, directly or through other flags".into(),
            ));
        }
        // Depth and evaluation cost, parents first (`order` is post-order).
        if problems.is_empty() {
            let mut depth = vec![0usize; n];
            let mut cost = vec![0u64; n];
            for &i in &order {
                depth[i] = 1 + parents[i].iter().map(|&k| depth[k]).max().unwrap_or(0);
                cost[i] = parents[i]
                    .iter()
                    .fold(1u64, |acc, &k| acc.saturating_add(cost[k]));
                if depth[i] > MAX_PREREQUISITE_DEPTH + 1 {
                    problems.push((
                        i,
                        0,
                        ErrorKind::TooDeep,
                        format!(
                            "this flag's prerequisites form a chain {} flags deep; at most {MAX_PREREQUISITE_DEPTH} are allowed",
                            depth[i] - 1
                        ),
                        "require the flag at the top of the chain directly".into(),
                    ));
                    depth[i] = 1;
                } else if cost[i] > MAX_PREREQUISITE_COST {
                    problems.push((
                        i,
                        0,
                        ErrorKind::TooLong,
                        format!(
                            "evaluating this flag would evaluate {} prerequisite flags (shared ones once per path); at most {MAX_PREREQUISITE_COST} are allowed",
                            cost[i] - 1
                        ),
                        "require fewer flags, or the ones they have in common directly".into(),
                    ));
                    cost[i] = 1;
                }
            }
        }
        for (i, j, kind, message, help) in problems {
            let p = &pending[i];
            let place = Place {
                flag: p.place.clone(),
                key: Some(&p.flag.key),
            };
            let span = p.requires.get(j).map_or(Span::new(0, 0), |(_, s)| *s);
            self.report(
                &place,
                &format!("requires[{j}]"),
                kind,
                span,
                message,
                Some(help),
            );
            ok = false;
        }
        if !ok {
            return Vec::new();
        }
        let mut flags: Vec<Option<Flag>> = pending.into_iter().map(|p| Some(p.flag)).collect();
        let mut built: Vec<Option<Arc<Flag>>> = vec![None; n];
        for &i in &order {
            let Some(mut flag) = flags[i].take() else {
                continue;
            };
            flag.requires = parents[i]
                .iter()
                .filter_map(|&k| built[k].clone())
                .collect();
            built[i] = Some(Arc::new(flag));
        }
        built.into_iter().flatten().collect()
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
        let compiled = match compile_in(&expr, self.limits, &self.segments) {
            Ok(compiled) => compiled,
            Err(e) => {
                let span = self.file_span(item, e.span());
                self.error(place, field, &e, span);
                return None;
            }
        };
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
            JsonValue::Object(_) => crate::structured::lower(item),
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

    /// Compiles the file's `segments`: parsed first, ordered so that each
    /// is compiled after the segments it uses, then compiled once each into
    /// the table every rule resolves `@name` in. Cycles and bad names are
    /// reported; a segment with errors stays in the table as failed, so
    /// its users are told why.
    fn declare_segments(&mut self, member: &Member) {
        let top = Place {
            flag: "segments".into(),
            key: None,
        };
        let members = match &member.value.value {
            JsonValue::Object(members) => members,
            JsonValue::Null => return,
            other => {
                self.report(
                    &top,
                    "",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "\"segments\" must be an object of named rules, not {}",
                        other.type_name()
                    ),
                    Some(r#"write {"internal": "email endsWith \"@internal.com\""}"#.into()),
                );
                return;
            }
        };
        // Parse, and find each segment's references.
        let mut parsed: Vec<(&Member, Option<Expr>)> = Vec::with_capacity(members.len());
        for m in members {
            let named = matches!(
                crate::syntax::parse(&format!("@{}", m.key), self.limits),
                Ok(Expr { kind: ExprKind::Segment(ref n), .. }) if *n == m.key
            );
            if !named {
                self.report(
                    &top,
                    &m.key,
                    ErrorKind::InvalidLiteral,
                    m.key_span,
                    format!("\"{}\" cannot name a segment", m.key),
                    Some("a segment name is an identifier: letters, digits and `_`, not starting with a digit".into()),
                );
                self.segments.by_name.insert(m.key.clone(), None);
                parsed.push((m, None));
                continue;
            }
            let expr = self.rule_expr(&top, &m.key, &m.value);
            self.segments.by_name.insert(m.key.clone(), None);
            parsed.push((m, expr));
        }
        let index: HashMap<&str, usize> = parsed
            .iter()
            .enumerate()
            .map(|(i, (m, _))| (m.key.as_str(), i))
            .collect();
        let mut refs: Vec<Vec<(usize, Span)>> = Vec::with_capacity(parsed.len());
        for (m, expr) in &parsed {
            self.declared_segments.push((m.key.clone(), m.key_span));
            let mut found = Vec::new();
            if let Some(expr) = expr {
                references(expr, &mut |name, span| {
                    self.referenced.insert(name.to_string());
                    if let Some(&k) = index.get(name) {
                        found.push((k, span));
                    }
                });
            }
            refs.push(found);
        }
        let parents: Vec<Vec<usize>> = refs
            .iter()
            .map(|r| r.iter().map(|(k, _)| *k).collect())
            .collect();
        let (order, cycles) = depth_first(&parents);
        let mut in_cycle = vec![false; parsed.len()];
        for cycle in &cycles {
            let names: Vec<String> = cycle
                .path
                .iter()
                .map(|&n| format!("@{}", parsed[n].0.key))
                .collect();
            let (m, _) = parsed[cycle.node];
            let span = refs[cycle.node]
                .get(cycle.edge)
                .map_or(m.value.span, |(_, s)| self.file_span(&m.value, Some(*s)));
            self.report(
                &top,
                &m.key,
                ErrorKind::Cycle,
                span,
                format!("segment cycle: {}", names.join(" -> ")),
                Some("a segment cannot use itself, directly or through other segments".into()),
            );
            for &n in &cycle.path {
                in_cycle[n] = true;
            }
        }
        for i in order {
            let (m, Some(expr)) = &parsed[i] else {
                continue;
            };
            if in_cycle[i] {
                continue;
            }
            let compiled = match compile_in(expr, self.limits, &self.segments) {
                Ok(compiled) => compiled,
                Err(e) => {
                    let span = self.file_span(&m.value, e.span());
                    self.error(&top, &m.key, &e, span);
                    continue;
                }
            };
            let errors = self.schema.map(|s| s.check(expr)).unwrap_or_default();
            for e in &errors {
                let span = self.file_span(&m.value, e.span());
                self.error(&top, &m.key, e, span);
            }
            if !errors.is_empty() {
                continue;
            }
            // A segment's own mistakes (`a and not a`, a regex matching
            // everything) are warned about once, where it is declared.
            let mut found = Vec::new();
            lint::expr(expr, At::Field("segments"), &mut found);
            for f in found {
                if self.full(Severity::Warning) {
                    break;
                }
                let message = f.message.replacen("this rule", "this segment", 1);
                let d = Diagnostic::new(f.kind, message, Some(m.value.span), self.src)
                    .with_help(f.help)
                    .with_severity(Severity::Warning);
                self.push(d, &top, &m.key);
            }
            let segment = Segment {
                name: m.key.as_str().into(),
                expr: expr.clone(),
                program: compiled.program,
                uses: compiled.uses.into_boxed_slice(),
                depth: compiled.depth + 1,
                cost: compiled.cost.max(1),
            };
            self.segments
                .by_name
                .insert(m.key.clone(), Some(Arc::new(segment)));
        }
    }

    /// Warns about segments that compiled but that no rule and no other
    /// segment uses. Not when a reference went unresolved: that is most
    /// likely the same name misspelt, and its error says so already.
    fn unused_segments(&mut self) {
        let top = Place {
            flag: "segments".into(),
            key: None,
        };
        if self
            .diagnostics
            .iter()
            .any(|d| d.kind() == ErrorKind::UnknownSegment)
        {
            return;
        }
        let unused: Vec<(String, Span)> = self
            .declared_segments
            .iter()
            .filter(|(name, _)| {
                !self.referenced.contains(name)
                    && matches!(self.segments.by_name.get(name), Some(Some(_)))
            })
            .cloned()
            .collect();
        for (name, span) in unused {
            if self.full(Severity::Warning) {
                break;
            }
            let d = Diagnostic::new(
                ErrorKind::UnusedSegment,
                format!("segment `@{name}` is not used by any rule"),
                Some(span),
                self.src,
            )
            .with_help(Some(format!("remove it, or use it in a rule as `@{name}`")))
            .with_severity(Severity::Warning);
            self.push(d, &top, &name);
        }
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

/// Calls `f` with the name and span of every `@segment` reference in
/// `expr`. The tree's depth is bounded by the parser's nesting limit.
fn references(expr: &Expr, f: &mut impl FnMut(&str, Span)) {
    match &expr.kind {
        ExprKind::Or(xs) | ExprKind::And(xs) => xs.iter().for_each(|x| references(x, f)),
        ExprKind::Not(x) => references(x, f),
        ExprKind::Segment(name) => f(name, expr.span),
        ExprKind::Compare(_) | ExprKind::Exists(_) | ExprKind::Truthy(_) => {}
    }
}

/// A cycle found by [`depth_first`]: the `edge`-th parent of `node` closes
/// it; `path` runs from that parent through `node` and back to it.
struct CycleFound {
    node: usize,
    edge: usize,
    path: Vec<usize>,
}

/// Orders a graph given as each node's parents so that parents come before
/// their children (post-order), and finds the cycles that prevent it. The
/// search is iterative: a file may hold thousands of nodes in one chain.
fn depth_first(parents: &[Vec<usize>]) -> (Vec<usize>, Vec<CycleFound>) {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let n = parents.len();
    let mut state = vec![UNSEEN; n];
    let mut order = Vec::with_capacity(n);
    let mut cycles = Vec::new();
    for root in 0..n {
        if state[root] != UNSEEN {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = ON_PATH;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some(&parent) = parents[node].get(*next) else {
                state[node] = DONE;
                order.push(node);
                path.pop();
                continue;
            };
            let edge = *next;
            *next += 1;
            match state.get(parent) {
                Some(&UNSEEN) => {
                    state[parent] = ON_PATH;
                    path.push((parent, 0));
                }
                Some(&ON_PATH) => {
                    let from = path.iter().position(|(n, _)| *n == parent).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                    cycle.push(parent);
                    cycles.push(CycleFound {
                        node,
                        edge,
                        path: cycle,
                    });
                }
                _ => {}
            }
        }
    }
    (order, cycles)
}
