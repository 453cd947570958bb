//! The diff report as text (`human`), one JSON document (`json`), a
//! Markdown table (`markdown`) or GitHub workflow annotations (`github`).

use super::definition::Change;
use super::tally::{Cell, Group};
use super::{DiffFormat, FlagReport, Report, Status};
use crate::output::{escape_data, escape_property};
use serde::Serialize;
use std::fmt::Write as _;

pub(crate) fn render(report: &Report<'_>, format: DiffFormat) -> String {
    match format {
        DiffFormat::Human => human(report),
        DiffFormat::Json => json(report),
        DiffFormat::Markdown => markdown(report),
        DiffFormat::Github => github(report),
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, word: &str) -> String {
    format!("{} {word}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `what: old -> new`, `what: added: new`, `what: removed: old`.
fn change_text(c: &Change) -> String {
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{}: {o} -> {n}", c.what),
        (None, Some(n)) => format!("{}: added: {n}", c.what),
        (Some(o), None) => format!("{}: removed: {o}", c.what),
        (None, None) => c.what.clone(),
    }
}

/// The same in Markdown: the texts as code, the arrow as an arrow.
fn change_markdown(c: &Change) -> String {
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{}: {} → {}", c.what, code(o), code(n)),
        (None, Some(n)) => format!("{}: added {}", c.what, code(n)),
        (Some(o), None) => format!("{}: removed {}", c.what, code(o)),
        (None, None) => c.what.clone(),
    }
}

fn status_text(f: &FlagReport) -> &'static str {
    match f.status {
        Status::Added => "added",
        Status::Removed => "removed",
        Status::Changed => "changed",
        Status::Affected if f.through.is_empty() => "decisions changed",
        Status::Affected => "definition unchanged; changed through what it uses",
    }
}

fn time_label(t: &Option<String>) -> &str {
    t.as_deref().unwrap_or("now")
}

fn population_text(report: &Report<'_>) -> Option<String> {
    let (kind, path) = report.population.as_ref()?;
    let mut text = if *kind == "sample" {
        format!(
            "{} (user-0 .. user-{})",
            plural(report.evaluated, "synthetic user"),
            report.evaluated.saturating_sub(1)
        )
    } else {
        format!("{} from {path}", plural(report.evaluated, "context"))
    };
    if report.skipped > 0 {
        let _ = write!(text, ", {} skipped", plural(report.skipped, "invalid line"));
    }
    Some(text)
}

fn groups_text(f: &FlagReport, groups: &[Group]) -> String {
    groups
        .iter()
        .map(|g| format!("{}: {}", f.step(g.reason), thousands(g.count)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn human(report: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "old: {}\nnew: {}", report.old, report.new);
    if let Some(text) = population_text(report) {
        let _ = writeln!(out, "contexts: {text}");
    }
    if report.times.iter().any(Option::is_some) {
        let labels: Vec<&str> = report.times.iter().map(time_label).collect();
        let _ = writeln!(out, "at: {}", labels.join(", "));
    }
    for f in &report.flags {
        let _ = writeln!(out, "\n{}: {}", f.key, status_text(f));
        for c in &f.definition {
            let _ = writeln!(out, "  {}", change_text(c));
        }
        for c in &f.through {
            let _ = writeln!(out, "  through {}", change_text(c));
        }
        if report.population.is_none() {
            continue;
        }
        for (t, cell) in report.times.iter().zip(&f.effects) {
            let at = if report.times.len() > 1 || t.is_some() {
                format!(" at {}", time_label(t))
            } else {
                String::new()
            };
            if cell.changed() == 0 {
                let what = if f.status == Status::Changed {
                    "definition changed, but no decision changed"
                } else {
                    "no decision changed"
                };
                let _ = writeln!(
                    out,
                    "  {what}{at} (on for {} of {})",
                    thousands(cell.on_new),
                    thousands(report.evaluated)
                );
                continue;
            }
            let _ = writeln!(
                out,
                "  effect{at}: on for {} -> {} of {}",
                thousands(cell.on_old),
                thousands(cell.on_new),
                thousands(report.evaluated)
            );
            human_groups(&mut out, f, "on -> off", &cell.on_to_off);
            human_groups(&mut out, f, "off -> on", &cell.off_to_on);
            for vc in &cell.variant_changes {
                human_groups(&mut out, f, &f.variant_label(vc.from, vc.to), &vc.groups);
            }
        }
    }
    let changed = report.flags.len();
    let _ = write!(
        out,
        "\n{} of {} compared",
        plural(changed as u64, "flag"),
        thousands(report.flags_compared as u64)
    );
    if report.population.is_some() {
        let _ = write!(
            out,
            ", {} changed",
            plural(report.decisions_changed(), "decision")
        );
    }
    out.push('\n');
    out
}

fn human_groups(out: &mut String, f: &FlagReport, label: &str, groups: &[Group]) {
    let total: u64 = groups.iter().map(|g| g.count).sum();
    if total == 0 {
        return;
    }
    let _ = writeln!(out, "    {label}: {}", thousands(total));
    for g in groups {
        let examples: Vec<&str> = g.examples.iter().map(|(_, id)| id.as_str()).collect();
        let _ = writeln!(
            out,
            "      {:>9}  now {:<32} e.g. {}",
            thousands(g.count),
            f.step(g.reason),
            examples.join(", ")
        );
    }
}

/// The JSON document (`--format json`); its shape is documented in the
/// README and kept stable.
#[derive(Serialize)]
struct JsonReport<'a> {
    old: &'a str,
    new: &'a str,
    contexts: Option<JsonContexts<'a>>,
    flags_compared: usize,
    flags_changed: usize,
    decisions_changed: Option<u64>,
    flags: Vec<JsonFlag<'a>>,
}

#[derive(Serialize)]
struct JsonContexts<'a> {
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    evaluated: u64,
    skipped: u64,
}

