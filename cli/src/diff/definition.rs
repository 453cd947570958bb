//! What changed in a flag's definition between two configs, read from the
//! compiled flags' public accessors: its own fields, rules (as text),
//! prerequisites and schedule, then what it depends on (the segments its
//! rules use, the definitions of its prerequisites).

use killswitch::{Flag, Rule};
use serde::Serialize;
use std::time::SystemTime;

/// One difference: `what` (a field, `allow_list[2]`, `segment @internal`,
/// `prerequisite checkout_enabled > kill_switch`), its old and new text
/// (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Change {
    pub(crate) what: String,
    pub(crate) old: Option<String>,
    pub(crate) new: Option<String>,
}

impl Change {
    fn new(what: impl Into<String>, old: Option<String>, new: Option<String>) -> Change {
        Change {
            what: what.into(),
            old,
            new,
        }
    }
}

/// The changes of a flag present on both sides: `own` in its definition,
/// `through` in what it depends on.
pub(crate) struct Changes {
    pub(crate) own: Vec<Change>,
    pub(crate) through: Vec<Change>,
}

/// Compares two versions of a flag; `times` are the instants the diff
/// evaluates at (a schedule is compared by its percentage at each).
pub(crate) fn compare(old: &Flag, new: &Flag, times: &[(Option<String>, SystemTime)]) -> Changes {
    let mut own = Vec::new();
    own_changes(old, new, times, &mut own);
    let mut through = Vec::new();
    segment_changes(old, new, "", &mut through);
    prerequisite_changes(old, new, times, "", &mut through, 0);
    Changes { own, through }
}

/// Whether two versions of a flag are known to decide alike for every
/// context at every time: the same fields, rule texts, segment definitions
/// and prerequisites (recursively), and no schedule on either side (its
/// entries are not visible through the library, so a scheduled flag is
/// always evaluated).
pub(crate) fn same_decisions(old: &Flag, new: &Flag) -> bool {
    if old.has_schedule() || new.has_schedule() {
        return false;
    }
    let mut own = Vec::new();
    own_changes(old, new, &[], &mut own);
    let mut through = Vec::new();
    segment_changes(old, new, "", &mut through);
    own.is_empty()
        && through.is_empty()
        && old.prerequisites().len() == new.prerequisites().len()
        && old
            .prerequisites()
            .iter()
            .zip(new.prerequisites())
            .all(|(a, b)| same_decisions(a, b))
}

fn yes_no(b: bool) -> Option<String> {
    Some(b.to_string())
}

fn own_changes(
    old: &Flag,
    new: &Flag,
    times: &[(Option<String>, SystemTime)],
    out: &mut Vec<Change>,
) {
    if old.enabled() != new.enabled() {
        out.push(Change::new(
            "enabled",
            yes_no(old.enabled()),
            yes_no(new.enabled()),
        ));
    }
    if old.kill_switch() != new.kill_switch() {
        out.push(Change::new(
            "kill_switch",
            yes_no(old.kill_switch()),
            yes_no(new.kill_switch()),
        ));
    }
    if old.rollout_percentage() != new.rollout_percentage() {
        out.push(Change::new(
            "rollout_percentage",
            old.rollout_percentage().map(|p| p.to_string()),
            new.rollout_percentage().map(|p| p.to_string()),
        ));
    }
    if old.bucket_by() != new.bucket_by() {
        out.push(Change::new(
            "bucket_by",
            Some(old.bucket_by().to_string()),
            Some(new.bucket_by().to_string()),
        ));
    }
    let keys = |f: &Flag| -> Vec<String> {
        f.prerequisites()
            .iter()
            .map(|p| p.key().to_string())
            .collect()
    };
    let (old_keys, new_keys) = (keys(old), keys(new));
    if old_keys != new_keys {
        let list = |k: Vec<String>| (!k.is_empty()).then(|| k.join(", "));
        out.push(Change::new("requires", list(old_keys), list(new_keys)));
    }
    variant_changes(old, new, out);
    rule_changes("allow_list", old.allow_rules(), new.allow_rules(), out);
    rule_changes("deny_list", old.deny_rules(), new.deny_rules(), out);
    if old.has_schedule() != new.has_schedule() {
        let text = |b: bool| b.then(|| "present".to_string());
        out.push(Change::new(
            "rollout_schedule",
            text(old.has_schedule()),
            text(new.has_schedule()),
        ));
    }
    if old.has_schedule() || new.has_schedule() {
        for (label, t) in times {
            let (a, b) = (old.percentage_at(*t), new.percentage_at(*t));
            if a.map(|p| p.0) != b.map(|p| p.0) {
                let at = label.as_deref().unwrap_or("now");
                out.push(Change::new(
                    format!("rollout percentage at {at}"),
                    a.map(|p| p.0.to_string()),
                    b.map(|p| p.0.to_string()),
                ));
            }
        }
    }
}

/// The name of a flag's variant at `index`.
fn variant_name(flag: &Flag, index: Option<u16>) -> Option<String> {
    index
        .and_then(|i| flag.variant(i))
        .map(|v| v.name().to_string())
}

/// Basis points as a percentage: `5000` as `50%`, `3333` as `33.33%`.
fn percent(bp: u16) -> String {
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{}.{:02}%", bp / 100, bp % 100)
    }
}

