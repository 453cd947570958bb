//! One flag of a config: its fields read into a [`RawFlag`] (each field
//! checked on its own), then built into a [`Flag`] when every required
//! field is there and valid, then linted.

use super::link::Pending;
use super::lint::{self, At};
use super::metadata::RawMetadata;
use super::variants::{self, RawVariants};
use super::{Loader, Place, FLAG_FIELDS, RULE_LISTS};
use crate::document::{Format, Member, Node, NodeKind};
use crate::error::{ErrorKind, Span};
use crate::eval::flag::{BucketBy, Flag};
use crate::eval::rule::Rule;
use crate::eval::schedule::Schedule;
use crate::suggest::{closest, did_you_mean, Quote};

/// A flag's fields as read: each is `None` (or empty) where it was absent
/// or wrong, and every problem is already reported.
struct RawFlag<'j> {
    key: Option<&'j str>,
    enabled: Option<bool>,
    kill_switch: Option<bool>,
    rollout_percentage: Option<u8>,
    bucket_by: Option<BucketBy>,
    /// Each rule with the span of its entry (`None`: it did not compile).
    allow: Vec<(Option<Rule>, Span)>,
    deny: Vec<(Option<Rule>, Span)>,
    allowed_lints: Vec<ErrorKind>,
    /// The schedule and the span of each entry.
    schedule: Option<(Schedule, Vec<Span>)>,
    requires: Vec<(String, Span)>,
    /// `variants`, `off_variant`, `on_variant`, `split` and the pins.
    variants: RawVariants,
    /// Whether the variant fields read were valid (so that they can be
    /// checked together even when another field was not).
    variants_ok: bool,
    /// Description, owner, tags, type, expiry.
    metadata: RawMetadata,
    /// Whether every field read was valid.
    ok: bool,
}

/// Where each part of a built flag is in the file, for its lints.
struct Spans<'j> {
    flag: Span,
    members: &'j [Member<'j>],
    allow: Vec<Span>,
    deny: Vec<Span>,
    schedule: Vec<Span>,
}

