//! `killswitch eval`: decisions for one context, a JSON-lines stream of
//! contexts, or a sample of synthetic users.

use crate::output::{closest_key, parse_now, read_arg, DecisionFields, INVALID, USAGE};
use clap::Args;
use killswitch::{Context, Decision, FlagSet};
use serde::Serialize;
use std::io::{self, BufRead, BufWriter, Write};
use std::time::SystemTime;

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The config file (JSON, YAML or TOML, by its extension).
    #[arg(value_name = "FILE")]
    file: String,
    /// One context: inline JSON, or @path to a JSON file.
    #[arg(
        long,
        value_name = "JSON",
        conflicts_with = "contexts",
        required_unless_present_any = ["contexts", "sample"]
    )]
    context: Option<String>,
    /// A JSON-lines file of contexts, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    contexts: Option<String>,
    /// Evaluate N synthetic users (`{"user_id": "user-0"}` ...) and print,
    /// per flag, how many are on: the share a rollout admits.
    #[arg(
        long,
        value_name = "N",
        conflicts_with_all = ["context", "explain"],
        value_parser = clap::value_parser!(u32).range(1..=10_000_000)
    )]
    sample: Option<u32>,
    /// Evaluate as at this time (RFC 3339 with a time zone, such as
    /// 2026-12-02T09:00:00Z): the clock rollout schedules are read
    /// against. Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    now: Option<SystemTime>,
    /// Evaluate only this flag (default: every flag, in file order).
    #[arg(long, value_name = "KEY")]
    flag: Option<String>,
    /// Trace each decision: every step of the evaluation order, every rule
    /// and condition with the attribute value it saw. `human` (the default)
    /// prints a tree under each line; `json` adds an `explanation` field.
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1,
          default_missing_value = "human")]
    explain: Option<ExplainFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExplainFormat {
    Human,
    Json,
}

/// One line of `eval` output.
#[derive(Serialize)]
struct Line<'a> {
    flag: &'a str,
    user_id: Option<&'a str>,
    #[serde(flatten)]
    decision: DecisionFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<&'a Vec<killswitch::explain::ExplainStep>>,
}

pub(crate) fn run(args: &EvalArgs) -> u8 {
    let set = match FlagSet::load(&args.file) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            return if e.is_io() { USAGE } else { INVALID };
        }
    };
    let keys: Vec<&str> = match &args.flag {
        Some(key) => vec![key.as_str()],
        None => set.flags().iter().map(|f| f.key()).collect(),
    };
    let mut status = 0;
    if let Some(key) = &args.flag {
        if set.get(key).is_none() {
            let known: Vec<&str> = set.flags().iter().map(|f| f.key()).collect();
            let hint = closest_key(key, &known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            eprintln!("warning: no flag `{key}` in {}{hint}", args.file);
            status = INVALID;
        }
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let now = args.now.unwrap_or_else(SystemTime::now);
    let result = if let Some(n) = args.sample {
        write_sample(&mut out, &set, &keys, n, now)
    } else if let Some(source) = &args.context {
        let text = match read_arg(source) {
            Ok(text) => text,
            Err(msg) => {
                eprintln!("error: {msg}");
                return USAGE;
            }
        };
        match Context::from_json(text.trim()) {
            Ok(ctx) => write_decisions(&mut out, &set, &keys, &ctx, args.explain, now),
            Err(e) => {
                eprintln!("error: {e}");
                return INVALID;
            }
        }
    } else if let Some(path) = &args.contexts {
        match eval_lines(&mut out, &set, &keys, path, args.explain, now) {
            Ok(true) => Ok(()),
            Ok(false) => {
                status = INVALID;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => {
                eprintln!("error: cannot read `{path}`: {e}");
                return USAGE;
            }
        }
    } else {
        Ok(())
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => status,
        // The reader went away (`| head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => status,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            USAGE
        }
    }
}

/// Evaluates every line; `Ok(false)` when some line was invalid.
fn eval_lines(
    out: &mut impl Write,
    set: &FlagSet,
    keys: &[&str],
    path: &str,
    explain: Option<ExplainFormat>,
    now: SystemTime,
) -> io::Result<bool> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(std::fs::File::open(path)?))
    };
    let mut all_valid = true;
    for (i, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                eprintln!("{path}:{}: line is not UTF-8; skipped", i + 1);
                all_valid = false;
                continue;
            }
            Err(e) => return Err(e),
        };
        if line.trim().is_empty() {
            continue;
        }
        match Context::from_json(line.trim()) {
            Ok(ctx) => write_decisions(out, set, keys, &ctx, explain, now)?,
            Err(e) => {
                eprintln!("{path}:{}: {e}; skipped", i + 1);
                all_valid = false;
            }
        }
    }
    Ok(all_valid)
}

fn write_decisions(
    out: &mut impl Write,
    set: &FlagSet,
    keys: &[&str],
    ctx: &Context<'_>,
    explain: Option<ExplainFormat>,
    now: SystemTime,
) -> io::Result<()> {
    for key in keys {
        let decision: Decision = set.evaluate_at(key, ctx, now);
        let explanation = explain
            .and_then(|_| set.get(key))
            .map(|f| f.explain_at(ctx, now));
        let line = Line {
            flag: key,
            user_id: ctx.user_id(),
            decision: DecisionFields::new(decision, set.get(key)),
            explanation: match explain {
                Some(ExplainFormat::Json) => explanation.as_ref().map(|e| &e.steps),
                _ => None,
            },
        };
        serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        if let (Some(ExplainFormat::Human), Some(e)) = (explain, &explanation) {
            for text in e.to_string().lines() {
                writeln!(out, "  {text}")?;
            }
        }
    }
    Ok(())
}

/// One line of `eval --sample` output: how many synthetic users a flag
/// admits at a time.
#[derive(Serialize)]
struct SampleLine<'a> {
    flag: &'a str,
    sample: u32,
    on: u32,
    share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    percentage: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_step: Option<usize>,
}

/// Evaluates `n` synthetic users (`user-0` ...) for each flag.
fn write_sample(
    out: &mut impl Write,
    set: &FlagSet,
    keys: &[&str],
    n: u32,
    now: SystemTime,
) -> io::Result<()> {
    let ids: Vec<String> = (0..n).map(|i| format!("user-{i}")).collect();
    for key in keys {
        let mut on = 0u32;
        for id in &ids {
            let ctx = Context::new().with("user_id", id.as_str());
            on += u32::from(set.evaluate_at(key, &ctx, now).enabled);
        }
        let rollout = set.get(key).and_then(|f| f.percentage_at(now));
        let line = SampleLine {
            flag: key,
            sample: n,
            on,
            share: f64::from(on) / f64::from(n),
            percentage: rollout.map(|(p, _)| p),
            schedule_step: rollout.and_then(|(_, step)| step),
        };
        serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
