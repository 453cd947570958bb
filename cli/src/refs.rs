//! `killswitch refs`: where source trees use each flag of a config, the
//! flags nothing uses, and the keys that flag evaluation calls pass but
//! the config does not have.
//!
//! The walk is `ignore`'s (ripgrep's: `.gitignore`, `.ignore` and hidden
//! files honoured, directories read in parallel); every key is looked for
//! in one pass over each file with `aho-corasick`. Only files that hold a
//! key or a call name are lexed, to tell string literals and comments
//! (where a key is a reference) from code (where a call name is a call).

use crate::check::Format;
use crate::output::{escape, escape_data, escape_property, INVALID, USAGE};
use aho_corasick::AhoCorasick;
use clap::Args;
use killswitch::FlagSet;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Args)]
pub(crate) struct RefsArgs {
    /// The config whose flags are looked for (JSON, YAML or TOML, by
    /// extension).
    #[arg(value_name = "CONFIG")]
    config: String,
    /// Files and directories to scan. Source files only (by extension:
    /// TypeScript and JavaScript, Python, Go, Java, Kotlin, Rust, C, C++,
    /// C#, Swift, PHP, Ruby, shell); `.gitignore`d, hidden, binary and
    /// generated files are skipped, and so is the config itself.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// Also check the first argument of calls to this function (as many
    /// times as needed): `--call isEnabled`.
    #[arg(long = "call", value_name = "NAME")]
    calls: Vec<String>,
    /// Output format: `human`, `json` (one object per line) or `github`
    /// (workflow annotations for unknown keys and unused flags).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail (exit 1) when a flag has no reference.
    #[arg(long)]
    deny_warnings: bool,
}

pub(crate) const REFS_HELP: &str = "\
A reference is a flag key as a whole token (case-sensitive) in a string
literal or a comment. A string literal passed to an OpenFeature evaluation
call (getBooleanValue, get_string_value, GetObjectDetails, Go's
BooleanValue(ctx, KEY, ...), ...), to our bindings' `.evaluate(KEY, ...)`
or to a `--call` function must be a key of the config.

Exit codes: 0 every key used is known, 1 an unknown key is used (or, with
--deny-warnings, a flag has no reference) or the config is invalid, 2 usage
or unreadable input.";

/// Files larger than this are data or generated, not code: skipped.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// How far into a file a binary (NUL) or generated marker is looked for.
const HEAD_BYTES: usize = 8 * 1024;

/// The most bytes between a call's name and its key (generics, a first
/// argument): past that, the call is not checked.
const MAX_CALL_GAP: usize = 512;

/// How a language writes comments and string literals.
#[derive(Clone, Copy)]
struct Syntax {
    /// `//`, `#`.
    line_comments: &'static [&'static [u8]],
    /// `/* ... */`.
    block_comments: bool,
    /// The quotes that open a string on one line (`"`, `'`).
    quotes: &'static [u8],
    /// Whether a backtick opens a string that may span lines (JavaScript
    /// templates, Go raw strings).
    backtick: bool,
    /// Whether `"""` and `'''` open strings that span lines.
    triple: bool,
    /// Whether `'` is a character literal or a lifetime (C, Java, Go,
    /// Rust), not a string.
    char_quote: bool,
    /// Whether `r"..."` and `r#"..."#` are raw strings (Rust).
    raw_strings: bool,
}

const C_LIKE: Syntax = Syntax {
    line_comments: &[b"//"],
    block_comments: true,
    quotes: b"\"",
    backtick: false,
    triple: false,
    char_quote: true,
    raw_strings: false,
};