impl Loader<'_> {
    /// Reads, builds and lints one flag; `None` when it has an error (all
    /// of them reported).
    pub(super) fn flag<'j>(&mut self, json: &'j Node, mut place: Place<'j>) -> Option<Pending> {
        let NodeKind::Object(members) = &json.value else {
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
        let key = self.flag_key(&place, json, members);
        place.key = key;
        let mut raw = self.flag_fields(&place, key, json, members);
        // The variants are checked together whenever their own fields are
        // valid, so that their problems show beside the others.
        let allow_count = raw.allow.len();
        let kept: Vec<bool> = raw.allow.iter().map(|(r, _)| r.is_some()).collect();
        let raw_variants = std::mem::take(&mut raw.variants);
        let built = if raw.variants_ok {
            self.build_variants(&place, raw_variants, allow_count)
        } else {
            Err(())
        };
        let RawFlag {
            key: Some(key),
            enabled: Some(enabled),
            kill_switch: Some(kill_switch),
            ok: true,
            ..
        } = raw
        else {
            return None;
        };
        let spans = Spans {
            flag: json.span,
            members,
            allow: raw.allow.iter().map(|(_, s)| *s).collect(),
            deny: raw.deny.iter().map(|(_, s)| *s).collect(),
            schedule: raw
                .schedule
                .as_ref()
                .map(|(_, spans)| spans.clone())
                .unwrap_or_default(),
        };
        let mut compiled_variants = built.ok()?;
        if let Some(v) = &mut compiled_variants {
            // Aligned with the allow rules that compiled.
            v.pins = v
                .pins
                .iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(p, _)| *p)
                .collect();
        }
        let flag = Flag {
            variants: compiled_variants,
            key: key.into(),
            enabled,
            kill_switch,
            rollout_percentage: raw.rollout_percentage,
            bucket_by: raw.bucket_by,
            allow: raw.allow.into_iter().filter_map(|(r, _)| r).collect(),
            deny: raw.deny.into_iter().filter_map(|(r, _)| r).collect(),
            requires: Box::new([]),
            schedule: raw.schedule.map(|(s, _)| s),
            metadata: raw.metadata.build(self.lifetimes),
        };
        self.lint_flag(&place, &flag, &spans, &raw.allowed_lints);
        Some(Pending {
            flag,
            requires: raw.requires,
            place: place.flag,
            tests: self.flag_tests,
        })
    }

    /// The flag's `flag_key`, reported when missing, empty or not a string.
    fn flag_key<'j>(
        &mut self,
        place: &Place<'_>,
        json: &Node,
        members: &'j [Member],
    ) -> Option<&'j str> {
        match members
            .iter()
            .find(|m| m.key == "flag_key")
            .map(|m| &m.value)
        {
            Some(
                value @ Node {
                    value: NodeKind::String(k),
                    ..
                },
            ) if !k.is_empty() => match lint::bad_name(k) {
                None => Some(k.as_ref()),
                Some((at, message)) => {
                    let span = self.file_span(value, Some(Span::new(at.start, at.end)));
                    self.report(
                        place,
                        "flag_key",
                        ErrorKind::InvalidName,
                        span,
                        format!("flag key \"{}\": {message}", k.escape_debug()),
                        Some("a flag key is printed in logs and terminals: use letters, digits, `_`, `-` and `.`".into()),
                    );
                    None
                }
            },
            Some(Node {
                value: NodeKind::String(_),
                span,
            }) => {
                self.report(
                    place,
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
                    place,
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
                    place,
                    "",
                    ErrorKind::MissingField,
                    self.opening(json.span),
                    "this flag has no \"flag_key\"".into(),
                    None,
                );
                None
            }
        }
    }

    /// Reads every field of the flag, each checked on its own.
    fn flag_fields<'j>(
        &mut self,
        place: &Place<'_>,
        key: Option<&'j str>,
        json: &Node,
        members: &[Member],
    ) -> RawFlag<'j> {
        self.flag_tests = 0;
        let mut raw = RawFlag {
            key,
            enabled: None,
            kill_switch: Some(false),
            rollout_percentage: None,
            bucket_by: None,
            allow: Vec::new(),
            deny: Vec::new(),
            allowed_lints: Vec::new(),
            schedule: None,
            requires: Vec::new(),
            variants: RawVariants::default(),
            variants_ok: true,
            metadata: RawMetadata::default(),
            ok: key.is_some(),
        };
        for member in members {
            match &*member.key {
                "flag_key" => {}
                "description" | "owner" | "tags" | "type" | "expires" | "permanent" => {
                    raw.ok &= self.metadata_field(place, member, &mut raw.metadata);
                }
                "rollout_schedule" => match self.schedule(place, member) {
                    Some(s) => raw.schedule = s,
                    None => raw.ok = false,
                },
                "requires" => match self.requires(place, member) {
                    Some(r) => raw.requires = r,
                    None => raw.ok = false,
                },
                "allow_lints" => raw.allowed_lints = self.allowed_lints(place, member),
                "enabled" => raw.enabled = self.boolean(place, member),
                "kill_switch" => raw.kill_switch = self.boolean(place, member),
                "bucket_by" => match self.bucket_by(place, member) {
                    Some(by) => raw.bucket_by = by,
                    None => raw.ok = false,
                },
                "rollout_percentage" => match &member.value.value {
                    NodeKind::Null => {}
                    _ => match self.percentage(place, "rollout_percentage", &member.key, member) {
                        Some(p) => raw.rollout_percentage = Some(p),
                        None => raw.ok = false,
                    },
                },
                "targeting_rules" => raw.ok &= self.targeting_rules(place, member, &mut raw),
                "variants" => match self.variants_field(place, member) {
                    Some(v) => raw.variants.variants = Some(v),
                    None => {
                        raw.ok = false;
                        raw.variants_ok = false;
                    }
                },
                "off_variant" => match self.variant_ref(place, "off_variant", &member.value) {
                    Some(n) => raw.variants.off = Some(n),
                    None => {
                        raw.ok = false;
                        raw.variants_ok = false;
                    }
                },
                "on_variant" => match self.variant_ref(place, "on_variant", &member.value) {
                    Some(n) => raw.variants.on = Some(n),
                    None => {
                        raw.ok = false;
                        raw.variants_ok = false;
                    }
                },
                "split" => match self.split_field(place, member) {
                    Some(s) => raw.variants.split = Some(s),
                    None => {
                        raw.ok = false;
                        raw.variants_ok = false;
                    }
                },
                other => {
                    raw.ok = false;
                    let help = closest(other, FLAG_FIELDS.iter().copied()).map_or_else(
                        || format!("a flag has the fields {}", FLAG_FIELDS.join(", ")),
                        |g| did_you_mean(g, Quote::Config),
                    );
                    self.report(
                        place,
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
                place,
                "",
                ErrorKind::MissingField,
                self.opening(json.span),
                "this flag has no \"enabled\"".into(),
                Some("add \"enabled\": true or false".into()),
            );
        }
        raw
    }

    /// `bucket_by`: an attribute path; `Some(None)` for `user_id`, the
    /// default.
    fn bucket_by(&mut self, place: &Place<'_>, member: &Member) -> Option<Option<BucketBy>> {
        match &member.value.value {
            NodeKind::String(path)
                if !path.is_empty() && path.split('.').all(|s| !s.is_empty()) =>
            {
                Some((path != "user_id").then(|| BucketBy {
                    dotted: path.as_ref().into(),
                    segments: path.split('.').map(Into::into).collect(),
                }))
            }
            _ => {
                self.report(
                    place,
                    "bucket_by",
                    ErrorKind::WrongType,
                    member.value.span,
                    "bucket_by is an attribute path such as \"account.id\"".into(),
                    None,
                );
                None
            }
        }
    }

    /// `targeting_rules`: its allow and deny lists, into `raw`; whether
    /// the field itself was well formed.
    fn targeting_rules(
        &mut self,
        place: &Place<'_>,
        member: &Member,
        raw: &mut RawFlag<'_>,
    ) -> bool {
        match &member.value.value {
            NodeKind::Object(lists) => {
                let mut ok = true;
                for list in lists {
                    match &*list.key {
                        "allow_list" => {
                            raw.allow = self.rules(place, list);
                            raw.variants.allow_pins = self.pins(place, list, false);
                        }
                        "deny_list" => {
                            raw.deny = self.rules(place, list);
                            self.pins(place, list, true);
                        }
                        other => {
                            ok = false;
                            let help = closest(other, RULE_LISTS.iter().copied()).map_or_else(
                                || {
                                    "targeting_rules holds \"allow_list\" and \"deny_list\""
                                        .to_string()
                                },
                                |g| did_you_mean(g, Quote::Config),
                            );
                            self.report(
                                place,
                                format_args!("targeting_rules.{other}"),
                                ErrorKind::UnknownField,
                                list.key_span,
                                format!("unknown field \"{other}\" in targeting_rules"),
                                Some(help),
                            );
                        }
                    }
                }
                ok
            }
            NodeKind::Null => true,
            other => {
                self.report(
                    place,
                    "targeting_rules",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "targeting_rules must be an object, not {}",
                        other.type_name()
                    ),
                    None,
                );
                false
            }
        }
    }

    /// The variant each entry of a rule list pins (see
    /// [`Loader::pin`]), by entry.
    fn pins(
        &mut self,
        place: &Place<'_>,
        list: &Member,
        deny: bool,
    ) -> Vec<Option<variants::Named>> {
        let NodeKind::Array(items) = &list.value.value else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.pin(place, super::Field::Entry(&list.key, i), deny, item))
            .collect()
    }

    /// Reports the flag's lints, except those its `allow_lints` allows.
    fn lint_flag(
        &mut self,
        place: &Place<'_>,
        flag: &Flag,
        spans: &Spans<'_>,
        allowed: &[ErrorKind],
    ) {
        let expired = self.now.and_then(|now| super::metadata::expired(flag, now));
        let findings = lint::check(flag).into_iter().chain(variants::lint(flag));
        for found in findings.chain(expired) {
            if allowed.contains(&found.kind) {
                continue;
            }
            let (field, span) = match found.at {
                At::Allow(i) => (
                    format!("targeting_rules.allow_list[{i}]"),
                    spans.allow.get(i).copied(),
                ),
                At::Deny(i) => (
                    format!("targeting_rules.deny_list[{i}]"),
                    spans.deny.get(i).copied(),
                ),
                At::Field(name) => (
                    name.to_string(),
                    spans
                        .members
                        .iter()
                        .find(|m| m.key == name)
                        .map(|m| m.key_span),
                ),
                At::Schedule(i) => (
                    format!("rollout_schedule[{i}]"),
                    spans.schedule.get(i).copied(),
                ),
            };
            let help = match (found.help, found.kind.lint_name()) {
                (Some(h), Some(n)) => {
                    Some(format!("{h}; or allow it: {}", allow_fix(self.format, n)))
                }
                (None, Some(n)) => Some(format!(
                    "if intended, allow it: {}",
                    allow_fix(self.format, n)
                )),
                (h, None) => h,
            };
            let span = span.unwrap_or(spans.flag);
            self.lint(place, &field, found.kind, span, found.message, help);
        }
    }
}

/// The fix that allows lint `name` on a flag, written in the file's format.
fn allow_fix(format: Format, name: &str) -> String {
    match format {
        Format::Json => format!("\"allow_lints\": [\"{name}\"]"),
        Format::Yaml => format!("allow_lints: [{name}]"),
        Format::Toml => format!("allow_lints = [\"{name}\"]"),
    }
}
