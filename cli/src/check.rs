//! `killswitch check`: every error and lint of config files, with its
//! place, as rustc-style text, JSON lines or GitHub annotations.

use crate::output::{escape, escape_data, escape_property, parse_now, read_input, INVALID, USAGE};
use clap::Args;
use killswitch::{CheckReport, ConfigError, Diagnostic, FlagSet, Limits, Schema, Severity};
use serde::Serialize;
use std::io::{self, IsTerminal, Write};
use std::time::SystemTime;

#[derive(Args)]
pub(crate) struct CheckArgs {
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
    /// Lint expiry (`expires`) as at this time (RFC 3339 with a time
    /// zone, such as 2026-12-02T09:00:00Z). Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    now: Option<SystemTime>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

impl CheckArgs {
    /// `killswitch check FILE` with the defaults, colourless (what
    /// `publish` runs first).
    pub(crate) fn plain(file: &str) -> CheckArgs {
        CheckArgs {
            files: vec![file.to_string()],
            format: Format::Human,
            color: Color::Never,
            deny_warnings: false,
            schema: None,
            now: None,
        }
    }
}

pub(crate) fn run(args: &CheckArgs) -> u8 {
    let (code, out) = report(args);
    let _ = io::stdout().lock().write_all(out.as_bytes());
    code
}

/// What `check` prints, and its exit code.
pub(crate) fn report(args: &CheckArgs) -> (u8, String) {
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
        Some(path) => match read_input(path, limits.max_config_bytes) {
            Err(msg) => {
                eprintln!("error: {msg}");
                return (USAGE, String::new());
            }
            Ok(text) => match Schema::from_json(&text) {
                Ok(schema) => Some(schema),
                Err(e) => {
                    for d in e.diagnostics() {
                        let mut out = String::new();
                        let _ = d.render(Some(path), &mut out);
                        eprintln!("{out}\n");
                    }
                    return (INVALID, String::new());
                }
            },
        },
    };
    let now = args.now.unwrap_or_else(SystemTime::now);
    let mut counts = [0usize; 3];
    let mut failed_files = 0usize;
    let mut io_failed = false;
    let mut flags = 0usize;
    let mut out = String::new();
    for file in &args.files {
        // Bounded, and only a regular file: `/dev/zero` or a FIFO is
        // refused at once.
        let read = CheckReport::from_file_at(file, &limits, schema.as_ref(), now);
        let diagnostics: Vec<Diagnostic> = match read {
            Ok(report) => {
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
    let code = if io_failed {
        USAGE
    } else if failed_files > 0 {
        INVALID
    } else {
        0
    };
    (code, out)
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
            let mut props = format!("file={}", escape_property(&escape(file)));
            if let (Some((l, c)), Some((el, ec))) = (d.line_column(), d.end_line_column()) {
                props.push_str(&format!(",line={l},col={c},endLine={el},endColumn={ec}"));
            }
            props.push_str(&format!(",title={}", escape_property(d.kind().code())));
            // The pieces from the file escaped; the newline before `help`
            // is ours.
            let mut message = escape(d.message()).into_owned();
            if !d.path().is_empty() {
                message.push_str(&format!(" (in {})", escape(d.path())));
            }
            if let Some(help) = d.help() {
                message.push_str(&format!("\nhelp: {}", escape(help)));
            }
            out.push_str(&format!("::{level} {props}::{}\n", escape_data(&message)));
        }
    }
}
