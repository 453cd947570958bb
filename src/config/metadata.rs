//! A flag's metadata fields (`description`, `owner`, `tags`, `type`,
//! `expires`, `permanent`), the config's `id` and `lifetimes`, and the
//! expiry lint. Metadata is checked like every field and never reaches the
//! evaluation order.

use super::lint::{At, Finding};
use super::{Loader, Owner, Place};
use crate::document::{Member, NodeKind};
use crate::error::{ErrorKind, Span};
use crate::eval::flag::Flag;
use crate::eval::metadata::{FlagType, Metadata};
use crate::suggest::{closest, did_you_mean, Quote};
use crate::value::datetime::{format_rfc3339, parse_date, parse_rfc3339, Instant};

/// The longest expected lifetime a config may set, in days (ten years).
const MAX_LIFETIME_DAYS: i64 = 3650;

const NANOS_PER_SEC: i128 = 1_000_000_000;
const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SEC;

/// A flag's metadata as read: `permanent` stays unset until the type is
/// known.
#[derive(Default)]
pub(super) struct RawMetadata {
    description: Option<Box<str>>,
    owner: Option<Box<str>>,
    tags: Vec<String>,
    flag_type: FlagType,
    expires: Option<Instant>,
    permanent: Option<bool>,
}

/// The expected lifetime of each type, in days, in the order of
/// [`FlagType::ALL`].
#[derive(Clone, Copy)]
pub(super) struct Lifetimes([u32; FlagType::ALL.len()]);

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        Lifetimes(FlagType::ALL.map(FlagType::default_lifetime_days))
    }
}

impl Lifetimes {
    fn slot(t: FlagType) -> usize {
        FlagType::ALL.iter().position(|x| *x == t).unwrap_or(0)
    }
}

fn type_names() -> impl Iterator<Item = &'static str> {
    FlagType::ALL.into_iter().map(FlagType::as_str)
}

impl RawMetadata {
    /// The compiled metadata, with the config's lifetimes.
    pub(super) fn build(self, lifetimes: Lifetimes) -> Metadata {
        let flag_type = self.flag_type;
        Metadata {
            description: self.description,
            owner: self.owner,
            tags: self.tags.into_boxed_slice(),
            flag_type,
            expires: self.expires,
            permanent: self
                .permanent
                .unwrap_or_else(|| flag_type.permanent_by_default()),
            lifetime_days: lifetimes.0[Lifetimes::slot(flag_type)],
        }
    }
}

