//! The `killswitch` command: validate flag configs, evaluate flags for
//! contexts, and compute buckets.

use clap::{Args, Parser, Subcommand};
use killswitch::{bucket, Context, Decision, FlagSet};
use serde::Serialize;
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  killswitch check flags.json more-flags.json
  killswitch eval flags.json --context '{\"user_id\": \"user_123\", \"email\": \"ana@internal.com\"}'
  killswitch eval flags.json --context @user.json --flag new_search_ui
  killswitch eval flags.json --contexts users.jsonl
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
    /// Validate config files: report every error with its place.
    #[command(after_help = "Exit codes: 0 all valid, 1 some file invalid, 2 usage or I/O error.")]
    Check {
        /// Config files (JSON) to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// Evaluate flags for a context, or for every context of a JSON-lines
    /// file; prints one JSON object per line per flag.
    #[command(after_help = EXAMPLES)]
    Eval(EvalArgs),
    /// Print the rollout bucket (0-99) of a user for a flag.
    Bucket {
        /// The user id (bucketing key).
        user_id: String,
        /// The flag key.
        flag_key: String,
    },
}

#[derive(Args)]
struct EvalArgs {
    /// The config file (JSON).
    #[arg(value_name = "FILE")]
    file: String,
    /// One context: inline JSON, or @path to a JSON file.
    #[arg(
        long,
        value_name = "JSON",
        conflicts_with = "contexts",
        required_unless_present = "contexts"
    )]
    context: Option<String>,
    /// A JSON-lines file of contexts, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    contexts: Option<String>,
    /// Evaluate only this flag (default: every flag, in file order).
    #[arg(long, value_name = "KEY")]
    flag: Option<String>,
}

/// Exit codes.
const INVALID: u8 = 1;
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { files } => check(&files),
        Command::Eval(args) => eval(&args),
        Command::Bucket { user_id, flag_key } => {
            println!("{}", bucket(&user_id, &flag_key));
            0
        }
    };
    ExitCode::from(code)
}

fn check(files: &[String]) -> u8 {
    let mut invalid = 0usize;
    let mut errors = 0usize;
    let mut io_failed = false;
    let mut flags = 0usize;
    let mut out = String::new();
    for file in files {
        match FlagSet::load(file) {
            Ok(set) => flags += set.len(),
            Err(e) => {
                if e.is_io() {
                    io_failed = true;
                } else {
                    invalid += 1;
                }
                errors += e.diagnostics().len();
                for d in e.diagnostics() {
                    // Writing to a String cannot fail.
                    let _ = d.render(Some(file), &mut out);
                    out.push_str("\n\n");
                }
            }
        }
    }
    let n = files.len();
    let files_word = if n == 1 { "file" } else { "files" };
    if errors == 0 {
        out.push_str(&format!("ok: {n} {files_word}, {flags} flags\n"));
    } else {
        let errors_word = if errors == 1 { "error" } else { "errors" };
        let bad = invalid + usize::from(io_failed);
        out.push_str(&format!(
            "{errors} {errors_word} in {bad} of {n} {files_word}\n"
        ));
    }
    let _ = io::stdout().lock().write_all(out.as_bytes());
    if io_failed {
        USAGE
    } else if invalid > 0 {
        INVALID
    } else {
        0
    }
}

/// One line of `eval` output.
#[derive(Serialize)]
struct Line<'a> {
    flag: &'a str,
    user_id: Option<&'a str>,
    enabled: bool,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<u8>,
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
    let result = if let Some(source) = &args.context {
        let text = match read_arg(source) {
            Ok(text) => text,
            Err(msg) => {
                eprintln!("error: {msg}");
                return USAGE;
            }
        };
        match Context::from_json(text.trim()) {
            Ok(ctx) => write_decisions(&mut out, &set, &keys, &ctx),
            Err(e) => {
                eprintln!("error: {e}");
                return INVALID;
            }
        }
    } else if let Some(path) = &args.contexts {
        match eval_lines(&mut out, &set, &keys, path) {
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
fn eval_lines(out: &mut impl Write, set: &FlagSet, keys: &[&str], path: &str) -> io::Result<bool> {
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
            Ok(ctx) => write_decisions(out, set, keys, &ctx)?,
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
) -> io::Result<()> {
    for key in keys {
        let decision: Decision = set.evaluate(key, ctx);
        let line = Line {
            flag: key,
            user_id: ctx.user_id(),
            enabled: decision.enabled,
            reason: decision.reason.as_str(),
            rule: decision.reason.rule(),
            bucket: decision.bucket,
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