#[derive(Serialize)]
struct JsonFlag<'a> {
    flag: &'a str,
    status: Status,
    definition: &'a [Change],
    through: &'a [Change],
    effects: Vec<JsonEffect<'a>>,
}

#[derive(Serialize)]
struct JsonEffect<'a> {
    at: Option<&'a str>,
    on_old: u64,
    on_new: u64,
    on_to_off: Vec<JsonGroup<'a>>,
    off_to_on: Vec<JsonGroup<'a>>,
    /// Variant flags only (absent when empty): contexts whose served
    /// variant changed while on/off did not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variant_changes: Vec<JsonVariantChange<'a>>,
}

#[derive(Serialize)]
struct JsonVariantChange<'a> {
    from: &'a str,
    to: &'a str,
    count: u64,
    groups: Vec<JsonGroup<'a>>,
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    count: u64,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prerequisite: Option<&'a str>,
    examples: Vec<&'a str>,
}

fn json_groups<'a>(f: &'a FlagReport, groups: &'a [Group]) -> Vec<JsonGroup<'a>> {
    groups
        .iter()
        .map(|g| JsonGroup {
            count: g.count,
            reason: g.reason.as_str(),
            rule: g.reason.rule(),
            prerequisite: g
                .reason
                .prerequisite()
                .and_then(|i| f.prerequisites.get(i))
                .map(String::as_str),
            examples: g.examples.iter().map(|(_, id)| id.as_str()).collect(),
        })
        .collect()
}

