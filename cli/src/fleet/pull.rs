//! `killswitch pull`: write a stored version's config back to a file (or
//! stdout), byte for byte as published.

use super::{fail, registry};
use crate::output::USAGE;
use clap::Args;
use std::io::Write;

#[derive(Args)]
pub(crate) struct PullArgs {
    /// The version (a number, or `newest`).
    #[arg(value_name = "VERSION")]
    version: String,
    /// The database (postgres://...).
    #[arg(long, value_name = "URL")]
    from: String,
    /// The file to write (default: stdout). Its extension should match
    /// the version's format, which is told on stderr.
    #[arg(long, short, value_name = "FILE")]
    output: Option<String>,
}

pub(crate) fn run(args: &PullArgs) -> u8 {
    let number = match args.version.as_str() {
        "newest" | "latest" => None,
        n => match n.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                eprintln!("error: VERSION is a number or `newest`, not `{n}`");
                return USAGE;
            }
        },
    };
    let registry = match registry(&args.from) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let version = match number {
        Some(n) => registry.version(n),
        None => match registry.newest() {
            Ok(Some(v)) => Ok(v),
            Ok(None) => {
                let db = registry.database().name();
                eprintln!("error: no version has been published to {db} yet");
                return crate::output::INVALID;
            }
            Err(e) => Err(e),
        },
    };
    let version = match version {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, &version.text).map_err(|e| format!("{path}: {e}")),
        None => std::io::stdout()
            .lock()
            .write_all(version.text.as_bytes())
            .map_err(|e| e.to_string()),
    };
    match written {
        Ok(()) => {
            eprintln!(
                "pull: version {} ({}, by {})",
                version.number,
                version.format.name(),
                version.author
            );
            0
        }
        Err(e) => {
            eprintln!("error: cannot write version {}: {e}", version.number);
            USAGE
        }
    }
}
