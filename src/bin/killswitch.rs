//! The `killswitch` command: validate flag configs, evaluate flags for
//! contexts, and compute buckets.

use clap::{Args, Parser, Subcommand};
use killswitch::{
    bucket, CheckReport, ConfigError, Context, Decision, Diagnostic, Flag, FlagSet, Limits, Schema,
    Severity,
};
use serde::Serialize;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::SystemTime;

const EXAMPLES: &str = "\
Examples:
  killswitch check flags.json more-flags.yaml other.toml
  killswitch eval flags.json --context '{\"user_id\": \"user_123\", \"email\": \"ana@internal.com\"}'
  killswitch eval flags.json --context @user.json --flag new_search_ui
  killswitch eval flags.json --contexts users.jsonl
  killswitch eval flags.json --context @user.json --explain
  killswitch test flags.json --cases cases.json
  killswitch watch flags.json --context @user.json
  killswitch eval rollout_plan.json --flag new_checkout --sample 10000 --now 2026-12-02T09:00:00Z
  killswitch bucket user_123 new_search_ui

Exit codes: 0 success, 1 invalid input (config, context or unknown flag), 2 usage or I/O error.";

/// Feature flags with kill switches and progressive rollout.
#[derive(Parser)]
#[command(name = "killswitch", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate config files: report every error and lint with its place.
    #[command(
        after_help = "Exit codes: 0 all valid, 1 some file invalid (or has warnings, \
with --deny-warnings), 2 usage or I/O error."
    )]
    Check(CheckArgs),
    /// Evaluate flags for a context, for every context of a JSON-lines file,
    /// or for a sample of synthetic users (`--sample`); prints one JSON
    /// object per line per flag.
    #[command(after_help = EXAMPLES)]
    Eval(EvalArgs),
    /// Print the rollout bucket (0-99) of a user for a flag.
    /// Run expected outcomes kept next to the rules: each case names a
    /// context, a flag and what it should decide.
    #[command(after_help = CASES_HELP)]
    Test(TestArgs),
    Bucket {
        /// The user id (bucketing key).
        user_id: String,
        /// The flag key.
        flag_key: String,
    },
    /// Load a config file and follow its changes: print each flag's
    /// decision for a context at every new version, again whenever a
    /// rollout schedule changes a decision, and an error line when a
    /// change is rejected (the previous version keeps serving). Ctrl-C
    /// stops (exit 0).
    Watch(WatchArgs),
}

