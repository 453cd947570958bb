//! `killswitch eval`: decisions for one context, a JSON-lines stream of
//! contexts, or a sample of synthetic users.

use crate::output::{
    escape, parse_now, read_arg, unknown_flag_warning, write_json_line, DecisionFields, INVALID,
    MAX_CONTEXT_BYTES, USAGE,
};
use clap::Args;
use killswitch::{Context, Decision, FlagSet};
use serde::Serialize;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::time::SystemTime;

#[derive(Args)]
// Whichever of them is missing, the error names all three.
#[command(group(
    clap::ArgGroup::new("input")
        .required(true)
        .args(["context", "contexts", "sample"])
))]
pub(crate) struct EvalArgs {
    /// The config file (JSON, YAML or TOML, by its extension).
    #[arg(value_name = "FILE")]
    file: String,
    /// One context: inline JSON, or @path to a JSON file.
    #[arg(long, value_name = "JSON", conflicts_with = "contexts")]
    context: Option<String>,
    /// A JSON-lines file of contexts, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    contexts: Option<String>,
    /// Evaluate N synthetic users (`{"user_id": "user-0"}` ...) and print,
    /// per flag, how many are on: the share a rollout admits (and, for a
    /// flag with variants, how many got each variant).
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
            eprintln!("{}", unknown_flag_warning(key, &known, &args.file));
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
                eprintln!("error: {}", escape(&e.to_string()));
                return INVALID;
            }
        }
    } else if let Some(path) = &args.contexts {
        let mut all_valid = true;
        let result = eval_lines(
            &mut out,
            &set,
            &keys,
            path,
            args.explain,
            now,
            &mut all_valid,
        );
        if !all_valid {
            status = INVALID;
        }
        match result {
            Ok(()) => Ok(()),
            Err(LinesError::Write(e)) => Err(e),
            Err(LinesError::Read(e)) => {
                eprintln!("error: cannot read `{}`: {e}", escape(path));
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

/// Why reading `--contexts` stopped early: the input failed, or the
/// output did (a closed pipe among them).
enum LinesError {
    Read(io::Error),
    Write(io::Error),
}

/// One line of a JSON-lines input, read within a byte limit.
enum LineRead {
    /// A line (without its newline) is in the buffer.
    Line,
    /// The line was longer than the limit: its first bytes were read, the
    /// rest skipped without being kept.
    TooLong,
    /// The end of the input.
    End,
}

/// Reads the next line into `buf` (cleared first), keeping at most
/// `max_bytes` of it: a longer line is skipped up to its newline, so that
/// memory stays bounded whatever the input (even `/dev/zero`).
/// `on_too_long` is called as soon as a line is known to be too long,
/// before the rest of it is skipped.
fn read_line_within(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max_bytes: usize,
    on_too_long: impl FnOnce(),
) -> io::Result<LineRead> {
    buf.clear();
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let n = Read::take(&mut *reader, cap).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(LineRead::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(LineRead::Line);
    }
    if buf.len() <= max_bytes {
        return Ok(LineRead::Line); // the last line, without a newline
    }
    on_too_long();
    buf.clear();
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                break;
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
            }
        }
    }
    Ok(LineRead::TooLong)
}

/// How many invalid lines in a row end `--contexts`: a stream that is not
/// JSON lines at all (a binary file, `/dev/urandom`) is stopped with one
/// line instead of reported forever, while a good stream with a bad line
/// now and then runs to its end.
const MAX_BAD_LINES_IN_A_ROW: usize = 100;

