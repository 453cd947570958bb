//! What the dashboard shows of a config version, as data: each flag's
//! state at a glance and in detail, the decision of one flag for one
//! context, and the changes between two versions. The JSON endpoints
//! serialise these; the pages render them.

use killswitch::explain::ExplainStep;
use killswitch::{Context, Decision, Flag, FlagSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::SystemTime;

/// A flag's state at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    /// The kill switch is on.
    Killed,
    /// `enabled` is false.
    Disabled,
    /// Rollout at 100 %.
    On,
    /// Rollout between 1 and 99 %.
    RollingOut,
    /// Rollout at 0 % or none: only allow rules turn it on.
    Off,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Killed => "killed",
            State::Disabled => "disabled",
            State::On => "on",
            State::RollingOut => "rolling_out",
            State::Off => "off",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            State::Killed => "Killed",
            State::Disabled => "Disabled",
            State::On => "On for everyone",
            State::RollingOut => "Rolling out",
            State::Off => "Off",
        }
    }
}

/// One rollout schedule entry.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Step {
    pub(crate) index: usize,
    pub(crate) start: String,
    pub(crate) end: String,
    pub(crate) from_percentage: u8,
    pub(crate) to_percentage: u8,
    /// Whether it sets the percentage now.
    pub(crate) current: bool,
    /// Whether it has not begun yet.
    pub(crate) upcoming: bool,
}

/// A variant and how it is served.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VariantView {
    pub(crate) name: String,
    /// Its JSON value, as the config writes it.
    pub(crate) value: String,
    /// Its share of the split, in percent, when the flag splits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) split_percent: Option<f64>,
    /// Whether it is served when the flag is off.
    pub(crate) off: bool,
    /// Whether it is served when the flag is on (without a split).
    pub(crate) on: bool,
}

/// A rule and the variant it pins.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleView {
    pub(crate) text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) variant: Option<String>,
}

/// A flag at a glance: the flag list's row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlagSummary {
    pub(crate) key: String,
    pub(crate) state: State,
    /// One line: "Rolling out at 25 %", "Killed"...
    pub(crate) summary: String,
    pub(crate) enabled: bool,
    pub(crate) kill_switch: bool,
    /// The rollout percentage in force now.
    pub(crate) percentage: Option<u8>,
    /// The schedule entry in force, and the next one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) schedule_step: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_step: Option<Step>,
    pub(crate) schedule_len: usize,
    pub(crate) variants: Vec<VariantView>,
    pub(crate) requires: Vec<String>,
    pub(crate) required_by: Vec<String>,
    /// Every flag that requires this one, directly or not: what a kill
    /// also turns off.
    pub(crate) blast_radius: Vec<String>,
    pub(crate) allow_rules: usize,
    pub(crate) deny_rules: usize,
}

/// A flag in detail: the flag page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlagDetail {
    #[serde(flatten)]
    pub(crate) summary: FlagSummary,
    pub(crate) rollout_percentage: Option<u8>,
    pub(crate) bucket_by: String,
    pub(crate) allow_list: Vec<RuleView>,
    pub(crate) deny_list: Vec<RuleView>,
    /// The named segments the rules use (name, definition).
    pub(crate) segments: BTreeMap<String, String>,
    pub(crate) schedule: Vec<Step>,
}

/// Who requires whom in a set.
pub(crate) struct Dependents {
    direct: BTreeMap<String, Vec<String>>,
}

impl Dependents {
    pub(crate) fn of(set: &FlagSet) -> Dependents {
        let mut direct: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for flag in set.flags() {
            for p in flag.prerequisites() {
                direct
                    .entry(p.key().to_string())
                    .or_default()
                    .push(flag.key().to_string());
            }
        }
        Dependents { direct }
    }

    fn direct(&self, key: &str) -> Vec<String> {
        self.direct.get(key).cloned().unwrap_or_default()
    }

    /// Every flag requiring `key` directly or through others, sorted.
    fn transitive(&self, key: &str) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<&str> = VecDeque::from([key]);
        while let Some(k) = queue.pop_front() {
            for d in self.direct.get(k).into_iter().flatten() {
                if d != key && seen.insert(d.clone()) {
                    queue.push_back(d);
                }
            }
        }
        seen.into_iter().collect()
    }
}

/// The flag's state at `now`.
pub(crate) fn state(flag: &Flag, now: SystemTime) -> State {
    if flag.kill_switch() {
        return State::Killed;
    }
    if !flag.enabled() {
        return State::Disabled;
    }
    match flag.percentage_at(now) {
        Some((100, _)) => State::On,
        Some((0, _)) | None => State::Off,
        Some(_) => State::RollingOut,
    }
}

fn steps(flag: &Flag, now: SystemTime) -> Vec<Step> {
    let current = flag.percentage_at(now).and_then(|(_, step)| step);
    flag.schedule()
        .iter()
        .enumerate()
        .map(|(index, e)| Step {
            index,
            start: rfc3339(e.start),
            end: rfc3339(e.end),
            from_percentage: e.from_percentage,
            to_percentage: e.to_percentage,
            current: current == Some(index),
            upcoming: e.start > now,
        })
        .collect()
}