const CASES_HELP: &str = "\
A cases file is a JSON array of cases:
  {\"name\": \"staff see it\", \"flag\": \"new_search_ui\",
   \"context\": {\"user_id\": \"u1\", \"email\": \"ana@internal.com\"},
   \"expect\": true}
`expect` is true/false (enabled), a reason name (\"deny_rule\"), or an object
with any of \"enabled\", \"reason\", \"rule\", \"prerequisite\", \"bucket\",
\"percentage\", \"schedule_step\". A case may set \"now\" (RFC 3339) to
evaluate rollout schedules as at that time.

Exit codes: 0 all cases pass, 1 a case fails or is malformed, 2 usage or I/O error.";

#[derive(Args)]
struct TestArgs {
    /// The config file (JSON, YAML or TOML, by its extension).
    #[arg(value_name = "FILE")]
    file: String,
    /// The cases file (JSON).
    #[arg(long, value_name = "CASES")]
    cases: String,
}

#[derive(Args)]
struct CheckArgs {
    /// Config files to check (JSON, YAML or TOML, by extension).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Output format: `human` (rustc-style), `json` (one object per
    /// diagnostic per line) or `github` (workflow annotations).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Colour: `auto` (when stdout is a terminal and NO_COLOR is unset),
    /// `always` or `never`.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// Check every rule against a context schema (a JSON file, whatever
    /// the configs' format; see the README).
    #[arg(long, value_name = "SCHEMA")]
    schema: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
struct EvalArgs {
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
enum ExplainFormat {
    Human,
    Json,
}

fn parse_now(text: &str) -> Result<SystemTime, String> {
    killswitch::parse_time(text).ok_or_else(|| {
        format!(
            "`{text}` is not an RFC 3339 date-time with a time zone, such as 2026-12-02T09:00:00Z"
        )
    })
}

/// Exit codes.
const INVALID: u8 = 1;
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => check(&args),
        Command::Eval(args) => eval(&args),
        Command::Test(args) => run_cases(&args),
        Command::Bucket { user_id, flag_key } => {
            println!("{}", bucket(&user_id, &flag_key));
            0
        }
        Command::Watch(args) => watch(&args),
    };
    ExitCode::from(code)
}

fn check(args: &CheckArgs) -> u8 {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let limits = Limits::default();
    let schema = match &args.schema {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Err(e) => {
                eprintln!("error: cannot read `{path}`: {e}");
                return USAGE;
            }
            Ok(text) => match Schema::from_json(&text) {
                Ok(schema) => Some(schema),
                Err(e) => {
                    for d in e.diagnostics() {
                        let mut out = String::new();
                        let _ = d.render(Some(path), &mut out);
                        eprintln!("{out}\n");
                    }
                    return INVALID;
                }
            },
        },
    };
    let mut counts = [0usize; 3];
    let mut failed_files = 0usize;
    let mut io_failed = false;
    let mut flags = 0usize;
    let mut out = String::new();
    for file in &args.files {
        let diagnostics: Vec<Diagnostic> = match std::fs::read_to_string(file) {
            Ok(text) => {
                let format = killswitch::Format::from_path(file);
                let report = CheckReport::from_text(&text, format, &limits, schema.as_ref());
                flags += report.flags().map_or(0, FlagSet::len);
                report.diagnostics().to_vec()
            }
            Err(e) => {
                io_failed = true;
                ConfigError::io(file.clone(), &e).diagnostics().to_vec()
            }
        };
        let mut file_failed = false;
        for d in diagnostics {
            let d = if args.deny_warnings && d.severity() == Severity::Warning {
                d.into_error()
            } else {
                d
            };
            let slot = match d.severity() {
                Severity::Error => 0,
                Severity::Warning => 1,
                _ => 2,
            };
            counts[slot] += 1;
            file_failed |= slot == 0;
            write_diagnostic(&mut out, &d, file, args.format, color);
        }
        failed_files += usize::from(file_failed);
    }
    let n = args.files.len();
    if args.format == Format::Human {
        out.push_str(&summary(counts, failed_files, n, flags));
        out.push('\n');
    }
    let _ = io::stdout().lock().write_all(out.as_bytes());
    if io_failed {
        USAGE
    } else if failed_files > 0 {
        INVALID
    } else {
        0
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(counts: [usize; 3], failed_files: usize, files: usize, flags: usize) -> String {
    let [errors, warnings, notes] = counts;
    let mut parts = Vec::new();
    if errors > 0 {
        parts.push(plural(errors, "error"));
    }
    if warnings > 0 {
        parts.push(plural(warnings, "warning"));
    }
    if notes > 0 {
        parts.push(plural(notes, "note"));
    }
    if errors > 0 {
        format!(
            "{} in {failed_files} of {}",
            parts.join(", "),
            plural(files, "file")
        )
    } else if parts.is_empty() {
        format!("ok: {}, {}", plural(files, "file"), plural(flags, "flag"))
    } else {
        format!(
            "ok with {}: {}, {}",
            parts.join(", "),
            plural(files, "file"),
            plural(flags, "flag")
        )
    }
}

/// One diagnostic as JSON (`--format json`).
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lint: Option<&'static str>,
    message: &'a str,
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    flag: Option<&'a str>,
    path: &'a str,
    help: Option<&'a str>,
}

fn write_diagnostic(out: &mut String, d: &Diagnostic, file: &str, format: Format, color: bool) {
    match format {
        Format::Human => {
            // Writing to a String cannot fail.
            let _ = d.render_styled(Some(file), color, out);
            out.push_str("\n\n");
        }
        Format::Json => {
            let start = d.line_column();
            let end = d.end_line_column();
            let line = JsonDiagnostic {
                severity: d.severity().as_str(),
                code: d.kind().code(),
                lint: d.kind().lint_name(),
                message: d.message(),
                file,
                line: start.map(|p| p.0),
                column: start.map(|p| p.1),
                end_line: end.map(|p| p.0),
                end_column: end.map(|p| p.1),
                flag: d.flag(),
                path: d.path(),
                help: d.help(),
            };
            if let Ok(text) = serde_json::to_string(&line) {
                out.push_str(&text);
                out.push('\n');
            }
        }
        Format::Github => {
            // Workflow commands: `::error file=..,line=..::message`; the
            // message escapes %, CR and LF, the properties also `:` and `,`.
            let level = match d.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                _ => "notice",
            };
            let mut props = format!("file={}", escape_property(file));
            if let (Some((l, c)), Some((el, ec))) = (d.line_column(), d.end_line_column()) {
                props.push_str(&format!(",line={l},col={c},endLine={el},endColumn={ec}"));
            }
            props.push_str(&format!(",title={}", escape_property(d.kind().code())));
            let mut message = d.message().to_string();
            if !d.path().is_empty() {
                message.push_str(&format!(" (in {})", d.path()));
            }
            if let Some(help) = d.help() {
                message.push_str(&format!("\nhelp: {help}"));
            }
            out.push_str(&format!("::{level} {props}::{}\n", escape_data(&message)));
        }
    }
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A decision as the command prints it: `rule` when a rule decided,
/// `bucket` whenever bucketing ran.
#[derive(Serialize)]
struct DecisionFields {
    enabled: bool,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prerequisite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    percentage: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_step: Option<usize>,
}

impl DecisionFields {
    /// The fields of a decision of `flag` (which names a prerequisite).
    fn new(d: Decision, flag: Option<&Flag>) -> Self {
        let prerequisite = d
            .reason
            .prerequisite()
            .and_then(|i| flag?.prerequisites().get(i))
            .map(|p| p.key().to_string());
        DecisionFields {
            enabled: d.enabled,
            reason: d.reason.as_str(),
            rule: d.reason.rule(),
            prerequisite,
            bucket: d.bucket,
            percentage: d.percentage,
            schedule_step: d.schedule_step,
        }
    }
}

/// One line of `eval` output.
#[derive(Serialize)]
struct Line<'a> {
    flag: &'a str,
    user_id: Option<&'a str>,
    #[serde(flatten)]
    decision: DecisionFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<&'a Vec<killswitch::ExplainStep>>,
}

fn eval(args: &EvalArgs) -> u8 {
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

/// Inline text, or the contents of the file after `@`.
fn read_arg(arg: &str) -> Result<String, String> {
    match arg.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
        }
        None => Ok(arg.to_string()),
    }
}

