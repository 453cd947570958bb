//! `killswitch diff`: what a config change does, before it ships: per
//! flag, what changed in its definition (or in a segment or prerequisite
//! it depends on), and which contexts it turns on and off, grouped by the
//! step that decides under the new config.
//!
//! `definition` compares the compiled flags, `tally` evaluates both
//! configs over the contexts on every core, `render` prints the report.

mod definition;
mod render;
mod tally;

use crate::output::{key_hint, parse_now, USAGE};
use clap::Args;
use definition::Change;
use killswitch::{FlagSet, Format, Limits, Reason};
use std::io::{self, Write};
use std::process::Command;
use std::time::SystemTime;
use tally::{Cell, Pair, Population};

#[derive(Args)]
pub(crate) struct DiffArgs {
    /// The config before the change: a file (JSON, YAML or TOML, by its
    /// extension), or `git:REV:PATH` for a file at a git revision of the
    /// current repository (`git:origin/main:flags.json`).
    #[arg(value_name = "OLD")]
    old: String,
    /// The config after the change, in the same forms as OLD.
    #[arg(value_name = "NEW")]
    new: String,
    /// A JSON-lines file of contexts, one per line (`-` for standard
    /// input): each is evaluated under both configs.
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    contexts: Option<String>,
    /// Evaluate N synthetic users (`{"user_id": "user-0"}` ...), as
    /// `eval --sample` does.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..=100_000_000)
    )]
    sample: Option<u64>,
    /// Compare only this flag (repeatable; default: every flag).
    #[arg(long, value_name = "KEY")]
    flag: Vec<String>,
    /// Evaluate as at this time (RFC 3339 with a time zone). Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_now, conflicts_with = "at")]
    now: Option<SystemTime>,
    /// Evaluate at each of these times (comma-separated, RFC 3339), to see
    /// the effect over a rollout schedule.
    #[arg(long, value_name = "T1,T2,...", value_delimiter = ',')]
    at: Vec<String>,
    /// Output: `human`, `json` (one document, see the README), `markdown`
    /// (a table for a pull-request comment) or `github` (annotations).
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    format: DiffFormat,
    /// Exit 1 when any decision changes (without contexts: when any
    /// definition changes).
    #[arg(long)]
    fail_on_change: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    Human,
    Json,
    Markdown,
    Github,
}

/// Exit code with `--fail-on-change` when something changed.
const CHANGED: u8 = 1;

/// Reads a config from a file or a git revision; on failure, prints the
/// problem as `check` would and gives `None`.
fn load(spec: &str) -> Option<FlagSet> {
    let Some(rest) = spec.strip_prefix("git:") else {
        return match FlagSet::load(spec) {
            Ok(set) => Some(set),
            Err(e) => {
                eprintln!("{e}");
                None
            }
        };
    };
    let Some((rev, path)) = rest.split_once(':') else {
        eprintln!("error: `{spec}` is not of the form git:REV:PATH (git:HEAD:flags.json)");
        return None;
    };
    let text = match git_show(rev, path) {
        Ok(text) => text,
        Err(msg) => {
            eprintln!("error: cannot read `{spec}`: {msg}");
            return None;
        }
    };
    match FlagSet::from_text(&text, Format::from_path(path), &Limits::default()) {
        Ok(set) => Some(set),
        Err(e) => {
            let mut out = String::new();
            for d in e.diagnostics() {
                let _ = d.render(Some(spec), &mut out);
                out.push_str("\n\n");
            }
            let n = e.diagnostics().len();
            eprintln!("{out}{n} error{}", if n == 1 { "" } else { "s" });
            None
        }
    }
}