pub(crate) fn summary(flag: &Flag, deps: &Dependents, now: SystemTime) -> FlagSummary {
    let state = state(flag, now);
    let rollout = flag.percentage_at(now);
    let schedule = steps(flag, now);
    let next_step = schedule.iter().find(|s| s.upcoming).cloned();
    let text = match state {
        State::Killed => "Killed: off for everyone".to_string(),
        State::Disabled => "Disabled: off for everyone".to_string(),
        State::On => "On for everyone (100 %)".to_string(),
        State::RollingOut => format!(
            "Rolling out at {} %",
            rollout.map_or(0, |(percentage, _)| percentage)
        ),
        State::Off if flag.allow_rules().is_empty() => match rollout {
            Some(_) => "Off (0 %)".to_string(),
            None => "Off (no rollout)".to_string(),
        },
        State::Off => "Off except for allow rules".to_string(),
    };
    let split = flag.split();
    let variants = flag
        .variants()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let index = u16::try_from(i).unwrap_or(u16::MAX);
            VariantView {
                name: v.name().to_string(),
                value: v.json().to_string(),
                split_percent: split
                    .iter()
                    .find(|(variant, _)| *variant == index)
                    .map(|(_, weight)| f64::from(*weight) / 100.0),
                off: flag.off_variant() == Some(index),
                on: flag.on_variant() == Some(index),
            }
        })
        .collect();
    FlagSummary {
        key: flag.key().to_string(),
        state,
        summary: text,
        enabled: flag.enabled(),
        kill_switch: flag.kill_switch(),
        percentage: rollout.map(|(p, _)| p),
        schedule_step: rollout.and_then(|(_, step)| step),
        next_step,
        schedule_len: schedule.len(),
        variants,
        requires: flag
            .prerequisites()
            .iter()
            .map(|p| p.key().to_string())
            .collect(),
        required_by: deps.direct(flag.key()),
        blast_radius: deps.transitive(flag.key()),
        allow_rules: flag.allow_rules().len(),
        deny_rules: flag.deny_rules().len(),
    }
}

pub(crate) fn detail(flag: &Flag, deps: &Dependents, now: SystemTime) -> FlagDetail {
    let variant_name = |rule: usize| {
        flag.pinned_variant(rule)
            .and_then(|i| flag.variant(i))
            .map(|v| v.name().to_string())
    };
    let mut segments = BTreeMap::new();
    for rule in flag.allow_rules().iter().chain(flag.deny_rules()) {
        for (name, expr) in rule.segments() {
            segments.insert(name.to_string(), expr.to_string());
        }
    }
    FlagDetail {
        summary: summary(flag, deps, now),
        rollout_percentage: flag.rollout_percentage(),
        bucket_by: flag.bucket_by().to_string(),
        allow_list: flag
            .allow_rules()
            .iter()
            .enumerate()
            .map(|(i, r)| RuleView {
                text: r.source().to_string(),
                variant: variant_name(i),
            })
            .collect(),
        deny_list: flag
            .deny_rules()
            .iter()
            .map(|r| RuleView {
                text: r.source().to_string(),
                variant: None,
            })
            .collect(),
        segments,
        schedule: steps(flag, now),
    }
}

/// A decision as `killswitch eval` prints it (one JSON line), so that the
/// dashboard's answer can be compared with the command's.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DecisionLine {
    pub(crate) flag: String,
    pub(crate) user_id: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prerequisite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bucket: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) percentage: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) schedule_step: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) split_bucket: Option<u16>,
    pub(crate) variant: String,
    pub(crate) value: Box<serde_json::value::RawValue>,
}

/// A traced decision: the line, each step, and the trace as text.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Tried {
    pub(crate) decision: DecisionLine,
    pub(crate) explanation: Vec<ExplainStep>,
    pub(crate) explanation_text: String,
}

pub(crate) fn try_flag(flag: &Flag, ctx: &Context<'_>, now: SystemTime) -> Tried {
    let explanation = flag.explain_at(ctx, now);
    let d: Decision = explanation.decision;
    let (variant, json) = match d.variant.and_then(|i| flag.variant(i)) {
        Some(v) => (v.name().to_string(), v.json().to_string()),
        None if d.enabled => ("on".to_string(), "true".to_string()),
        None => ("off".to_string(), "false".to_string()),
    };
    let value = serde_json::value::RawValue::from_string(json).unwrap_or_else(|_| {
        // Written by the loader from a parsed document: valid JSON. The
        // boolean answer stands in should it ever not be.
        serde_json::value::to_raw_value(&d.enabled).unwrap_or_default()
    });
    Tried {
        decision: DecisionLine {
            flag: flag.key().to_string(),
            user_id: ctx.user_id().map(str::to_string),
            enabled: d.enabled,
            reason: d.reason.as_str(),
            rule: d.reason.rule(),
            prerequisite: d
                .reason
                .prerequisite()
                .and_then(|i| flag.prerequisites().get(i))
                .map(|p| p.key().to_string()),
            bucket: d.bucket,
            percentage: d.percentage,
            schedule_step: d.schedule_step,
            split_bucket: d.split_bucket,
            variant,
            value,
        },
        explanation_text: explanation.to_string(),
        explanation: explanation.steps,
    }
}

