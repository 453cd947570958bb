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
mod fleet;
mod output;
mod refs;
mod serve;
mod watch;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser, Subcommand};
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
  killswitch refs flags.json src/ --format github --deny-warnings
  killswitch serve flags.json --listen 127.0.0.1:8016
  killswitch publish flags.yaml --to postgres://ana@db/flags --message 'checkout to 10%'
  killswitch kill checkout_v2 --to postgres://ana@db/flags --message 'INC-42: checkout errors'
  killswitch serve --source postgres://reader@db/flags --listen 0.0.0.0:8016
  killswitch history --from postgres://ana@db/flags --limit 10

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
    /// reload and per rejected reload. SIGHUP reloads the config and the
    /// token files at once; SIGTERM or Ctrl-C stops (exit 0).
    Serve(serve::ServeArgs),
    /// Compare two configs (files or `git:REV:PATH`): what changed in each
    /// flag's definition, and which contexts the change turns on and off,
    /// with the step that now decides.
    Diff(diff::DiffArgs),
    /// Find where source trees use each flag (file, line, column), the
    /// flags nothing uses, and unknown keys passed to flag evaluation
    /// calls.
    #[command(after_help = refs::REFS_HELP)]
    Refs(refs::RefsArgs),
    /// Check a config file (exactly as `check`), then store it in a
    /// PostgreSQL database as a new version, followed by every `serve
    /// --source` replica; prints the new version number.
    Publish(fleet::publish::PublishArgs),
    /// Turn a flag's kill switch on: a new version equal to the newest with
    /// `kill_switch` set, validated and attributed; prints its number.
    Kill(fleet::kill::KillArgs),
    /// Turn a flag's kill switch off again (as `kill`); prints the new
    /// version number.
    Unkill(fleet::kill::KillArgs),
    /// List the versions of a database, newest first: number, time,
    /// author, message and the flags each changed.
    History(fleet::history::HistoryArgs),
    /// Publish an old version's config again, as a new version (history
    /// is never rewritten); prints the new number.
    Rollback(fleet::rollback::RollbackArgs),
    /// Write a stored version's config to a file (or stdout).
    Pull(fleet::pull::PullArgs),
}

/// Words tried as subcommands that are options of one: the word, and what
/// to run instead.
const OPTIONS_NOT_SUBCOMMANDS: &[(&str, &str)] = &[
    (
        "explain",
        "to see why flags decide as they do, run `killswitch eval FILE --context JSON --explain`",
    ),
    (
        "sample",
        "to see the share of users a rollout admits, run `killswitch eval FILE --sample N`",
    ),
];

/// Adds a hint to an unknown subcommand: the option it is (`explain` is
/// `eval --explain`), or the subcommand it likely misspells.
fn hint_subcommand(e: &mut clap::Error) {
    if e.kind() != ErrorKind::InvalidSubcommand {
        return;
    }
    let Some(ContextValue::String(word)) = e.get(ContextKind::InvalidSubcommand) else {
        return;
    };
    let word = word.clone();
    if let Some((_, instead)) = OPTIONS_NOT_SUBCOMMANDS.iter().find(|(w, _)| *w == word) {
        let tip = format!("`{word}` is not a subcommand: {instead}");
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
        return;
    }
    let command = Cli::command();
    let names = command.get_subcommands().map(clap::Command::get_name);
    if let Some(name) = killswitch::closest(&word, names) {
        let name = ContextValue::String(name.to_string());
        e.insert(ContextKind::SuggestedSubcommand, name);
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(mut e) => {
            hint_subcommand(&mut e);
            e.exit()
        }
    };
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
        Command::Refs(args) => refs::run(&args),
        Command::Publish(args) => fleet::publish::run(&args),
        Command::Kill(args) => fleet::kill::run(&args, true),
        Command::Unkill(args) => fleet::kill::run(&args, false),
        Command::History(args) => fleet::history::run(&args),
        Command::Rollback(args) => fleet::rollback::run(&args),
        Command::Pull(args) => fleet::pull::run(&args),
    };
    ExitCode::from(code)
}