impl Loader<'_> {
    /// Reads one metadata field into `raw`; whether it was valid (every
    /// problem reported).
    pub(super) fn metadata_field(
        &mut self,
        place: &Place<'_>,
        member: &Member,
        raw: &mut RawMetadata,
    ) -> bool {
        match &*member.key {
            "description" => self
                .text(place, member)
                .map(|t| raw.description = Some(t))
                .is_some(),
            "owner" => self
                .text(place, member)
                .map(|t| raw.owner = Some(t))
                .is_some(),
            "tags" => self.tags(place, member).map(|t| raw.tags = t).is_some(),
            "type" => self
                .flag_type(place, member)
                .map(|t| raw.flag_type = t)
                .is_some(),
            "expires" => self
                .expires(place, member)
                .map(|t| raw.expires = Some(t))
                .is_some(),
            "permanent" => self
                .boolean(place, member)
                .map(|b| raw.permanent = Some(b))
                .is_some(),
            _ => true,
        }
    }

    /// A string field (`description`, `owner`).
    fn text(&mut self, place: &Place<'_>, member: &Member) -> Option<Box<str>> {
        match &member.value.value {
            NodeKind::String(s) => Some(s.as_ref().into()),
            other => {
                self.report(
                    place,
                    &member.key,
                    ErrorKind::WrongType,
                    member.value.span,
                    format!("{} must be a string, not {}", member.key, other.type_name()),
                    None,
                );
                None
            }
        }
    }

    /// `tags`: an array of strings; every entry that is not one is
    /// reported.
    fn tags(&mut self, place: &Place<'_>, member: &Member) -> Option<Vec<String>> {
        let NodeKind::Array(items) = &member.value.value else {
            self.report(
                place,
                "tags",
                ErrorKind::WrongType,
                member.value.span,
                format!(
                    "tags must be an array of strings, not {}",
                    member.value.value.type_name()
                ),
                Some(r#"write tags such as ["search", "q3-launch"]"#.into()),
            );
            return None;
        };
        let mut tags = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                NodeKind::String(s) => tags.push(s.to_string()),
                other => {
                    ok = false;
                    self.report(
                        place,
                        format_args!("tags[{i}]"),
                        ErrorKind::WrongType,
                        item.span,
                        format!("a tag is a string, not {}", other.type_name()),
                        None,
                    );
                }
            }
        }
        ok.then_some(tags)
    }

    /// `type`: one of the type names, with a "did you mean" for a typo.
    fn flag_type(&mut self, place: &Place<'_>, member: &Member) -> Option<FlagType> {
        let name = match &member.value.value {
            NodeKind::String(name) => name,
            other => {
                self.report(
                    place,
                    "type",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!("type must be a string, not {}", other.type_name()),
                    Some(types_help()),
                );
                return None;
            }
        };
        if let Some(t) = FlagType::from_name(name) {
            return Some(t);
        }
        self.unknown_type(place, "type", member.value.span, name);
        None
    }

    fn unknown_type(&mut self, place: &Place<'_>, field: &str, span: Span, name: &str) {
        let help =
            closest(name, type_names()).map_or_else(types_help, |g| did_you_mean(g, Quote::Config));
        self.report(
            place,
            field,
            ErrorKind::UnknownFlagType,
            span,
            format!("unknown flag type \"{name}\""),
            Some(help),
        );
    }

    /// `expires`: an RFC 3339 date-time, or a date meaning the end of that
    /// day (UTC); the instant the flag expires.
    fn expires(&mut self, place: &Place<'_>, member: &Member) -> Option<Instant> {
        const FORMS: &str =
            "write a date such as \"2026-12-31\" (the end of that day, UTC) or an RFC 3339 date-time such as \"2026-12-31T18:00:00Z\"";
        let text = match &member.value.value {
            NodeKind::String(text) => text,
            other => {
                self.report(
                    place,
                    "expires",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!("expires must be a date string, not {}", other.type_name()),
                    Some(FORMS.into()),
                );
                return None;
            }
        };
        if let Some(day) = parse_date(text) {
            return Some(day + NANOS_PER_DAY);
        }
        if let Some(t) = parse_rfc3339(text) {
            return Some(t);
        }
        let zoned = format!("{text}Z");
        let help = if parse_rfc3339(&zoned).is_some() {
            format!("add a time zone: \"{zoned}\" for UTC, or an offset such as \"{text}+01:00\"")
        } else {
            FORMS.into()
        };
        self.report(
            place,
            "expires",
            ErrorKind::InvalidDateTime,
            member.value.span,
            format!("\"{text}\" is not a date (YYYY-MM-DD) or an RFC 3339 date-time"),
            Some(help),
        );
        None
    }

    /// The config's top-level `id`: a name, printed in logs.
    pub(super) fn config_id(&mut self, member: &Member) -> Option<Box<str>> {
        let top = Place {
            flag: Owner::File,
            key: None,
        };
        match &member.value.value {
            NodeKind::String(id) if !id.is_empty() => match super::lint::bad_name(id) {
                None => Some(id.as_ref().into()),
                Some((at, message)) => {
                    let span = self.file_span(&member.value, Some(Span::new(at.start, at.end)));
                    self.report(
                        &top,
                        "id",
                        ErrorKind::InvalidName,
                        span,
                        format!("config id \"{}\": {message}", id.escape_debug()),
                        None,
                    );
                    None
                }
            },
            NodeKind::String(_) => {
                self.report(
                    &top,
                    "id",
                    ErrorKind::MissingField,
                    member.value.span,
                    "id is empty".into(),
                    Some("name the config, such as \"checkout\", or remove \"id\"".into()),
                );
                None
            }
            other => {
                self.report(
                    &top,
                    "id",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!("id must be a string, not {}", other.type_name()),
                    None,
                );
                None
            }
        }
    }

    /// The config's top-level `lifetimes`: days per flag type, such as
    /// `{"release": 30, "operational": 3}`; the defaults for the types it
    /// does not name.
    pub(super) fn lifetimes(&mut self, member: &Member) -> Lifetimes {
        let top = Place {
            flag: Owner::File,
            key: None,
        };
        let mut lifetimes = Lifetimes::default();
        let NodeKind::Object(entries) = &member.value.value else {
            self.report(
                &top,
                "lifetimes",
                ErrorKind::WrongType,
                member.value.span,
                format!(
                    "lifetimes must be an object of days per flag type, not {}",
                    member.value.value.type_name()
                ),
                Some(r#"write such as {"release": 30, "operational": 7}"#.into()),
            );
            return lifetimes;
        };
        for entry in entries {
            let field = format!("lifetimes.{}", entry.key);
            let Some(t) = FlagType::from_name(&entry.key) else {
                self.unknown_type(&top, &field, entry.key_span, &entry.key);
                continue;
            };
            match &entry.value.value {
                NodeKind::Int(days) if (1..=MAX_LIFETIME_DAYS).contains(days) => {
                    if let Ok(days) = u32::try_from(*days) {
                        lifetimes.0[Lifetimes::slot(t)] = days;
                    }
                }
                NodeKind::Int(_) => self.report(
                    &top,
                    &field,
                    ErrorKind::OutOfRange,
                    entry.value.span,
                    format!("a lifetime is a whole number of days from 1 to {MAX_LIFETIME_DAYS}"),
                    None,
                ),
                other => self.report(
                    &top,
                    &field,
                    ErrorKind::WrongType,
                    entry.value.span,
                    format!(
                        "a lifetime is a whole number of days, not {}",
                        other.type_name()
                    ),
                    None,
                ),
            }
        }
        lifetimes
    }
}

fn types_help() -> String {
    format!(
        "the flag types are {}",
        type_names().collect::<Vec<_>>().join(", ")
    )
}

/// The expiry lint: the flag is past its `expires` at `now`.
pub(super) fn expired(flag: &Flag, now: Instant) -> Option<Finding> {
    let meta = flag.metadata();
    let expires = meta.expires.filter(|_| meta.expired_at(now))?;
    let seconds = i64::try_from(expires.div_euclid(NANOS_PER_SEC)).unwrap_or(i64::MAX);
    Some(Finding {
        kind: ErrorKind::ExpiredFlag,
        at: At::Field("expires"),
        // No "days ago": the same config and time give the same message.
        message: format!("this flag expired at {}", format_rfc3339(seconds)),
        help: Some(
            "remove the flag and the code that reads it (`killswitch refs` finds it), or set a later \"expires\"".into(),
        ),
    })
}