/// `git show REV:PATH`, bounded by [`Limits::max_config_bytes`].
fn git_show(rev: &str, path: &str) -> Result<String, String> {
    let out = Command::new("git")
        .arg("show")
        .arg(format!("{rev}:{path}"))
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(format!("git show failed: {}", msg.trim()));
    }
    let max = Limits::default().max_config_bytes;
    if out.stdout.len() > max {
        return Err(format!(
            "the file is {} bytes, over the limit of {max}",
            out.stdout.len()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "the file is not UTF-8".to_string())
}

/// What happened to a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Added,
    Removed,
    /// Its own definition changed.
    Changed,
    /// Its own definition is the same; a segment or prerequisite changed,
    /// or its decisions did (a schedule).
    Affected,
}

/// One flag of the report.
pub(crate) struct FlagReport {
    pub(crate) key: String,
    pub(crate) status: Status,
    pub(crate) definition: Vec<Change>,
    pub(crate) through: Vec<Change>,
    /// One per time, when contexts were evaluated.
    pub(crate) effects: Vec<Cell>,
    /// Names the prerequisite of a `prerequisite_off` reason under NEW.
    pub(crate) prerequisites: Vec<String>,
    /// The names of the flag's variants in OLD and in NEW (empty for a
    /// boolean flag), which a variant change's indices point into.
    pub(crate) old_variants: Vec<String>,
    pub(crate) new_variants: Vec<String>,
}

impl FlagReport {
    pub(crate) fn decisions_changed(&self) -> u64 {
        self.effects.iter().map(Cell::changed).sum()
    }

    /// A reason's step: `allow_rule 1`, `prerequisite_off checkout_enabled`.
    pub(crate) fn step(&self, reason: Reason) -> String {
        match reason {
            Reason::PrerequisiteOff(i) => match self.prerequisites.get(i) {
                Some(key) => format!("prerequisite_off {key}"),
                None => reason.to_string(),
            },
            Reason::UnknownFlag => "flag absent".to_string(),
            other => other.to_string(),
        }
    }

    /// A variant change's label: `variant blue -> green`.
    pub(crate) fn variant_label(&self, from: u16, to: u16) -> String {
        let name = |list: &[String], i: u16| {
            list.get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| format!("#{i}"))
        };
        format!(
            "variant {} -> {}",
            name(&self.old_variants, from),
            name(&self.new_variants, to)
        )
    }
}

/// The whole report.
pub(crate) struct Report<'a> {
    pub(crate) old: &'a str,
    pub(crate) new: &'a str,
    /// `sample` or the contexts file, when contexts were evaluated.
    pub(crate) population: Option<(&'static str, String)>,
    /// The times evaluated at (`None`: now).
    pub(crate) times: Vec<Option<String>>,
    pub(crate) evaluated: u64,
    pub(crate) skipped: u64,
    pub(crate) flags_compared: usize,
    pub(crate) flags: Vec<FlagReport>,
}

impl Report<'_> {
    pub(crate) fn decisions_changed(&self) -> u64 {
        self.flags.iter().map(FlagReport::decisions_changed).sum()
    }
}