fn json(report: &Report<'_>) -> String {
    let doc = JsonReport {
        old: report.old,
        new: report.new,
        contexts: report.population.as_ref().map(|(kind, path)| JsonContexts {
            source: kind,
            file: (*kind == "contexts").then_some(path.as_str()),
            evaluated: report.evaluated,
            skipped: report.skipped,
        }),
        flags_compared: report.flags_compared,
        flags_changed: report.flags.len(),
        decisions_changed: report
            .population
            .as_ref()
            .map(|_| report.decisions_changed()),
        flags: report
            .flags
            .iter()
            .map(|f| JsonFlag {
                flag: &f.key,
                status: f.status,
                definition: &f.definition,
                through: &f.through,
                effects: report
                    .times
                    .iter()
                    .zip(&f.effects)
                    .map(|(t, cell): (&Option<String>, &Cell)| JsonEffect {
                        at: t.as_deref(),
                        on_old: cell.on_old,
                        on_new: cell.on_new,
                        on_to_off: json_groups(f, &cell.on_to_off),
                        off_to_on: json_groups(f, &cell.off_to_on),
                        variant_changes: cell
                            .variant_changes
                            .iter()
                            .map(|vc| JsonVariantChange {
                                from: f
                                    .old_variants
                                    .get(usize::from(vc.from))
                                    .map_or("", String::as_str),
                                to: f
                                    .new_variants
                                    .get(usize::from(vc.to))
                                    .map_or("", String::as_str),
                                count: vc.count(),
                                groups: json_groups(f, &vc.groups),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Text safe in a Markdown table cell.
fn cell_text(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A short summary of a flag's changes, for a table cell (`markdown`) or
/// an annotation.
fn changes_summary(f: &FlagReport, markdown: bool) -> String {
    let text = if markdown {
        change_markdown
    } else {
        change_text
    };
    let mut parts: Vec<String> = f.definition.iter().map(text).collect();
    parts.extend(f.through.iter().map(|c| format!("through {}", text(c))));
    if parts.is_empty() {
        parts.push(status_text(f).to_string());
    }
    match f.status {
        Status::Added | Status::Removed => status_text(f).to_string(),
        _ => parts.join("; "),
    }
}

fn markdown(report: &Report<'_>) -> String {
    let mut out = format!(
        "### killswitch diff: `{}` → `{}`\n\n",
        report.old, report.new
    );
    if let Some(text) = population_text(report) {
        let _ = writeln!(out, "Evaluated on {text}.\n");
    }
    if report.flags.is_empty() {
        out.push_str("No flag changed.\n");
        return out;
    }
    let many_times = report.times.iter().any(Option::is_some);
    let variants = report
        .flags
        .iter()
        .flat_map(|f| &f.effects)
        .any(|c| !c.variant_changes.is_empty());
    if report.population.is_none() {
        out.push_str("| flag | change |\n|---|---|\n");
        for f in &report.flags {
            let _ = writeln!(
                out,
                "| `{}` | {} |",
                f.key,
                cell_text(&changes_summary(f, true))
            );
        }
    } else {
        if many_times {
            out.push_str("| flag | at | change | on | on → off | off → on |");
        } else {
            out.push_str("| flag | change | on | on → off | off → on |");
        }
        if variants {
            out.push_str(" variant changed |");
        }
        let columns = if many_times { 6 } else { 5 } + usize::from(variants);
        out.push_str("\n|");
        out.push_str(&"---|".repeat(columns));
        out.push('\n');
        for f in &report.flags {
            for (t, cell) in report.times.iter().zip(&f.effects) {
                let flips = |groups: &[Group]| {
                    let total: u64 = groups.iter().map(|g| g.count).sum();
                    if total == 0 {
                        "0".to_string()
                    } else {
                        format!("{} ({})", thousands(total), groups_text(f, groups))
                    }
                };
                let at = if many_times {
                    format!(" {} |", time_label(t))
                } else {
                    String::new()
                };
                let _ = write!(
                    out,
                    "| `{}` |{at} {} | {} → {} | {} | {} |",
                    f.key,
                    cell_text(&changes_summary(f, true)),
                    thousands(cell.on_old),
                    thousands(cell.on_new),
                    cell_text(&flips(&cell.on_to_off)),
                    cell_text(&flips(&cell.off_to_on)),
                );
                if variants {
                    let text = if cell.variant_changes.is_empty() {
                        "0".to_string()
                    } else {
                        variant_summary(f, cell).replace(" -> ", " → ")
                    };
                    let _ = write!(out, " {} |", cell_text(&text));
                }
                out.push('\n');
            }
        }
    }
    if report.population.is_some() {
        let _ = writeln!(
            out,
            "\n{} changed in {}.",
            plural(report.decisions_changed(), "decision"),
            plural(report.flags.len() as u64, "flag")
        );
    }
    out
}

/// `variant a -> b 12 (rollout: 12), variant ...`.
fn variant_summary(f: &FlagReport, cell: &Cell) -> String {
    cell.variant_changes
        .iter()
        .map(|vc| {
            format!(
                "{} {} ({})",
                f.variant_label(vc.from, vc.to),
                thousands(vc.count()),
                groups_text(f, &vc.groups)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One annotation per changed flag: a warning when decisions change, a
/// notice otherwise.
fn github(report: &Report<'_>) -> String {
    let mut out = String::new();
    for f in &report.flags {
        let changed = f.decisions_changed();
        let level = if changed > 0 { "warning" } else { "notice" };
        let mut message = changes_summary(f, false);
        if report.population.is_some() {
            for (t, cell) in report.times.iter().zip(&f.effects) {
                let at = if t.is_some() {
                    format!("at {}: ", time_label(t))
                } else {
                    String::new()
                };
                let mut flips = Vec::new();
                for (label, groups) in [
                    ("on -> off", &cell.on_to_off),
                    ("off -> on", &cell.off_to_on),
                ] {
                    let total: u64 = groups.iter().map(|g| g.count).sum();
                    if total > 0 {
                        flips.push(format!(
                            "{label} {} ({})",
                            thousands(total),
                            groups_text(f, groups)
                        ));
                    }
                }
                if !cell.variant_changes.is_empty() {
                    flips.push(variant_summary(f, cell));
                }
                if flips.is_empty() {
                    let _ = write!(message, "\n{at}no decision changed");
                } else {
                    let _ = write!(
                        message,
                        "\n{at}{} of {} contexts",
                        flips.join(", "),
                        thousands(report.evaluated)
                    );
                }
            }
        }
        let status = match f.status {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Affected => "affected",
        };
        let title = format!("killswitch diff: {} {status}", f.key);
        let _ = writeln!(
            out,
            "::{level} title={}::{}",
            escape_property(&title),
            escape_data(&message)
        );
    }
    out
}