/// Evaluates every line; clears `all_valid` when some line was invalid
/// (reported on standard error with its line number, and skipped). After
/// [`MAX_BAD_LINES_IN_A_ROW`] invalid lines in a row it stops.
fn eval_lines(
    out: &mut impl Write,
    set: &FlagSet,
    keys: &[&str],
    path: &str,
    explain: Option<ExplainFormat>,
    now: SystemTime,
    all_valid: &mut bool,
) -> Result<(), LinesError> {
    let mut reader: Box<dyn BufRead> = if path == "-" {
        Box::new(io::stdin().lock())
    } else {
        // Not `read_file`: a pipe (`<(...)`, a FIFO) is a fine stream of
        // contexts; each line is bounded instead.
        Box::new(io::BufReader::new(
            std::fs::File::open(path).map_err(LinesError::Read)?,
        ))
    };
    let shown = escape(path);
    let mut buf = Vec::new();
    let mut bad_in_a_row = 0;
    for number in 1.. {
        if bad_in_a_row == MAX_BAD_LINES_IN_A_ROW {
            eprintln!(
                "{shown}:{number}: stopped after {MAX_BAD_LINES_IN_A_ROW} invalid lines in a \
                 row; --contexts takes JSON lines, one context object a line"
            );
            break;
        }
        let read = read_line_within(&mut reader, &mut buf, MAX_CONTEXT_BYTES, || {
            eprintln!("{shown}:{number}: line longer than {MAX_CONTEXT_BYTES} bytes; skipped");
        });
        let problem = match read.map_err(LinesError::Read)? {
            LineRead::End => break,
            LineRead::TooLong => None,
            LineRead::Line => match std::str::from_utf8(&buf).map(str::trim) {
                Err(_) => Some("line is not UTF-8".to_string()),
                Ok("") => continue,
                Ok(line) => match Context::from_json(line) {
                    Ok(ctx) => {
                        write_decisions(out, set, keys, &ctx, explain, now)
                            .map_err(LinesError::Write)?;
                        bad_in_a_row = 0;
                        continue;
                    }
                    Err(e) => Some(escape(&e.to_string()).into_owned()),
                },
            },
        };
        if let Some(problem) = problem {
            eprintln!("{shown}:{number}: {problem}; skipped");
        }
        *all_valid = false;
        bad_in_a_row += 1;
    }
    Ok(())
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
        write_json_line(out, &line)?;
        if let (Some(ExplainFormat::Human), Some(e)) = (explain, &explanation) {
            // Each line escaped: attribute values come from the context.
            for text in e.to_string().lines() {
                writeln!(out, "  {}", escape(text))?;
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
    /// For a flag with variants: how many users got each, in the order
    /// the config declares them.
    #[serde(skip_serializing_if = "Option::is_none")]
    variants: Option<VariantCounts<'a>>,
}

/// Per-variant counts, written as a JSON object in declaration order.
struct VariantCounts<'a>(Vec<(&'a str, u32)>);

impl Serialize for VariantCounts<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (*k, *v)))
    }
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
        let flag = set.get(key);
        let mut counts = vec![0u32; flag.map_or(0, |f| f.variants().len())];
        let mut on = 0u32;
        for id in &ids {
            let ctx = Context::new().with("user_id", id.as_str());
            let d = set.evaluate_at(key, &ctx, now);
            on += u32::from(d.enabled);
            if let Some(n) = d.variant.and_then(|i| counts.get_mut(usize::from(i))) {
                *n += 1;
            }
        }
        let variants = flag
            .filter(|f| !f.variants().is_empty())
            .map(|f| VariantCounts(f.variants().iter().map(|v| v.name()).zip(counts).collect()));
        let rollout = set.get(key).and_then(|f| f.percentage_at(now));
        let line = SampleLine {
            flag: key,
            sample: n,
            on,
            share: f64::from(on) / f64::from(n),
            percentage: rollout.map(|(p, _)| p),
            schedule_step: rollout.and_then(|(_, step)| step),
            variants,
        };
        write_json_line(out, &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{read_line_within, LineRead};

    /// Reads every line of `input` with a limit of 4 bytes: the lines
    /// kept, `None` for each skipped, and how often the skip was told.
    fn lines(input: &[u8]) -> (Vec<Option<String>>, usize) {
        let mut reader = std::io::BufReader::with_capacity(3, input);
        let (mut buf, mut out, mut told) = (Vec::new(), Vec::new(), 0);
        loop {
            match read_line_within(&mut reader, &mut buf, 4, || told += 1).unwrap() {
                LineRead::End => return (out, told),
                LineRead::TooLong => out.push(None),
                LineRead::Line => out.push(Some(String::from_utf8(buf.clone()).unwrap())),
            }
        }
    }

    #[test]
    fn lines_over_the_limit_are_skipped_to_their_newline() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(lines(b""), (vec![], 0));
        assert_eq!(
            lines(b"abcd\nabcde\nab"),
            (vec![some("abcd"), None, some("ab")], 1)
        );
        // At the limit with no newline (the end), and far over it.
        assert_eq!(lines(b"abcd"), (vec![some("abcd")], 0));
        let long = format!("{}\n\nx\n", "y".repeat(1000));
        assert_eq!(lines(long.as_bytes()), (vec![None, some(""), some("x")], 1));
        assert_eq!(lines(b"abcde"), (vec![None], 1));
    }
}
