//! `killswitch history`: every version (or the newest N), each with its
//! number, time, author, message and the flags it changed.

use super::{fail, registry, rfc3339};
use crate::output::{escape, write_json_line, USAGE};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Args)]
pub(crate) struct HistoryArgs {
    /// The database (postgres://...).
    #[arg(long, value_name = "URL")]
    from: String,
    /// Output format: `human` (one line per version) or `json` (one object
    /// per line).
    #[arg(long, value_enum, default_value_t = HistoryFormat::Human)]
    format: HistoryFormat,
    /// Only the newest N versions.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HistoryFormat {
    Human,
    Json,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    version: u64,
    published_at: String,
    author: &'a str,
    message: &'a str,
    format: &'static str,
    sha256: &'a str,
    changed: &'a [String],
    valid: bool,
}

pub(crate) fn run(args: &HistoryArgs) -> u8 {
    let registry = match registry(&args.from) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let entries = match registry.history(args.limit) {
        Ok(entries) => entries,
        Err(e) => return fail(&e),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = (|| -> io::Result<()> {
        for e in &entries {
            match args.format {
                HistoryFormat::Json => write_json_line(
                    &mut out,
                    &JsonEntry {
                        version: e.number,
                        published_at: rfc3339(e.published_at),
                        author: &e.author,
                        message: &e.message,
                        format: match e.format.name() {
                            "YAML" => "yaml",
                            "TOML" => "toml",
                            _ => "json",
                        },
                        sha256: &e.sha256,
                        changed: &e.changed,
                        valid: e.valid,
                    },
                )?,
                HistoryFormat::Human => {
                    let changed = if !e.valid {
                        "invalid (not served)".to_string()
                    } else if e.changed.is_empty() {
                        "no flag changed".to_string()
                    } else {
                        format!("changed: {}", e.changed.join(", "))
                    };
                    writeln!(
                        out,
                        "{:>5}  {}  {}  {:?}  {}",
                        e.number,
                        rfc3339(e.published_at),
                        escape(&e.author),
                        escape(&e.message),
                        escape(&changed)
                    )?;
                }
            }
        }
        out.flush()
    })();
    match result {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            USAGE
        }
    }
}