/// The known key most like `key`, for a hint.
fn closest_key<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = key.to_lowercase();
    known
        .iter()
        .copied()
        .find(|k| k.to_lowercase() == lower || k.replace('-', "_") == key.replace('-', "_"))
        .or_else(|| {
            known
                .iter()
                .copied()
                .find(|k| k.contains(key) || key.contains(*k))
        })
}

#[derive(Args)]
struct WatchArgs {
    /// The config file (JSON, YAML or TOML, by its extension) to follow.
    #[arg(value_name = "FILE")]
    file: String,
    /// The context: inline JSON, or @path to a JSON file.
    #[arg(long, value_name = "JSON")]
    context: String,
    /// Print only this flag (default: every flag of each version, in file
    /// order).
    #[arg(long, value_name = "KEY")]
    flag: Option<String>,
    /// Also re-read the file this often, in milliseconds, in case a file
    /// notification is missed (network file systems).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    poll_ms: u64,
    /// Start even when the file does not exist yet: every flag is off
    /// (version 0) until it appears.
    #[arg(long)]
    allow_missing: bool,
}

/// One line of `watch` output: a decision of one version.
#[derive(Serialize)]
struct WatchLine<'a> {
    version: u64,
    flag: &'a str,
    #[serde(flatten)]
    decision: DecisionFields,
}