/// The syntax of a source file by its extension; `None` for files that
/// are not code.
fn syntax_of(path: &Path) -> Option<Syntax> {
    let ext = path.extension()?.to_str()?;
    Some(match ext {
        "ts" | "tsx" | "mts" | "cts" | "js" | "jsx" | "mjs" | "cjs" | "vue" | "svelte" => Syntax {
            quotes: b"\"'",
            backtick: true,
            char_quote: false,
            ..C_LIKE
        },
        "go" => Syntax {
            backtick: true,
            ..C_LIKE
        },
        "java" | "kt" | "kts" | "scala" | "groovy" | "swift" => Syntax {
            triple: true,
            ..C_LIKE
        },
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "cs" | "m" | "mm" => C_LIKE,
        "rs" => Syntax {
            raw_strings: true,
            ..C_LIKE
        },
        "dart" => Syntax {
            quotes: b"\"'",
            triple: true,
            char_quote: false,
            ..C_LIKE
        },
        "php" => Syntax {
            line_comments: &[b"//", b"#"],
            quotes: b"\"'",
            char_quote: false,
            ..C_LIKE
        },
        "py" | "pyi" => Syntax {
            line_comments: &[b"#"],
            block_comments: false,
            quotes: b"\"'",
            backtick: false,
            triple: true,
            char_quote: false,
            raw_strings: false,
        },
        "rb" | "sh" | "bash" | "zsh" | "ex" | "exs" => Syntax {
            line_comments: &[b"#"],
            block_comments: false,
            quotes: b"\"'",
            backtick: false,
            triple: false,
            char_quote: false,
            raw_strings: false,
        },
        _ => return None,
    })
}

/// What a region of a file is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Region {
    Str,
    Comment,
}

/// The string literals and comments of `text`, in order, as byte ranges
/// (a string's range includes its quotes). A quick lexer: good enough to
/// tell a literal from code, never an error on odd input.
fn regions(text: &[u8], syntax: Syntax) -> Vec<(usize, usize, Region)> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = text.len();
    let at = |i: usize, s: &[u8]| text.get(i..i + s.len()) == Some(s);
    while i < n {
        let c = text[i];
        if let Some(prefix) = syntax.line_comments.iter().find(|p| at(i, p)) {
            let end = memchr_from(text, b'\n', i + prefix.len());
            out.push((i, end, Region::Comment));
            i = end;
        } else if syntax.block_comments && at(i, b"/*") {
            let end = find_from(text, b"*/", i + 2).map_or(n, |e| e + 2);
            out.push((i, end, Region::Comment));
            i = end;
        } else if syntax.triple && (at(i, b"\"\"\"") || at(i, b"'''")) {
            let close = &text[i..i + 3];
            let end = find_from(text, close, i + 3).map_or(n, |e| e + 3);
            out.push((i, end, Region::Str));
            i = end;
        } else if syntax.raw_strings && c == b'r' && !word_byte_before(text, i) {
            let hashes = text[i + 1..].iter().take_while(|b| **b == b'#').count();
            if text.get(i + 1 + hashes) == Some(&b'"') {
                let mut close = vec![b'"'];
                close.extend(std::iter::repeat_n(b'#', hashes));
                let from = i + 2 + hashes;
                let end = find_from(text, &close, from).map_or(n, |e| e + close.len());
                out.push((i, end, Region::Str));
                i = end;
            } else {
                i += 1;
            }
        } else if syntax.backtick && c == b'`' {
            let end = string_end(text, i + 1, b'`', true);
            out.push((i, end, Region::Str));
            i = end;
        } else if syntax.quotes.contains(&c) {
            let end = string_end(text, i + 1, c, false);
            out.push((i, end, Region::Str));
            i = end;
        } else if syntax.char_quote && c == b'\'' {
            i = char_literal_end(text, i);
        } else {
            i += 1;
        }
    }
    out
}

