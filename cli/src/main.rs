//! The `killswitch` command: validate flag configs, evaluate flags for
//! contexts, follow a config file, run expected cases and compute buckets.
//!
//! One module per subcommand; `output` holds what they share (exit codes,
//! the printed form of a decision, argument helpers).

mod cases;
mod check;
mod dashboard;
mod diff;
mod eval;
mod output;
mod serve;
mod watch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
  killswitch diff git:origin/main:flags.json flags.json --contexts users.jsonl
  killswitch serve flags.json --listen 127.0.0.1:8016

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
    Check(check::CheckArgs),
    /// Evaluate flags for a context, for every context of a JSON-lines file,
    /// or for a sample of synthetic users (`--sample`); prints one JSON
    /// object per line per flag.
    #[command(after_help = EXAMPLES)]
    Eval(eval::EvalArgs),
    /// Run expected outcomes kept next to the rules: each case names a
    /// context, a flag and what it should decide.
    #[command(after_help = cases::CASES_HELP)]
    Test(cases::TestArgs),
    /// Print the rollout bucket (0-99) of a user for a flag.
    Bucket {
        /// The user id (bucketing key).
        user_id: String,
        /// The flag key.
        flag_key: String,
    },
    /// Load a config file and follow its changes: print each flag's
    /// decision for a context at every new version, again whenever a
    /// rollout schedule changes a decision, and an error line when a
    /// change is rejected (the previous version keeps serving), then an
    /// `ok` line if the file goes back to the config serving. Ctrl-C
    /// stops (exit 0).
    Watch(watch::WatchArgs),
    /// Serve the flags of a config file over HTTP with OpenFeature's OFREP
    /// (v1), following the file as `watch` does; one stderr line per
    /// reload and per rejected reload. SIGTERM or Ctrl-C stops (exit 0).
    Serve(serve::ServeArgs),
    /// Compare two configs (files or `git:REV:PATH`): what changed in each
    /// flag's definition, and which contexts the change turns on and off,
    /// with the step that now decides.
    Diff(diff::DiffArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Test(args) => cases::run(&args),
        Command::Bucket { user_id, flag_key } => {
            println!("{}", killswitch::bucket(&user_id, &flag_key));
            0
        }
        Command::Watch(args) => watch::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Diff(args) => diff::run(&args),
    };
    ExitCode::from(code)
}