pub(crate) fn run(args: &DiffArgs) -> u8 {
    let (old, new) = (load(&args.old), load(&args.new));
    let (Some(old), Some(new)) = (old, new) else {
        return USAGE;
    };
    // The times: --at's list, --now, or the clock.
    let mut times: Vec<(Option<String>, SystemTime)> = Vec::new();
    for text in &args.at {
        match parse_now(text.trim()) {
            Ok(t) => times.push((Some(text.trim().to_string()), t)),
            Err(msg) => {
                eprintln!("error: --at: {msg}");
                return USAGE;
            }
        }
    }
    if times.is_empty() {
        times.push((None, args.now.unwrap_or_else(SystemTime::now)));
    }
    // Every key, OLD's order first, then NEW's additions.
    let mut keys: Vec<&str> = old.flags().iter().map(|f| f.key()).collect();
    for f in new.flags() {
        if old.get(f.key()).is_none() {
            keys.push(f.key());
        }
    }
    if !args.flag.is_empty() {
        for key in &args.flag {
            if !keys.contains(&key.as_str()) {
                let hint = key_hint(key, &keys);
                eprintln!("error: no flag `{key}` in OLD or NEW{hint}");
                return USAGE;
            }
        }
        keys.retain(|k| args.flag.iter().any(|f| f == k));
    }
    // Which flags may decide differently: evaluated over the contexts.
    let mut reports = Vec::new();
    let mut pairs = Vec::new();
    for key in &keys {
        let (o, n) = (old.get(key), new.get(key));
        let (status, own, through) = match (o, n) {
            (Some(o), Some(n)) => {
                let changes = definition::compare(o, n, &times);
                if definition::same_decisions(o, n) {
                    continue;
                }
                let status = if changes.own.is_empty() {
                    Status::Affected
                } else {
                    Status::Changed
                };
                (status, changes.own, changes.through)
            }
            (None, Some(_)) => (Status::Added, Vec::new(), Vec::new()),
            (Some(_), None) => (Status::Removed, Vec::new(), Vec::new()),
            (None, None) => continue,
        };
        let prerequisites = n
            .map(|f| {
                f.prerequisites()
                    .iter()
                    .map(|p| p.key().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let names = |f: Option<&killswitch::Flag>| -> Vec<String> {
            f.map(|f| f.variants().iter().map(|v| v.name().to_string()).collect())
                .unwrap_or_default()
        };
        reports.push(FlagReport {
            old_variants: names(o),
            new_variants: names(n),
            key: (*key).to_string(),
            status,
            definition: own,
            through,
            effects: Vec::new(),
            prerequisites,
        });
        pairs.push(Pair::new(o, n));
    }
    let population = match (&args.contexts, args.sample) {
        (Some(path), _) => Some(Population::Lines(path)),
        (None, Some(n)) => Some(Population::Sample(n)),
        (None, None) => None,
    };
    let mut report = Report {
        old: &args.old,
        new: &args.new,
        population: None,
        times: times.iter().map(|(label, _)| label.clone()).collect(),
        evaluated: 0,
        skipped: 0,
        flags_compared: keys.len(),
        flags: Vec::new(),
    };
    if let Some(population) = &population {
        let instants: Vec<SystemTime> = times.iter().map(|(_, t)| *t).collect();
        let tally = match tally::run(&pairs, &instants, population) {
            Ok(tally) => tally,
            Err(e) => {
                let path = args.contexts.as_deref().unwrap_or("-");
                eprintln!("error: cannot read `{path}`: {e}");
                return USAGE;
            }
        };
        let path = args.contexts.as_deref().unwrap_or("");
        for (line, msg) in &tally.bad_lines {
            eprintln!("{path}:{line}: {msg}; skipped");
        }
        let unreported = tally.skipped.saturating_sub(tally.bad_lines.len() as u64);
        if unreported > 0 {
            eprintln!("{path}: {unreported} more invalid lines skipped");
        }
        report.evaluated = tally.evaluated;
        report.skipped = tally.skipped;
        report.population = Some(match population {
            Population::Sample(_) => ("sample", String::new()),
            Population::Lines(path) => ("contexts", (*path).to_string()),
        });
        let n = pairs.len();
        for (i, r) in reports.iter_mut().enumerate() {
            r.effects = (0..times.len())
                .filter_map(|t| tally.cells.get(t * n + i).cloned())
                .collect();
        }
        // A flag evaluated only because it has a schedule, whose decisions
        // and percentages did not change, is not a change.
        reports.retain(|r| {
            r.status != Status::Affected || !r.through.is_empty() || r.decisions_changed() > 0
        });
    } else {
        reports.retain(|r| r.status != Status::Affected || !r.through.is_empty());
    }
    report.flags = reports;
    let text = render::render(&report, args.format);
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write output: {e}");
            return USAGE;
        }
    }
    let changed = if population.is_some() {
        report.decisions_changed() > 0
    } else {
        !report.flags.is_empty()
    };
    if args.fail_on_change && changed {
        CHANGED
    } else {
        0
    }
}