/// The end (past the closing quote) of a string opened before `from`;
/// a line break ends an unclosed one-line string.
fn string_end(text: &[u8], mut i: usize, quote: u8, multiline: bool) -> usize {
    while let Some(&b) = text.get(i) {
        match b {
            b'\\' => i += 2,
            b'\n' if !multiline => return i,
            _ if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// Past a character literal (`'a'`, `'\n'`, `'é'`) at `i`, or past the
/// quote alone for a Rust lifetime (`'a`).
fn char_literal_end(text: &[u8], i: usize) -> usize {
    if text.get(i + 1) == Some(&b'\\') {
        // An escape: the closing quote is near.
        return text
            .iter()
            .skip(i + 2)
            .take(12)
            .position(|b| *b == b'\'')
            .map_or(i + 1, |p| i + 3 + p);
    }
    let width = text.get(i + 1).map_or(1, |b| utf8_width(*b));
    if text.get(i + 1 + width) == Some(&b'\'') {
        i + 2 + width
    } else {
        i + 1
    }
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn memchr_from(text: &[u8], byte: u8, from: usize) -> usize {
    text.get(from..)
        .and_then(|rest| rest.iter().position(|b| *b == byte))
        .map_or(text.len(), |p| from + p)
}

fn find_from(text: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    text.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The character before byte `i` (which is on a character boundary).
fn char_before(text: &[u8], i: usize) -> Option<char> {
    let start = i.saturating_sub(4);
    let head = text.get(start..i)?;
    (0..head.len())
        .filter_map(|k| std::str::from_utf8(&head[k..]).ok())
        .find(|s| s.chars().count() == 1)
        .and_then(|s| s.chars().next())
}

/// The character at byte `i`.
fn char_at(text: &[u8], i: usize) -> Option<char> {
    let width = utf8_width(*text.get(i)?);
    let bytes = text.get(i..i + width)?;
    std::str::from_utf8(bytes).ok()?.chars().next()
}

/// A character that continues a flag key or a word: a letter, a digit,
/// `_` or `-`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn word_byte_before(text: &[u8], i: usize) -> bool {
    char_before(text, i).is_some_and(|c| is_word(c) || c == '$')
}

/// Whether `text[start..end]` is a whole token: not inside a longer word,
/// nor a part of a dotted name (`config.beta`, `beta.enabled`); a `.` that
/// ends a sentence is fine.
fn whole_token(text: &[u8], start: usize, end: usize) -> bool {
    let before = char_before(text, start);
    let after = char_at(text, end);
    let word = |c: Option<char>| c.is_some_and(is_word);
    if word(before) || word(after) {
        return false;
    }
    if before == Some('.') && word(char_before(text, start - 1)) {
        return false;
    }
    !(after == Some('.') && word(char_at(text, end + 1)))
}

/// A call whose string argument is a flag key: its name, and which
/// argument the key is (Go's OpenFeature SDK passes a context first).
#[derive(Debug, Clone)]
struct CallName {
    name: String,
    argument: usize,
    /// Whether it counts only as a method (`.evaluate(`), since the bare
    /// name is common.
    method_only: bool,
}

/// OpenFeature's evaluation calls in every SDK's spelling, our bindings'
/// `evaluate`, and the user's `--call` names.
fn call_names(extra: &[String]) -> Vec<CallName> {
    const TYPES: &[&str] = &[
        "Boolean", "Bool", "String", "Number", "Integer", "Int", "Float", "Double", "Object",
        "Struct",
    ];
    let mut names = Vec::new();
    let mut add = |name: String, argument: usize| {
        names.push(CallName {
            name,
            argument,
            method_only: false,
        });
    };
    for t in TYPES {
        let lower = t.to_lowercase();
        for (kind, snake) in [("Value", "value"), ("Details", "details")] {
            add(format!("get{t}{kind}"), 0);
            add(format!("get_{lower}_{snake}"), 0);
            add(format!("Get{t}{kind}"), 0);
            add(format!("Get{t}{kind}Async"), 0);
        }
        // Go: client.BooleanValue(ctx, "key", false, evalCtx).
        add(format!("{t}Value"), 1);
        add(format!("{t}ValueDetails"), 1);
    }
    for name in extra {
        add(name.clone(), 0);
    }
    names.push(CallName {
        name: "evaluate".into(),
        argument: 0,
        method_only: true,
    });
    names
}

/// Where a key was found.
#[derive(Debug, Clone)]
struct Hit {
    file: usize,
    line: usize,
    column: usize,
    region: Region,
}

/// A string passed to an evaluation call that is no flag of the config.
#[derive(Debug, Clone)]
struct Unknown {
    key: String,
    call: String,
    file: usize,
    line: usize,
    column: usize,
    end_column: usize,
}

/// What one file gave.
#[derive(Default)]
struct Found {
    /// `(flag index, hit)`.
    hits: Vec<(usize, Hit)>,
    unknown: Vec<Unknown>,
}

/// The search: one automaton for every key and call name.
struct Searcher {
    automaton: AhoCorasick,
    keys: Vec<String>,
    calls: Vec<CallName>,
}

impl Searcher {
    fn new(keys: Vec<String>, calls: Vec<CallName>) -> Result<Searcher, String> {
        let patterns = keys
            .iter()
            .map(String::as_str)
            .chain(calls.iter().map(|c| c.name.as_str()));
        let automaton = AhoCorasick::new(patterns).map_err(|e| e.to_string())?;
        Ok(Searcher {
            automaton,
            keys,
            calls,
        })
    }

    /// The references and unknown keys of one file's text.
    fn search(&self, text: &[u8], syntax: Syntax, file: usize) -> Found {
        let mut found = Found::default();
        let mut candidates = self.automaton.find_overlapping_iter(text).peekable();
        if candidates.peek().is_none() {
            return found;
        }
        let regions = regions(text, syntax);
        let lines = LineIndex::new(text);
        let region_at = |offset: usize| {
            let i = regions.partition_point(|r| r.1 <= offset);
            regions.get(i).filter(|r| r.0 <= offset).map(|r| (r.1, r.2))
        };
        for m in candidates {
            let (start, end) = (m.start(), m.end());
            let id = m.pattern().as_usize();
            if let Some(call) = id
                .checked_sub(self.keys.len())
                .and_then(|c| self.calls.get(c))
            {
                if region_at(start).is_some() {
                    continue; // a name in a string or a comment is no call
                }
                let Some((key_start, key)) = call_argument(text, start, end, call) else {
                    continue;
                };
                if self.keys.iter().any(|k| k.as_bytes() == key) {
                    continue;
                }
                let (line, column) = lines.position(text, key_start);
                let width = String::from_utf8_lossy(key).chars().count();
                found.unknown.push(Unknown {
                    key: String::from_utf8_lossy(key).into_owned(),
                    call: call.name.clone(),
                    file,
                    line,
                    column,
                    end_column: column + width,
                });
                continue;
            }
            let Some((region_end, region)) = region_at(start) else {
                continue;
            };
            if end > region_end || !whole_token(text, start, end) {
                continue;
            }
            let (line, column) = lines.position(text, start);
            found.hits.push((
                id,
                Hit {
                    file,
                    line,
                    column,
                    region,
                },
            ));
        }
        found
    }
}

/// The string literal that is argument `call.argument` of the call whose
/// name is `text[start..end]`: the offset of its first character and its
/// content. `None` when it is not a call, or the argument is not one
/// plain string literal (a variable, a template with `${}`, a
/// concatenation).
fn call_argument<'t>(
    text: &'t [u8],
    start: usize,
    end: usize,
    call: &CallName,
) -> Option<(usize, &'t [u8])> {
    let before = char_before(text, start);
    if before.is_some_and(|c| is_word(c) || c == '$') {
        return None;
    }
    if call.method_only && before != Some('.') {
        return None;
    }
    let limit = (end + MAX_CALL_GAP).min(text.len());
    let mut i = skip_space(text, end);
    // Type arguments: `getObjectValue<Settings>(`, `get_struct_value::<T>(`.
    if text.get(i..i + 2) == Some(b"::") {
        i = skip_space(text, i + 2);
    }
    if text.get(i) == Some(&b'<') {
        let mut depth = 0usize;
        while i < limit {
            match text[i] {
                b'<' => depth += 1,
                b'>' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b'(' | b';' => return None,
                _ => {}
            }
            i += 1;
        }
        i = skip_space(text, i + 1);
    }
    if text.get(i) != Some(&b'(') {
        return None;
    }
    i = skip_space(text, i + 1);
    for _ in 0..call.argument {
        i = skip_space(text, skip_argument(text, i, limit)? + 1);
    }
    let quote = *text.get(i)?;
    if !matches!(quote, b'"' | b'\'' | b'`') {
        return None;
    }
    let content = i + 1;
    let close = string_end(text, content, quote, quote == b'`');
    if close > text.len() || text.get(close - 1) != Some(&quote) || close == content {
        return None;
    }
    let key = &text[content..close - 1];
    if key.is_empty()
        || key.contains(&b'\\')
        || key.contains(&b'\n')
        || (quote == b'`' && find_from(key, b"${", 0).is_some())
    {
        return None;
    }
    // The whole argument: followed by `,` or `)`, not `+ suffix`.
    let next = skip_space(text, close);
    matches!(text.get(next), Some(b',' | b')')).then_some((content, key))
}

/// The offset of the `,` that ends the argument starting at `i`.
fn skip_argument(text: &[u8], mut i: usize, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < limit {
        match text[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
            b',' if depth == 0 => return Some(i),
            q @ (b'"' | b'\'' | b'`') => {
                i = string_end(text, i + 1, q, q == b'`');
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_space(text: &[u8], mut i: usize) -> usize {
    while text.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Line starts, for 1-based lines and columns in characters.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex(starts)
    }

    fn position(&self, text: &[u8], offset: usize) -> (usize, usize) {
        let line = self.0.partition_point(|s| *s <= offset);
        let start = self.0.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let column = text
            .get(start..offset)
            .map_or(0, |s| s.iter().filter(|b| (**b & 0xC0) != 0x80).count());
        (line, column + 1)
    }
}

/// Whether a file says it is generated (by its name or its first bytes).
fn is_generated(path: &Path, head: &[u8]) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let by_name = [
        ".min.js",
        ".min.mjs",
        ".pb.go",
        "_pb2.py",
        "_pb2_grpc.py",
        ".g.dart",
        ".designer.cs",
    ]
    .iter()
    .any(|s| name.ends_with(s))
        || name.contains(".generated.");
    by_name
        || find_from(head, b"@generated", 0).is_some()
        || find_from(head, b"<auto-generated", 0).is_some()
        || (find_from(head, b"Code generated", 0).is_some()
            && find_from(head, b"DO NOT EDIT", 0).is_some())
}

/// Everything the walk gave.
#[derive(Default)]
struct Scan {
    /// Files scanned, by index.
    files: Vec<PathBuf>,
    found: Vec<Found>,
    skipped: usize,
    errors: Vec<String>,
}

/// Walks `paths` in parallel and searches every source file.
fn scan(paths: &[String], config: &Path, searcher: &Searcher) -> Scan {
    let Some((first, rest)) = paths.split_first() else {
        return Scan::default();
    };
    let mut walk = ignore::WalkBuilder::new(first);
    for p in rest {
        walk.add(p);
    }
    // `.gitignore` counts even outside a git repository (a tarball, a
    // fresh checkout without `.git`).
    walk.require_git(false);
    let config = config.canonicalize().ok();
    let config_name = config
        .as_ref()
        .and_then(|c| c.file_name().map(ToOwned::to_owned));
    let scan = Mutex::new(Scan::default());
    let record = |f: &dyn Fn(&mut Scan)| {
        if let Ok(mut s) = scan.lock() {
            f(&mut s);
        }
    };
    walk.build_parallel().run(|| {
        Box::new(|entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    record(&|s| s.errors.push(e.to_string()));
                    return ignore::WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let path = entry.path();
            let Some(syntax) = syntax_of(path) else {
                return ignore::WalkState::Continue;
            };
            if config_name.as_deref() == path.file_name() && path.canonicalize().ok() == config {
                return ignore::WalkState::Continue;
            }
            if entry.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
                record(&|s| s.skipped += 1);
                return ignore::WalkState::Continue;
            }
            let text = match std::fs::read(path) {
                Ok(text) => text,
                Err(e) => {
                    let message = format!("{}: {e}", path.display());
                    record(&|s| s.errors.push(message.clone()));
                    return ignore::WalkState::Continue;
                }
            };
            let head = &text[..text.len().min(HEAD_BYTES)];
            if head.contains(&0) || is_generated(path, head) {
                record(&|s| s.skipped += 1);
                return ignore::WalkState::Continue;
            }
            if let Ok(mut s) = scan.lock() {
                let index = s.files.len();
                s.files.push(path.to_path_buf());
                // Searched without the lock, so that threads search at once.
                drop(s);
                let found = searcher.search(&text, syntax, index);
                if let Ok(mut s) = scan.lock() {
                    s.found.push(found);
                }
            }
            ignore::WalkState::Continue
        })
    });
    scan.into_inner().unwrap_or_default()
}

/// One line of `--format json`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonLine<'a> {
    Reference {
        flag: &'a str,
        file: String,
        line: usize,
        column: usize,
        #[serde(rename = "in")]
        within: &'static str,
    },
    Unreferenced {
        severity: &'static str,
        flag: &'a str,
        file: &'a str,
    },
    UnknownKey {
        severity: &'static str,
        key: &'a str,
        call: &'a str,
        file: String,
        line: usize,
        column: usize,
        end_column: usize,
        help: Option<String>,
    },
    Summary {
        files: usize,
        skipped: usize,
        flags: usize,
        references: usize,
        unreferenced: usize,
        unknown_keys: usize,
    },
}

pub(crate) fn run(args: &RefsArgs) -> u8 {
    for p in &args.paths {
        if let Err(e) = std::fs::metadata(p) {
            eprintln!(
                "error: cannot read `{}`: {}",
                escape(p),
                escape(&e.to_string())
            );
            return USAGE;
        }
    }
    let flags = match FlagSet::load(&args.config) {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("{e}");
            return if e.is_io() { USAGE } else { INVALID };
        }
    };
    let keys: Vec<String> = flags.flags().iter().map(|f| f.key().to_string()).collect();
    let searcher = match Searcher::new(keys, call_names(&args.calls)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", escape(&e));
            return USAGE;
        }
    };
    let scan = scan(&args.paths, Path::new(&args.config), &searcher);
    let (out, failed) = render(args, &searcher, &scan);
    let _ = io::stdout().lock().write_all(out.as_bytes());
    for e in &scan.errors {
        eprintln!("error: {}", escape(e));
    }
    if !scan.errors.is_empty() {
        USAGE
    } else if failed {
        INVALID
    } else {
        0
    }
}