/// One line of `watch` output: a rejected reload, while `version` serves.
#[derive(Serialize)]
struct WatchError {
    version: u64,
    error: String,
}

/// How often `watch` re-evaluates when the config has a rollout schedule.
const SCHEDULE_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// What the `watch` loop waits for.
enum WatchMsg {
    Event(killswitch::StoreEvent),
    Stop,
}

/// Follows a config file: one line per flag at each new version, one line
/// per rejected reload, until Ctrl-C (exit 0).
fn watch(args: &WatchArgs) -> u8 {
    use killswitch::{FileSource, IfMissing, Snapshot, Store, StoreEvent};
    use std::sync::mpsc;
    use std::time::Duration;

    let text = match read_arg(&args.context) {
        Ok(text) => text,
        Err(msg) => {
            eprintln!("error: {msg}");
            return USAGE;
        }
    };
    let ctx = match Context::from_json(text.trim()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e}");
            return INVALID;
        }
    };
    let (tx, rx) = mpsc::channel();
    let stop = tx.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop.send(WatchMsg::Stop);
    }) {
        eprintln!("error: cannot handle Ctrl-C: {e}");
        return USAGE;
    }
    let if_missing = if args.allow_missing {
        IfMissing::StartEmpty
    } else {
        IfMissing::Fail
    };
    let store = match Store::builder(FileSource::new(&args.file))
        .poll_interval(Duration::from_millis(args.poll_ms.max(1)))
        .if_missing(if_missing)
        .thread_name("killswitch-watch")
        .on_event(move |event: &StoreEvent| {
            let _ = tx.send(WatchMsg::Event(event.clone()));
        })
        .start()
    {
        Ok(store) => store,
        Err(e) => {
            eprintln!("{e}");
            return if e.config_error().is_some() {
                INVALID
            } else {
                USAGE
            };
        }
    };

    // Prints the decisions of a version: all of them (`last` empty), or
    // only those that changed since `last` (a schedule moved on).
    let print_version = |out: &mut dyn Write,
                         snapshot: &Snapshot,
                         last: &mut Vec<(String, Decision)>|
     -> io::Result<()> {
        let keys: Vec<&str> = match &args.flag {
            Some(key) => vec![key.as_str()],
            None => snapshot.flags().flags().iter().map(|f| f.key()).collect(),
        };
        let mut decisions = Vec::with_capacity(keys.len());
        for key in keys {
            let decision = snapshot.evaluate(key, &ctx);
            let before = last.iter().find(|(k, _)| k == key).map(|(_, d)| *d);
            if before != Some(decision) {
                let line = WatchLine {
                    version: snapshot.version(),
                    flag: key,
                    decision: DecisionFields::new(decision, snapshot.flags().get(key)),
                };
                serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            }
            decisions.push((key.to_string(), decision));
        }
        *last = decisions;
        out.flush()
    };
    let print_error = |out: &mut dyn Write, version: u64, error: String| -> io::Result<()> {
        serde_json::to_writer(&mut *out, &WatchError { version, error })
            .map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()
    };

    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = (|| -> io::Result<()> {
        let first = store.snapshot();
        let mut last = Vec::new();
        print_version(&mut out, &first, &mut last)?;
        let mut printed = first.version();
        if let Some(error) = store.status().last_error {
            print_error(&mut out, printed, error.to_string())?;
        }
        loop {
            match rx.recv_timeout(SCHEDULE_TICK) {
                Ok(WatchMsg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(WatchMsg::Event(StoreEvent::Rejected { version, error })) => {
                    print_error(&mut out, version, error.to_string())?;
                }
                Ok(WatchMsg::Event(_)) => {
                    // Print the newest version once, even if several
                    // reloads came at once.
                    let snapshot = store.snapshot();
                    if snapshot.version() > printed {
                        last.clear();
                        print_version(&mut out, &snapshot, &mut last)?;
                        printed = snapshot.version();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Time passes: a rollout schedule may have moved a
                    // decision without any change to the file.
                    let snapshot = store.snapshot();
                    // Prerequisites are flags of the same set.
                    let scheduled = snapshot.flags().flags().iter().any(|f| f.has_schedule());
                    if scheduled && snapshot.version() == printed {
                        print_version(&mut out, &snapshot, &mut last)?;
                    }
                }
            }
        }
        Ok(())
    })();
    store.shutdown();
    match result {
        Ok(()) => 0,
        // The reader went away (`| head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            USAGE
        }
    }
}