/// A flag's split as text (`blue 50%, green 50%`); `None` without one.
fn split_text(flag: &Flag) -> Option<String> {
    let split = flag.split();
    (!split.is_empty()).then(|| {
        split
            .iter()
            .map(|&(v, bp)| {
                let name = variant_name(flag, Some(v)).unwrap_or_default();
                format!("{name} {}", percent(bp))
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Variants compared by name (`variants.NAME`, as JSON text), then
/// `off_variant`, `on_variant` and `split` by variant name.
fn variant_changes(old: &Flag, new: &Flag, out: &mut Vec<Change>) {
    let find = |f: &Flag, name: &str| {
        f.variants()
            .iter()
            .find(|v| v.name() == name)
            .map(|v| v.json().to_string())
    };
    for v in old.variants() {
        let now = find(new, v.name());
        if now.as_deref() != Some(v.json()) {
            out.push(Change::new(
                format!("variants.{}", v.name()),
                Some(v.json().to_string()),
                now,
            ));
        }
    }
    for v in new.variants() {
        if find(old, v.name()).is_none() {
            out.push(Change::new(
                format!("variants.{}", v.name()),
                None,
                Some(v.json().to_string()),
            ));
        }
    }
    let (a, b) = (
        variant_name(old, old.off_variant()),
        variant_name(new, new.off_variant()),
    );
    if a != b {
        out.push(Change::new("off_variant", a, b));
    }
    let (a, b) = (
        variant_name(old, old.on_variant()),
        variant_name(new, new.on_variant()),
    );
    if a != b {
        out.push(Change::new("on_variant", a, b));
    }
    let (a, b) = (split_text(old), split_text(new));
    if a != b {
        out.push(Change::new("split", a, b));
    }
    let rules = old.allow_rules().len().max(new.allow_rules().len());
    for i in 0..rules {
        let (a, b) = (
            variant_name(old, old.pinned_variant(i)),
            variant_name(new, new.pinned_variant(i)),
        );
        if a != b {
            out.push(Change::new(format!("allow_list[{i}] variant"), a, b));
        }
    }
}

/// Rules compared as text: position by position when both lists have the
/// same length, else the rules each side lacks.
fn rule_changes(list: &str, old: &[Rule], new: &[Rule], out: &mut Vec<Change>) {
    let o: Vec<&str> = old.iter().map(Rule::source).collect();
    let n: Vec<&str> = new.iter().map(Rule::source).collect();
    if o == n {
        return;
    }
    if o.len() == n.len() {
        for (i, (a, b)) in o.iter().zip(&n).enumerate() {
            if a != b {
                out.push(Change::new(
                    format!("{list}[{i}]"),
                    Some(a.to_string()),
                    Some(b.to_string()),
                ));
            }
        }
        return;
    }
    let before = out.len();
    for (i, a) in o.iter().enumerate() {
        if !n.contains(a) {
            out.push(Change::new(
                format!("{list}[{i}]"),
                Some(a.to_string()),
                None,
            ));
        }
    }
    for (i, b) in n.iter().enumerate() {
        if !o.contains(b) {
            out.push(Change::new(
                format!("{list}[{i}]"),
                None,
                Some(b.to_string()),
            ));
        }
    }
    if out.len() == before {
        // Only duplicates were added or removed.
        out.push(Change::new(
            list,
            Some(format!("{} rules", o.len())),
            Some(format!("{} rules", n.len())),
        ));
    }
}

/// The segments a flag's rules use (directly or through other segments),
/// each once, with its definition as canonical text.
fn segments_used(flag: &Flag) -> Vec<(String, String)> {
    let mut used: Vec<(String, String)> = Vec::new();
    for rule in flag.allow_rules().iter().chain(flag.deny_rules()) {
        for (name, expr) in rule.segments() {
            if !used.iter().any(|(n, _)| n == name) {
                used.push((name.to_string(), expr.to_string()));
            }
        }
    }
    used
}

fn segment_changes(old: &Flag, new: &Flag, prefix: &str, out: &mut Vec<Change>) {
    let (o, n) = (segments_used(old), segments_used(new));
    let find = |list: &[(String, String)], name: &str| {
        list.iter()
            .find(|(k, _)| k == name)
            .map(|(_, text)| text.clone())
    };
    for (name, text) in &o {
        let now = find(&n, name);
        if now.as_deref() != Some(text.as_str()) {
            out.push(Change::new(
                format!("{prefix}segment @{name}"),
                Some(text.clone()),
                now,
            ));
        }
    }
    for (name, text) in &n {
        if find(&o, name).is_none() {
            out.push(Change::new(
                format!("{prefix}segment @{name}"),
                None,
                Some(text.clone()),
            ));
        }
    }
}

/// The changes of the prerequisites both versions require, flattened with
/// a `prerequisite KEY > ` prefix (recursively: the loader bounds the
/// depth of `requires` chains).
fn prerequisite_changes(
    old: &Flag,
    new: &Flag,
    times: &[(Option<String>, SystemTime)],
    prefix: &str,
    out: &mut Vec<Change>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    for parent in old.prerequisites() {
        let Some(now) = new.prerequisites().iter().find(|p| p.key() == parent.key()) else {
            continue;
        };
        let inner = format!("{prefix}prerequisite {} > ", parent.key());
        let mut own = Vec::new();
        own_changes(parent, now, times, &mut own);
        for mut c in own {
            c.what = format!("{inner}{}", c.what);
            out.push(c);
        }
        segment_changes(parent, now, &inner, out);
        prerequisite_changes(parent, now, times, &inner, out, depth + 1);
    }
}
