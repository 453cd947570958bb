//! `killswitch watch`: follow a config file through the live store and
//! print each new version's decisions and each rejected reload.

use crate::fleet::follow_source;
use crate::output::{
    escape, follow_file, read_arg, unknown_flag_warning, write_json_line, DecisionFields, INVALID,
    USAGE,
};
use clap::Args;
use killswitch::{Context, Decision};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Args)]
pub(crate) struct WatchArgs {
    /// The config file (JSON, YAML or TOML, by its extension) to follow.
    #[arg(
        value_name = "FILE",
        required_unless_present = "source",
        conflicts_with = "source"
    )]
    file: Option<String>,
    /// Follow the newest config version of a database (postgres://...) or
    /// a config behind a URL (https://...) instead of a file; see `serve
    /// --source`.
    #[arg(long, value_name = "URL")]
    source: Option<String>,
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

/// One line of `watch` output: after rejected reloads, the file holds the
/// config serving again (a good write of the same content), so the last
/// error no longer stands.
#[derive(Serialize)]
struct WatchRecovered {
    version: u64,
    ok: String,
}

/// How often `watch` re-evaluates when the config has a rollout schedule.
const SCHEDULE_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// What the `watch` loop waits for.
enum WatchMsg {
    Event(killswitch::store::StoreEvent),
    Stop,
}

/// Follows a config file: one line per flag at each new version, one line
/// per rejected reload, until Ctrl-C (exit 0).
pub(crate) fn run(args: &WatchArgs) -> u8 {
    use killswitch::store::{Snapshot, StoreEvent};
    use std::sync::mpsc;

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
            eprintln!("error: {}", escape(&e.to_string()));
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
    let on_event = move |event: &StoreEvent| {
        let _ = tx.send(WatchMsg::Event(event.clone()));
    };
    let (name, store) = match (&args.file, &args.source) {
        (_, Some(url)) => {
            let name = crate::fleet::redacted(url);
            let store = follow_source(
                url,
                true,
                args.poll_ms,
                args.allow_missing,
                "killswitch-watch",
                on_event,
            );
            (name, store)
        }
        (Some(file), None) => {
            let store = follow_file(
                file,
                args.poll_ms,
                args.allow_missing,
                "killswitch-watch",
                on_event,
            );
            (file.clone(), store)
        }
        (None, None) => {
            eprintln!("error: give a config FILE or --source URL");
            return USAGE;
        }
    };
    let store = match store {
        Ok(store) => store,
        Err(code) => return code,
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
                write_json_line(out, &line)?;
            }
            decisions.push((key.to_string(), decision));
        }
        *last = decisions;
        out.flush()
    };
    let print_error = |out: &mut dyn Write, version: u64, error: String| -> io::Result<()> {
        write_json_line(out, &WatchError { version, error })?;
        out.flush()
    };
    let print_recovered = |out: &mut dyn Write, version: u64| -> io::Result<()> {
        let ok = format!("the config is valid again; version {version} keeps serving");
        write_json_line(out, &WatchRecovered { version, ok })?;
        out.flush()
    };
    // `--flag` naming no flag of a version: warned as `eval` does.
    let warn_unknown_flag = |snapshot: &Snapshot| {
        if let Some(key) = &args.flag {
            let flags = snapshot.flags();
            if snapshot.version() > 0 && flags.get(key).is_none() {
                let known: Vec<&str> = flags.flags().iter().map(|f| f.key()).collect();
                eprintln!("{}", unknown_flag_warning(key, &known, &name));
            }
        }
    };

    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = (|| -> io::Result<()> {
        let first = store.snapshot();
        let mut last = Vec::new();
        warn_unknown_flag(&first);
        print_version(&mut out, &first, &mut last)?;
        let mut printed = first.version();
        // An error line is the last thing printed: a later good state must
        // say so.
        let mut error_shown = false;
        if let Some(error) = store.status().last_error {
            print_error(&mut out, printed, error.to_string())?;
            error_shown = true;
        }
        loop {
            match rx.recv_timeout(SCHEDULE_TICK) {
                Ok(WatchMsg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(WatchMsg::Event(StoreEvent::Rejected { version, error })) => {
                    print_error(&mut out, version, error.to_string())?;
                    error_shown = true;
                }
                Ok(WatchMsg::Event(_)) => {
                    // Print the newest version once, even if several
                    // reloads came at once.
                    let snapshot = store.snapshot();
                    if snapshot.version() > printed {
                        last.clear();
                        warn_unknown_flag(&snapshot);
                        print_version(&mut out, &snapshot, &mut last)?;
                        printed = snapshot.version();
                        error_shown = false;
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
            // A write that restores the config serving is no new version
            // and no event: the store's status tells that it is healthy.
            if error_shown && store.status().last_error.is_none() {
                let version = store.snapshot().version();
                if version == printed {
                    print_recovered(&mut out, version)?;
                    error_shown = false;
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
