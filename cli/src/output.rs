//! What the subcommands share: exit codes, the printed form of a
//! decision, and argument helpers.

use killswitch::{Decision, Flag};
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};
use std::time::SystemTime;

/// Exit codes.
pub(crate) const INVALID: u8 = 1;
pub(crate) const USAGE: u8 = 2;

/// The most bytes read of one context: `--context @path`, each line of
/// `--contexts`.
pub(crate) const MAX_CONTEXT_BYTES: usize = 1024 * 1024;

pub(crate) fn parse_now(text: &str) -> Result<SystemTime, String> {
    killswitch::parse_time(text).ok_or_else(|| {
        format!(
            "`{}` is not an RFC 3339 date-time with a time zone (years 0000 to 9999, \
             valid month, day and time), such as 2026-12-02T09:00:00Z",
            escape(text)
        )
    })
}

/// Text for a GitHub workflow command's message (`::error ...::MESSAGE`):
/// `%`, CR and LF escaped, as the runner expects.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Text for a GitHub workflow command's property (`file=...`): as
/// [`escape_data`], and `:` and `,` too.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Writes `value` as one line of JSON. I/O errors keep their kind, so
/// that a closed pipe (`| head`) can be told from a real failure.
pub(crate) fn write_json_line(
    out: &mut (impl Write + ?Sized),
    value: &impl Serialize,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// The warning for `--flag` naming no flag of `file`, with the closest
/// key as a hint.
pub(crate) fn unknown_flag_warning(key: &str, known: &[&str], file: &str) -> String {
    let hint = key_hint(key, known);
    format!(
        "warning: no flag `{}` in {}{hint}",
        escape(key),
        escape(file)
    )
}

/// Text from an input (a file, an argument) made safe to print on a
/// terminal, on one line: the library's one escaping rule
/// ([`killswitch::escape_for_terminal`]), which diagnostics use too.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    killswitch::escape_for_terminal(text)
}

/// A decision as the command prints it: `rule` when a rule decided,
/// `bucket` whenever bucketing ran.
#[derive(Serialize)]
pub(crate) struct DecisionFields {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    split_bucket: Option<u16>,
    /// The variant served: its name, or `on`/`off` for a boolean flag.
    variant: String,
    /// The variant's value as JSON, as the config writes it (`true` or
    /// `false` for a boolean flag).
    value: Box<serde_json::value::RawValue>,
}

impl DecisionFields {
    /// The fields of a decision of `flag` (which names a prerequisite).
    pub(crate) fn new(d: Decision, flag: Option<&Flag>) -> Self {
        let prerequisite = d
            .reason
            .prerequisite()
            .and_then(|i| flag?.prerequisites().get(i))
            .map(|p| p.key().to_string());
        let (variant, value) = served(d, flag);
        DecisionFields {
            split_bucket: d.split_bucket,
            variant,
            value,
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

/// The variant a decision serves and its value as raw JSON: the flag's
/// variant, or `on`/`off` and `true`/`false` for a boolean flag (and an
/// unknown one).
pub(crate) fn served(
    d: Decision,
    flag: Option<&Flag>,
) -> (String, Box<serde_json::value::RawValue>) {
    let variant = d.variant.and_then(|i| flag?.variant(i));
    let (name, json) = match variant {
        Some(v) => (v.name(), v.json()),
        None if d.enabled => ("on", "true"),
        None => ("off", "false"),
    };
    // The library writes valid JSON; `null` otherwise.
    let value = serde_json::value::RawValue::from_string(json.to_string()).unwrap_or_default();
    (name.to_string(), value)
}

/// Inline text, or the contents of the file after `@` (a regular file of
/// at most [`MAX_CONTEXT_BYTES`]).
pub(crate) fn read_arg(arg: &str) -> Result<String, String> {
    match arg.strip_prefix('@') {
        Some(path) => read_input(path, MAX_CONTEXT_BYTES),
        None => Ok(arg.to_string()),
    }
}

/// The regular file at `path`, whole, within `max_bytes`: a FIFO, a device
/// or a directory is refused without blocking. The error says which file.
pub(crate) fn read_input(path: &str, max_bytes: usize) -> Result<String, String> {
    killswitch::read_file(path, max_bytes)
        .map_err(|e| format!("cannot read `{}`: {}", escape(path), escape(&e.to_string())))
}

/// The hint for a key that names no flag: `; did you mean `...`?` with
/// the known key most like it (the engine's one "did you mean",
/// [`killswitch::closest`]), or nothing.
pub(crate) fn key_hint(key: &str, known: &[&str]) -> String {
    killswitch::closest(key, known.iter().copied())
        .map(|k| format!("; did you mean `{}`?", escape(k)))
        .unwrap_or_default()
}

/// Starts the live store on `file` as `watch` and `serve` follow it:
/// notifications plus polling every `poll_ms`, starting empty when
/// `allow_missing` and the file does not exist yet, `on_event` told of
/// every reload. A start that fails is printed, and its exit code
/// returned (`INVALID` for a bad config, `USAGE` otherwise).
pub(crate) fn follow_file(
    file: &str,
    poll_ms: u64,
    allow_missing: bool,
    thread_name: &str,
    on_event: impl Fn(&killswitch::store::StoreEvent) + Send + Sync + 'static,
) -> Result<killswitch::store::Store, u8> {
    use killswitch::store::{FileSource, IfMissing, Store};
    let if_missing = if allow_missing {
        IfMissing::StartEmpty
    } else {
        IfMissing::Fail
    };
    Store::builder(FileSource::new(file))
        .poll_interval(std::time::Duration::from_millis(poll_ms.max(1)))
        .if_missing(if_missing)
        .thread_name(thread_name)
        .on_event(on_event)
        .start()
        .map_err(|e| {
            eprintln!("{e}");
            if e.config_error().is_some() {
                INVALID
            } else {
                USAGE
            }
        })
}