/// Runs a cases file against a config (`killswitch test`).
fn run_cases(args: &TestArgs) -> u8 {
    let set = match FlagSet::load(&args.file) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            return if e.is_io() { USAGE } else { INVALID };
        }
    };
    let text = match std::fs::read_to_string(&args.cases) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.cases);
            return USAGE;
        }
    };
    let cases: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("error: `{}` is not a JSON array of cases: {e}", args.cases);
            return INVALID;
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut out = String::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"]
            .as_str()
            .map_or_else(|| format!("case {i}"), str::to_string);
        match run_case(&set, case) {
            Ok(()) => {
                passed += 1;
                out.push_str(&format!("ok      {name}\n"));
            }
            Err(why) => {
                failed += 1;
                out.push_str(&format!("FAILED  {name}\n{why}\n"));
            }
        }
    }
    out.push_str(&format!("\n{passed} passed, {failed} failed\n"));
    let _ = io::stdout().lock().write_all(out.as_bytes());
    if failed > 0 {
        INVALID
    } else {
        0
    }
}

/// One case: `Err` explains the failure (or the malformed case).
fn run_case(set: &FlagSet, case: &serde_json::Value) -> Result<(), String> {
    let flag = case["flag"]
        .as_str()
        .ok_or("        the case has no \"flag\" string")?;
    let context_text = case
        .get("context")
        .map(serde_json::Value::to_string)
        .ok_or("        the case has no \"context\"")?;
    let ctx = Context::from_json(&context_text).map_err(|e| format!("        {e}"))?;
    let now = match case.get("now") {
        None => SystemTime::now(),
        Some(serde_json::Value::String(t)) => parse_now(t).map_err(|e| format!("        {e}"))?,
        Some(_) => return Err("        \"now\" is an RFC 3339 date-time string".into()),
    };
    let decision = DecisionFields::new(set.evaluate_at(flag, &ctx, now), set.get(flag));
    let actual = serde_json::to_value(&decision).map_err(|e| format!("        {e}"))?;
    let expect = case
        .get("expect")
        .ok_or("        the case has no \"expect\"")?;
    let wanted: Vec<(&str, serde_json::Value)> = match expect {
        serde_json::Value::Bool(b) => vec![("enabled", serde_json::Value::Bool(*b))],
        serde_json::Value::String(r) => vec![("reason", serde_json::Value::String(r.clone()))],
        serde_json::Value::Object(fields) => {
            let mut wanted = Vec::new();
            for (k, v) in fields {
                match k.as_str() {
                    "enabled" | "reason" | "rule" | "bucket" | "prerequisite" | "percentage"
                    | "schedule_step" => wanted.push((k.as_str(), v.clone())),
                    other => {
                        return Err(format!("        unknown field \"{other}\" in \"expect\""))
                    }
                }
            }
            wanted
        }
        _ => return Err("        \"expect\" is true, false, a reason or an object".into()),
    };
    let mismatched: Vec<String> = wanted
        .iter()
        .filter(|(k, v)| actual.get(*k).unwrap_or(&serde_json::Value::Null) != v)
        .map(|(k, v)| format!("{k}: expected {v}, got {}", actual[*k]))
        .collect();
    if mismatched.is_empty() {
        return Ok(());
    }
    let mut why = String::new();
    for m in &mismatched {
        why.push_str(&format!("        {m}\n"));
    }
    why.push_str(&format!("        flag:     {flag}\n"));
    why.push_str(&format!("        context:  {context_text}\n"));
    why.push_str(&format!("        decision: {actual}"));
    Err(why)
}
