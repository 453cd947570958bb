//! `rollout_schedule`: steps and ramps read and checked in time order.

use super::{Loader, Place};
use crate::document::{Member, Node, NodeKind};
use crate::error::{ErrorKind, Span};
use crate::eval::schedule::{Phase, Schedule};
use crate::value::datetime::Instant;

/// The most entries a rollout schedule may have.
const MAX_SCHEDULE_ENTRIES: usize = 1000;

const STEP_FIELDS: &[&str] = &["at", "percentage"];

const RAMP_FIELDS: &[&str] = &["from", "to", "start_percentage", "end_percentage"];

impl Loader<'_> {
    /// Reads a `rollout_schedule`: the schedule (or `None` for `null`) and
    /// the span of each entry, or `None` when it has an error (reported).
    pub(super) fn schedule(
        &mut self,
        place: &Place<'_>,
        member: &Member,
    ) -> Option<Option<(Schedule, Vec<Span>)>> {
        let items = match &member.value.value {
            NodeKind::Null => return Some(None),
            NodeKind::Array(items) => items,
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
                    // Placing it scans the file: only while diagnostics
                    // are still shown (past that, `report` only counts).
                    let (line, column) = if self.diagnostics.len() < super::MAX_DIAGNOSTICS {
                        crate::error::line_column(self.src, prev_span.start)
                    } else {
                        (0, 0)
                    };
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
    fn phase(&mut self, place: &Place<'_>, field: &str, item: &Node) -> Option<(Phase, Span)> {
        const FORMS: &str = r#"a schedule entry is a step {"at": ..., "percentage": ...} or a ramp {"from": ..., "to": ..., "start_percentage": ..., "end_percentage": ...}"#;
        let NodeKind::Object(members) = &item.value else {
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
            let known = STEP_FIELDS.contains(&&*m.key) || RAMP_FIELDS.contains(&&*m.key);
            if !known {
                let all = STEP_FIELDS.iter().chain(RAMP_FIELDS).copied();
                let help = crate::suggest::closest(&m.key, all).map_or_else(
                    || FORMS.to_string(),
                    |g| crate::suggest::did_you_mean(g, crate::suggest::Quote::Config),
                );
                self.report(
                    place,
                    format_args!("{field}.{}", m.key),
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
                format_args!("{field}.to"),
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
            NodeKind::String(text) => text,
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
        if let Some(t) = crate::value::datetime::parse_rfc3339(text) {
            return Some(t);
        }
        let zoned = format!("{text}Z");
        let help = if crate::value::datetime::parse_rfc3339(&zoned).is_some() {
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

    /// A schedule percentage, named in messages by its quoted key.
    fn percent(&mut self, place: &Place<'_>, field: &str, member: &Member) -> Option<u8> {
        let path = format!("{field}.{}", member.key);
        self.percentage(place, &path, &format!("\"{}\"", member.key), member)
    }
}
