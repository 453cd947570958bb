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

use crate::compile::compile;
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::{Error, ErrorKind, Span};
use crate::flag::{Flag, FlagSet, Rule};
use crate::lint::{self, At};
use crate::schema::Schema;
use crate::Limits;
use json::{Json, JsonValue, Member};

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
        diagnostics: duplicates
            .into_iter()
            .take(MAX_DIAGNOSTICS)
            .map(|e| Diagnostic::new(e.kind, e.message, Some(e.span), src).with_help(e.help))
            .collect(),
        suppressed: duplicate_count.saturating_sub(MAX_DIAGNOSTICS),
        suppressed_error: duplicate_count > MAX_DIAGNOSTICS,
    };
    let flags = loader.document(&doc);
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
    fn report(
        &mut self,
        place: &Place<'_>,
        field: &str,
        kind: ErrorKind,
        span: Span,
        message: String,
        help: Option<String>,
    ) {
        if self.diagnostics.len() >= MAX_DIAGNOSTICS {
            self.suppressed += 1;
            self.suppressed_error = true;
            return;
        }
        let d = Diagnostic::new(kind, message, Some(span), self.src)
            .with_help(help)
            .in_place(place.path(field), place.key);
        self.diagnostics.push(d);
    }

    fn document(&mut self, doc: &Json) -> Vec<Flag> {
        let top = Place {
            flag: String::new(),
            key: None,
        };
        match &doc.value {
            JsonValue::Array(items) => self.flag_list(items),
            JsonValue::Object(members) if members.iter().any(|m| m.key == "flags") => {
                let mut flags = Vec::new();
                for member in members {
                    match (member.key.as_str(), &member.value.value) {
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
                            Some("the top level holds only \"flags\"".into()),
                        ),
                    }
                }
                flags
            }
            JsonValue::Object(_) => {
                let place = Place {
                    flag: "flag".into(),
                    key: None,
                };
                self.flag(doc, place).into_iter().collect()
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

    fn flag_list(&mut self, items: &[Json]) -> Vec<Flag> {
        let mut flags: Vec<Flag> = Vec::new();
        let mut seen: std::collections::HashMap<String, Span> = std::collections::HashMap::new();
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
        flags
    }

    fn flag<'j>(&mut self, json: &'j Json, mut place: Place<'j>) -> Option<Flag> {
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
                    Span::new(json.span.start, json.span.start + 1),
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
        let mut ok = key.is_some();
        for member in members {
            match member.key.as_str() {
                "flag_key" => {}
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
                Span::new(json.span.start, json.span.start + 1),
                "this flag has no \"enabled\"".into(),
                Some("add \"enabled\": true or false".into()),
            );
        }
        let (Some(key), Some(enabled), Some(kill_switch), true) = (key, enabled, kill_switch, ok)
        else {
            return None;
        };
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
            };
            if self.diagnostics.len() >= MAX_DIAGNOSTICS {
                self.suppressed += 1;
                continue;
            }
            let severity = if found.kind == ErrorKind::DisabledWithRules {
                Severity::Note
            } else {
                Severity::Warning
            };
            let help = match (found.help, lint::name(found.kind)) {
                (Some(h), Some(n)) => Some(format!("{h}; or allow it: \"allow_lints\": [\"{n}\"]")),
                (None, Some(n)) => {
                    Some(format!("if intended, allow it: \"allow_lints\": [\"{n}\"]"))
                }
                (h, None) => h,
            };
            let d = Diagnostic::new(
                found.kind,
                found.message,
                Some(span.unwrap_or(json.span)),
                self.src,
            )
            .with_help(help)
            .with_severity(severity)
            .in_place(place.path(&field), place.key);
            self.diagnostics.push(d);
        }
        Some(flag)
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
        match &item.value {
            JsonValue::String(text) => {
                // Spans of text rules are offsets into the decoded string;
                // map them back to the file through the raw text.
                let (strings, src) = (self.strings, self.src);
                let to_file = |s: Span| strings.to_file(src, item.span, text, s);
                match Rule::parse_with(text, self.limits) {
                    Ok(rule) => {
                        let errors = self
                            .schema
                            .map(|s| s.check(rule.expr()))
                            .unwrap_or_default();
                        for e in &errors {
                            let span = e.span().map_or(item.span, to_file);
                            self.error(place, field, e, span);
                        }
                        errors.is_empty().then_some(rule)
                    }
                    Err(e) => {
                        let span = e.span().map_or(item.span, to_file);
                        self.error(place, field, &e, span);
                        None
                    }
                }
            }
            JsonValue::Object(_) => {
                let compiled = crate::structured::lower(item).and_then(|expr| {
                    compile(&expr, self.limits)
                        .map(|node| (expr, node))
                        .map_err(|e| vec![e])
                });
                match compiled {
                    Ok((expr, node)) => {
                        let errors = self.schema.map(|s| s.check(&expr)).unwrap_or_default();
                        for e in &errors {
                            self.error(place, field, e, e.span().unwrap_or(item.span));
                        }
                        errors.is_empty().then(|| Rule::from_parts(expr, node))
                    }
                    Err(errors) => {
                        for e in errors {
                            let span = e.span().unwrap_or(item.span);
                            self.error(place, field, &e, span);
                        }
                        None
                    }
                }
            }
            other => {
                self.report(
                    place,
                    field,
                    ErrorKind::WrongType,
                    item.span,
                    format!("a rule is a string or an object, not {}", other.type_name()),
                    Some("write a rule as text, such as \"segment == \\\"beta\\\"\"".into()),
                );
                None
            }
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