/// What changes from one version's flags to another's, flag by flag.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlagChange {
    pub(crate) key: String,
    /// `added`, `removed` or `changed`.
    pub(crate) change: &'static str,
    /// For a changed flag: each field that differs, `field: old -> new`.
    pub(crate) fields: Vec<String>,
}

/// The per-flag differences from `from` to `to`.
pub(crate) fn changes(from: &FlagSet, to: &FlagSet) -> Vec<FlagChange> {
    let mut out = Vec::new();
    for flag in to.flags() {
        match from.get(flag.key()) {
            None => out.push(FlagChange {
                key: flag.key().to_string(),
                change: "added",
                fields: Vec::new(),
            }),
            Some(old) => {
                let fields = field_changes(old, flag);
                if !fields.is_empty() {
                    out.push(FlagChange {
                        key: flag.key().to_string(),
                        change: "changed",
                        fields,
                    });
                }
            }
        }
    }
    for flag in from.flags() {
        if to.get(flag.key()).is_none() {
            out.push(FlagChange {
                key: flag.key().to_string(),
                change: "removed",
                fields: Vec::new(),
            });
        }
    }
    out
}

fn field_changes(old: &Flag, new: &Flag) -> Vec<String> {
    let mut fields = Vec::new();
    let mut compare = |name: &str, a: String, b: String| {
        if a != b {
            fields.push(format!("{name}: {a} -> {b}"));
        }
    };
    compare(
        "kill_switch",
        old.kill_switch().to_string(),
        new.kill_switch().to_string(),
    );
    compare(
        "enabled",
        old.enabled().to_string(),
        new.enabled().to_string(),
    );
    let pct = |f: &Flag| {
        f.rollout_percentage()
            .map_or("none".into(), |p| format!("{p} %"))
    };
    compare("rollout_percentage", pct(old), pct(new));
    let rules = |rules: &[killswitch::Rule]| {
        let texts: Vec<&str> = rules.iter().map(|r| r.source()).collect();
        format!("{texts:?}")
    };
    compare(
        "allow_list",
        rules(old.allow_rules()),
        rules(new.allow_rules()),
    );
    compare(
        "deny_list",
        rules(old.deny_rules()),
        rules(new.deny_rules()),
    );
    let requires = |f: &Flag| {
        let keys: Vec<&str> = f.prerequisites().iter().map(|p| p.key()).collect();
        format!("{keys:?}")
    };
    compare("requires", requires(old), requires(new));
    let schedule = |f: &Flag| format!("{} entries {:?}", f.schedule().len(), f.schedule());
    if schedule(old) != schedule(new) {
        fields.push("rollout_schedule changed".to_string());
    }
    let variants = |f: &Flag| {
        let v: Vec<String> = f
            .variants()
            .iter()
            .map(|v| format!("{}={}", v.name(), v.json()))
            .collect();
        format!("{v:?} split {:?}", f.split())
    };
    if variants(old) != variants(new) {
        fields.push("variants changed".to_string());
    }
    fields
}

/// `2026-11-29T11:02:03Z` (UTC, whole seconds).
pub(crate) use killswitch::format_time as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = killswitch::parse_time("2026-02-28T23:59:59+00:00").unwrap();
        assert_eq!(rfc3339(t), "2026-02-28T23:59:59Z");
        let leap = killswitch::parse_time("2024-02-29T12:00:00Z").unwrap();
        assert_eq!(
            rfc3339(leap + Duration::from_secs(86_400)),
            "2024-03-01T12:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn states_and_blast_radius() {
        let set = FlagSet::from_json(
            r#"[{"flag_key": "base", "enabled": true, "rollout_percentage": 25},
                {"flag_key": "mid", "enabled": true, "requires": ["base"], "rollout_percentage": 100},
                {"flag_key": "top", "enabled": true, "requires": ["mid"], "kill_switch": true},
                {"flag_key": "off", "enabled": false}]"#,
        )
        .unwrap();
        let deps = Dependents::of(&set);
        let now = SystemTime::now();
        let base = summary(set.get("base").unwrap(), &deps, now);
        assert_eq!(base.state, State::RollingOut);
        assert_eq!(base.required_by, ["mid"]);
        assert_eq!(base.blast_radius, ["mid", "top"]);
        assert_eq!(
            summary(set.get("mid").unwrap(), &deps, now).state,
            State::On
        );
        assert_eq!(
            summary(set.get("top").unwrap(), &deps, now).state,
            State::Killed
        );
        assert_eq!(
            summary(set.get("off").unwrap(), &deps, now).state,
            State::Disabled
        );
    }
}