/// The report in the chosen format, and whether it fails the run.
fn render(args: &RefsArgs, searcher: &Searcher, scan: &Scan) -> (String, bool) {
    let keys = &searcher.keys;
    // `./web/app.ts` is written `web/app.ts`, as annotations expect.
    let name = |file: usize| {
        scan.files
            .get(file)
            .map(|p| p.strip_prefix(".").unwrap_or(p).display().to_string())
            .unwrap_or_default()
    };
    // Hits by flag, each flag's in file then position order (by path).
    let mut by_flag: Vec<Vec<&Hit>> = vec![Vec::new(); keys.len()];
    let mut unknown: Vec<&Unknown> = Vec::new();
    for found in &scan.found {
        for (flag, hit) in &found.hits {
            if let Some(list) = by_flag.get_mut(*flag) {
                list.push(hit);
            }
        }
        unknown.extend(&found.unknown);
    }
    let order = |file: usize, line: usize, column: usize| (scan.files.get(file), line, column);
    for list in &mut by_flag {
        list.sort_by(|a, b| order(a.file, a.line, a.column).cmp(&order(b.file, b.line, b.column)));
    }
    unknown.sort_by(|a, b| order(a.file, a.line, a.column).cmp(&order(b.file, b.line, b.column)));
    let unreferenced = by_flag.iter().filter(|l| l.is_empty()).count();
    let references: usize = by_flag.iter().map(Vec::len).sum();
    let level = if args.deny_warnings {
        "error"
    } else {
        "warning"
    };
    let known: Vec<&str> = keys.iter().map(String::as_str).collect();
    // One "did you mean" per distinct unknown key: a tree may repeat one
    // typo a thousand times, and each search compares it with every key.
    let mut suggestions: std::collections::HashMap<&str, Option<&str>> =
        std::collections::HashMap::new();
    for u in &unknown {
        suggestions
            .entry(u.key.as_str())
            .or_insert_with(|| killswitch::closest(&u.key, known.iter().copied()));
    }
    let suggestion = |key: &str| suggestions.get(key).copied().flatten();
    let mut out = String::new();
    match args.format {
        Format::Human => {
            for (key, hits) in keys.iter().zip(&by_flag) {
                let count = match hits.len() {
                    0 => "no reference".to_string(),
                    1 => "1 reference".to_string(),
                    n => format!("{n} references"),
                };
                let _ = writeln!(out, "{}: {count}", escape(key));
                for hit in hits {
                    let within = if hit.region == Region::Comment {
                        " (comment)"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "  {}:{}:{}{within}",
                        escape(&name(hit.file)),
                        hit.line,
                        hit.column
                    );
                }
            }
            for key in keys
                .iter()
                .zip(&by_flag)
                .filter(|(_, h)| h.is_empty())
                .map(|(k, _)| k)
            {
                let _ = writeln!(
                    out,
                    "\n{level}: flag \"{}\" has no reference in the code\n --> {}\n  = help: remove it from the config if it is retired",
                    escape(key),
                    escape(&args.config)
                );
            }
            for u in &unknown {
                let _ = write!(
                    out,
                    "\nerror: unknown flag key \"{}\" in a call to {}\n --> {}:{}:{}\n",
                    escape(&u.key),
                    escape(&u.call),
                    escape(&name(u.file)),
                    u.line,
                    u.column
                );
                match suggestion(&u.key) {
                    Some(g) => {
                        let _ = writeln!(out, "  = help: did you mean \"{}\"?", escape(g));
                    }
                    None => {
                        let _ =
                            writeln!(out, "  = help: {} has no such flag", escape(&args.config));
                    }
                }
            }
            let _ = writeln!(
                out,
                "\n{} in {} scanned ({} skipped): {}, {} with no reference, {}",
                plural(keys.len(), "flag"),
                plural(scan.files.len(), "file"),
                scan.skipped,
                plural(references, "reference"),
                unreferenced,
                plural(unknown.len(), "unknown key"),
            );
        }
        Format::Json => {
            let mut line = |value: &JsonLine<'_>| {
                if let Ok(text) = serde_json::to_string(value) {
                    out.push_str(&text);
                    out.push('\n');
                }
            };
            for (key, hits) in keys.iter().zip(&by_flag) {
                for hit in hits {
                    line(&JsonLine::Reference {
                        flag: key,
                        file: name(hit.file),
                        line: hit.line,
                        column: hit.column,
                        within: if hit.region == Region::Comment {
                            "comment"
                        } else {
                            "string"
                        },
                    });
                }
                if hits.is_empty() {
                    line(&JsonLine::Unreferenced {
                        severity: level,
                        flag: key,
                        file: &args.config,
                    });
                }
            }
            for u in &unknown {
                line(&JsonLine::UnknownKey {
                    severity: "error",
                    key: &u.key,
                    call: &u.call,
                    file: name(u.file),
                    line: u.line,
                    column: u.column,
                    end_column: u.end_column,
                    help: suggestion(&u.key).map(|g| format!("did you mean \"{g}\"?")),
                });
            }
            line(&JsonLine::Summary {
                files: scan.files.len(),
                skipped: scan.skipped,
                flags: keys.len(),
                references,
                unreferenced,
                unknown_keys: unknown.len(),
            });
        }
        Format::Github => {
            for key in keys
                .iter()
                .zip(&by_flag)
                .filter(|(_, h)| h.is_empty())
                .map(|(k, _)| k)
            {
                let message = format!("flag \"{key}\" has no reference in the code");
                let _ = writeln!(
                    out,
                    "::{level} file={},title=unreferenced flag::{}",
                    escape_property(&escape(&args.config)),
                    escape_data(&escape(&message))
                );
            }
            for u in &unknown {
                // The pieces from the files escaped; the newline before
                // `help` is ours.
                let mut message = format!(
                    "unknown flag key \"{}\" in a call to {}",
                    escape(&u.key),
                    escape(&u.call)
                );
                if let Some(g) = suggestion(&u.key) {
                    let _ = write!(message, "\nhelp: did you mean \"{}\"?", escape(g));
                }
                let _ = writeln!(
                    out,
                    "::error file={},line={},col={},endColumn={},title=unknown flag key::{}",
                    escape_property(&escape(&name(u.file))),
                    u.line,
                    u.column,
                    u.end_column,
                    escape_data(&message)
                );
            }
        }
    }
    let failed = !unknown.is_empty() || (args.deny_warnings && unreferenced > 0);
    (out, failed)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, ext: &str) -> Vec<(String, Region)> {
        let syntax = syntax_of(Path::new(&format!("f.{ext}"))).unwrap_or(C_LIKE);
        regions(text.as_bytes(), syntax)
            .into_iter()
            .map(|(s, e, r)| (text[s..e].to_string(), r))
            .collect()
    }

    #[test]
    fn lexes_strings_and_comments_per_language() {
        let rust = "fn f<'a>(x: &'a str) -> char { let c = '\"'; r#\"raw \"q\"\"#; \"s\" } // end";
        assert_eq!(
            kinds(rust, "rs"),
            vec![
                ("r#\"raw \"q\"\"#".to_string(), Region::Str),
                ("\"s\"".to_string(), Region::Str),
                ("// end".to_string(), Region::Comment),
            ]
        );
        let python = "x = '''a\n\"b\"''' # c\ny = \"d\"";
        assert_eq!(
            kinds(python, "py"),
            vec![
                ("'''a\n\"b\"'''".to_string(), Region::Str),
                ("# c".to_string(), Region::Comment),
                ("\"d\"".to_string(), Region::Str),
            ]
        );
        let ts = "a(`x\n${y}`) /* b\n */ 'c\\'d'";
        assert_eq!(kinds(ts, "ts").len(), 3);
        assert_eq!(kinds(ts, "ts")[2].0, "'c\\'d'");
    }

    #[test]
    fn tokens_are_whole() {
        let t = |s: &str, key: &str| {
            let at = s.find(key).unwrap_or(0);
            whole_token(s.as_bytes(), at, at + key.len())
        };
        assert!(t("\"beta\"", "beta"));
        assert!(t("see beta.", "beta"));
        assert!(t("«beta»", "beta"));
        assert!(!t("beta_v2", "beta"));
        assert!(!t("my-beta", "beta"));
        assert!(!t("flags.beta", "beta"));
        assert!(!t("beta.enabled", "beta"));
        assert!(!t("ébeta", "beta"));
    }

    #[test]
    fn finds_the_key_argument_of_calls() {
        let names = call_names(&["isOn".to_string()]);
        let arg = |text: &str, name: &str| {
            let call = names.iter().find(|c| c.name == name)?;
            let start = text.find(name)?;
            call_argument(text.as_bytes(), start, start + name.len(), call)
                .map(|(_, k)| String::from_utf8_lossy(k).into_owned())
        };
        assert_eq!(
            arg("c.getBooleanValue('a', false)", "getBooleanValue").as_deref(),
            Some("a")
        );
        assert_eq!(
            arg("c.getObjectValue<T>(\n  \"a\",", "getObjectValue").as_deref(),
            Some("a")
        );
        assert_eq!(
            arg("c.BooleanValue(ctx, \"a\", false)", "BooleanValue").as_deref(),
            Some("a")
        );
        assert_eq!(
            arg("c.get_bool_value::<B>(\"a\")", "get_bool_value").as_deref(),
            Some("a")
        );
        assert_eq!(arg("isOn(`a`)", "isOn").as_deref(), Some("a"));
        assert_eq!(
            arg("f.evaluate(\"a\", ctx)", "evaluate").as_deref(),
            Some("a")
        );
        // Not a plain literal, not the key argument, not a method, not a call.
        assert_eq!(
            arg("c.getBooleanValue(KEY, false)", "getBooleanValue"),
            None
        );
        assert_eq!(arg("c.getStringValue(\"a\" + x)", "getStringValue"), None);
        assert_eq!(arg("isOn(`a${x}`)", "isOn"), None);
        assert_eq!(arg("wrappers.StringValue(\"a\")", "StringValue"), None);
        assert_eq!(arg("evaluate(\"a\")", "evaluate"), None);
        assert_eq!(arg("mygetBooleanValue(\"a\")", "getBooleanValue"), None);
        assert_eq!(arg("getBooleanValue", "getBooleanValue"), None);
    }

    #[test]
    fn positions_count_characters() {
        let text = "é\nab é c";
        let lines = LineIndex::new(text.as_bytes());
        assert_eq!(lines.position(text.as_bytes(), 0), (1, 1));
        assert_eq!(
            lines.position(text.as_bytes(), text.find('c').unwrap_or(0)),
            (2, 6)
        );
    }
}
