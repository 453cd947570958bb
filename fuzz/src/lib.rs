//! The checks behind the fuzz targets, shared with the ordinary test
//! `tests/fuzz_regressions.rs`, which includes this file as a module and
//! replays `fuzz/seeds/` and `fuzz/regressions/` through the same code.
//!
//! So this file depends on `killswitch` and `std` only: no `arbitrary`, no
//! `libfuzzer-sys`. Every check panics (through `assert!`) when it finds a
//! bug, which is what libFuzzer and `cargo test` both report.

use killswitch::ast::{self, Compare, Expr, ExprKind, Literal, LiteralValue, Op, Path};
use killswitch::{Context, Decision, Flag, FlagSet, Limits, Reason, Rule, Span};

/// Known bugs in `killswitch`, reported and not fixed yet: a name, and the
/// start of the diagnostic message by which a failing check recognises one.
///
/// While [`tolerate_known_bugs`] is on (the fuzz targets turn it on), a
/// check skips what only these bugs break, so that a fuzzing run goes on to
/// find other bugs instead of stopping at the same one again. The replay
/// test never turns it on: it checks each bug's saved input strictly, in a
/// test marked `#[ignore]` until the fix lands. Remove an entry once fixed.
pub const KNOWN_BUGS: &[(&str, &str)] = &[
    // None now. The first fuzzing run found `config-trailing-text-span-splits-char`
    // (fixed since); an entry looked like this:
    // ("config-trailing-text-span-splits-char", "unexpected text after the JSON value"),
];

static TOLERATE_KNOWN_BUGS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Makes the checks skip what only the [`KNOWN_BUGS`] break.
pub fn tolerate_known_bugs(on: bool) {
    TOLERATE_KNOWN_BUGS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether an error or diagnostic with this message is a known bug being
/// tolerated.
fn tolerated(message: &str) -> bool {
    TOLERATE_KNOWN_BUGS.load(std::sync::atomic::Ordering::Relaxed)
        && KNOWN_BUGS
            .iter()
            .any(|(_, start)| message.starts_with(start))
}

/// The fuzz targets, by the name that prefixes their regression files.
pub const TARGETS: &[&str] = &["parse", "roundtrip", "config", "evaluate"];

/// Runs the check of the target `target` on one input.
///
/// Returns `false` for an unknown target name.
pub fn check(target: &str, data: &[u8]) -> bool {
    match target {
        "parse" => check_parse(data),
        "roundtrip" => check_roundtrip(data),
        "config" => check_config(data),
        "evaluate" => check_evaluate(data),
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------------------
// parse: rule text never panics, and what parses prints canonically.
// ---------------------------------------------------------------------------

/// The longest valid UTF-8 prefix of `data`, as `arbitrary` takes a `&str`.
pub fn utf8_prefix(data: &[u8]) -> &str {
    match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// `Rule::parse` and `ast::parse` on arbitrary text: no panic; errors render
/// and point inside the text; a parsed tree prints to text that parses back
/// to the same tree (spans aside) and prints the same again.
pub fn check_parse(data: &[u8]) {
    let text = utf8_prefix(data);
    let rule = Rule::parse(text);
    if let Err(e) = &rule {
        check_error(text, e);
    }
    let tree = match ast::parse(text) {
        Ok(tree) => tree,
        Err(e) => {
            check_error(text, &e);
            assert!(
                rule.is_err(),
                "Rule::parse accepted what ast::parse rejects: {e:?}"
            );
            return;
        }
    };
    if let Ok(rule) = &rule {
        assert_eq!(rule.expr(), &tree, "Rule::parse and ast::parse differ");
    }
    let printed = tree.to_string();
    let again = reparse(&printed, &tree);
    assert_eq!(again.to_string(), printed, "printing is not idempotent");
    // Compiling depends on the tree only, so the canonical text compiles
    // exactly when the original did.
    if printed.len() <= Limits::default().max_rule_len {
        let canonical = Rule::parse(&printed);
        assert_eq!(
            canonical
                .as_ref()
                .map(|_| ())
                .map_err(killswitch::Error::kind),
            rule.as_ref().map(|_| ()).map_err(killswitch::Error::kind),
            "the canonical text {printed:?} compiles differently"
        );
    }
}

/// Parses canonical text that must give `expected` back, spans aside.
fn reparse(printed: &str, expected: &Expr) -> Expr {
    let again = match ast::parse(printed) {
        Ok(again) => again,
        Err(e) => panic!("canonical text {printed:?} of {expected:?} does not parse: {e:?}\n{e}"),
    };
    assert_eq!(
        again.without_spans(),
        expected.without_spans(),
        "canonical text {printed:?} parses to a different tree"
    );
    again
}

/// An error of rule `text`: renders, and its span is a range of `text`.
fn check_error(text: &str, e: &killswitch::Error) {
    let shown = e.to_string();
    assert!(!shown.is_empty(), "an error renders as nothing");
    assert!(!e.message().is_empty(), "an error without a message");
    let _ = format!("{e:?}");
    if let Some(span) = e.span().filter(|_| !tolerated(e.message())) {
        check_span(text, span, &shown);
    }
}

/// A span is an in-bounds range of `text` whose ends are char boundaries.
fn check_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "span {span} is outside the {}-byte source: {what}",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "span {span} splits a character: {what}"
    );
}

// ---------------------------------------------------------------------------
// roundtrip: generated trees print to text that parses back to them.
// ---------------------------------------------------------------------------

/// A source of bytes for the tree generator. `0` once the input is used up,
/// as `arbitrary::Unstructured` gives for a `u8`, so that the fuzz target
/// (reading through `Unstructured`) and the replay test (reading through
/// [`ByteCursor`]) build the same tree from the same input.
pub trait Entropy {
    /// The next byte, or `0` when there are none left.
    fn byte(&mut self) -> u8;
}

/// Reads bytes front to back.
pub struct ByteCursor<'a>(pub &'a [u8]);

impl Entropy for ByteCursor<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
}

/// How deep generated trees go (a leaf is depth 1).
pub const MAX_DEPTH: usize = 8;

/// Builds a syntax tree from `entropy`: depth at most [`MAX_DEPTH`], `and`
/// and `or` with 2 to 4 operands, lists of 0 to 4 literals, paths of 1 to 3
/// non-empty segments, finite floats, `ignore_case` only where the operator
/// has such a form. Spans are all empty.
pub fn arbitrary_expr(entropy: &mut impl Entropy) -> Expr {
    Gen { e: entropy }.expr(MAX_DEPTH)
}

/// Builds a tree from the input and checks the canonical print round trip.
pub fn check_roundtrip(data: &[u8]) {
    check_tree(&arbitrary_expr(&mut ByteCursor(data)));
}

/// The round trip of one valid tree: its text parses back to it, printing is
/// idempotent, and the text compiles exactly when the tree does.
pub fn check_tree(expr: &Expr) {
    let printed = expr.to_string();
    let again = reparse(&printed, expr);
    assert_eq!(again.to_string(), printed, "printing is not idempotent");
    let direct = Rule::from_expr(expr.clone(), &Limits::default());
    let via_text = Rule::parse(&printed);
    assert_eq!(
        direct.as_ref().map(|_| ()).map_err(killswitch::Error::kind),
        via_text
            .as_ref()
            .map(|_| ())
            .map_err(killswitch::Error::kind),
        "{printed:?} compiles differently from its tree"
    );
    if let (Ok(direct), Ok(via_text)) = (&direct, &via_text) {
        assert_eq!(direct.source(), printed);
        assert_eq!(
            direct.expr().without_spans(),
            via_text.expr().without_spans()
        );
    }
}

struct Gen<'e, E> {
    e: &'e mut E,
}

const OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::StartsWith,
    Op::EndsWith,
    Op::Contains,
    Op::Matches,
    Op::Before,
    Op::After,
    Op::SemVerEq,
    Op::SemVerLt,
    Op::SemVerLe,
    Op::SemVerGt,
    Op::SemVerGe,
];

/// Names that stress the printer's choice between bare and quoted keys.
const NAMES: &[&str] = &[
    "a",
    "b",
    "_",
    "x1",
    "email",
    "user_id",
    "in",
    "exists",
    "notIn",
    "equals",
    "and",
    "or",
    "not",
    "true",
    "false",
    "True",
    "andy",
    "order",
    "nothing",
    "é",
    "日本",
    "a.b",
    "device-type",
    "1a",
    " ",
    "`",
    "\\",
    "``",
    "\\`",
    "a b",
    "\n",
];

/// Characters that need escaping, or are unusual in other ways.
const SPECIAL: &[char] = &[
    '"', '\\', '`', '\'', '\n', '\r', '\t', '\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}',
    '\u{2028}', '\u{feff}', '\u{fffd}', 'é', 'İ', 'ß', '\u{212a}', '日', '😀', '{', '}', '[', ']',
    '(', ')', '.', ',', ' ', 'u', 'n', '/', '$', '#', '=', '!',
];

const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    0.5,
    1.0,
    -1.5,
    0.1,
    1e16,
    1e-7,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    f64::EPSILON,
    9007199254740993.0,
];

impl<E: Entropy> Gen<'_, E> {
    fn byte(&mut self) -> u8 {
        self.e.byte()
    }

    /// A number below `n` (at most 256), from one byte.
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.clamp(1, 256)
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte();
        }
        u64::from_le_bytes(bytes)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn expr(&mut self, depth: usize) -> Expr {
        // Choice 0 is a leaf, so that exhausted input ends the tree.
        let choice = if depth <= 1 {
            self.below(4)
        } else {
            self.below(7)
        };
        let kind = match choice {
            0 => ExprKind::Truthy(self.path()),
            1 => ExprKind::Exists(self.path()),
            2 => ExprKind::Compare(self.compare()),
            3 => ExprKind::Segment(self.pick(&["internal", "beta_2", "équipe", "_"]).into()),
            4 => ExprKind::Not(Box::new(self.expr(depth - 1))),
            5 => ExprKind::And(self.operands(depth - 1)),
            _ => ExprKind::Or(self.operands(depth - 1)),
        };
        Expr {
            kind,
            span: Span::default(),
        }
    }

    fn operands(&mut self, depth: usize) -> Vec<Expr> {
        let n = 2 + self.below(3);
        (0..n).map(|_| self.expr(depth)).collect()
    }

    fn compare(&mut self) -> Compare {
        let path = self.path();
        let op = self.pick(OPS);
        let ignore_case = op.can_ignore_case() && self.byte() & 1 == 1;
        // One literal is the common case; 0 and 2..4 make a list.
        let n = match self.below(8) {
            0 => 0,
            1..=4 => 1,
            k => k - 3,
        };
        let values = (0..n).map(|_| self.literal()).collect();
        Compare {
            path,
            op,
            ignore_case,
            values,
            op_span: Span::default(),
        }
    }

    fn path(&mut self) -> Path {
        let n = 1 + self.below(3);
        Path {
            segments: (0..n).map(|_| self.segment()).collect(),
            span: Span::default(),
        }
    }

    fn segment(&mut self) -> String {
        match self.below(4) {
            0 | 1 => self.pick(NAMES).to_string(),
            2 => {
                let len = 1 + self.below(6);
                (0..len)
                    .map(|_| {
                        let c = self.pick(b"abcxyzAZ_019");
                        char::from(c)
                    })
                    .collect()
            }
            _ => {
                let mut s = self.string();
                if s.is_empty() {
                    s.push(self.character());
                }
                s
            }
        }
    }

    fn string(&mut self) -> String {
        let len = self.below(9);
        (0..len).map(|_| self.character()).collect()
    }

    fn character(&mut self) -> char {
        match self.below(4) {
            0 => char::from(0x20 + self.below(0x5f) as u8),
            1 => self.pick(SPECIAL),
            2 => {
                let code = u32::from_le_bytes([self.byte(), self.byte(), self.byte(), 0]);
                char::from_u32(code % 0x11_0000).unwrap_or('\u{fffd}')
            }
            _ => char::from(b'a' + self.below(26) as u8),
        }
    }

    fn literal(&mut self) -> Literal {
        let value = match self.below(4) {
            0 => LiteralValue::String(self.string()),
            1 => LiteralValue::Int(match self.below(4) {
                0 => self.below(7) as i64 - 3,
                1 => self.pick(&[i64::MIN, i64::MAX, i64::MIN + 1, 0, -1, 1 << 53]),
                _ => self.u64() as i64,
            }),
            2 => LiteralValue::Float(if self.byte() & 1 == 0 {
                self.pick(FLOATS)
            } else {
                let f = f64::from_bits(self.u64());
                if f.is_finite() {
                    f
                } else {
                    f64::from(self.byte()) / 8.0
                }
            }),
            _ => LiteralValue::Bool(self.byte() & 1 == 1),
        };
        Literal {
            value,
            span: Span::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// config: any text loads or fails with a clean, renderable error.
// ---------------------------------------------------------------------------

/// `FlagSet::from_json` on arbitrary bytes (UTF-8 only): no panic; every
/// error has at least one diagnostic, renders, and points inside the file;
/// a loaded set finds each flag by its key, and every rule's canonical text
/// parses back to the rule's tree and compiles.
pub fn check_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The same bytes as each format: most inputs are nonsense in two of
    // them, which exercises the error paths of all three readers.
    for format in [
        killswitch::Format::Json,
        killswitch::Format::Yaml,
        killswitch::Format::Toml,
    ] {
        check_config_as(text, format);
    }
}

fn check_config_as(text: &str, format: killswitch::Format) {
    match FlagSet::from_text(text, format, &Limits::default()) {
        Ok(set) => check_flag_set(&set),
        Err(e) => {
            let shown = e.to_string();
            assert!(!e.diagnostics().is_empty(), "an error with no diagnostics");
            for d in e.diagnostics() {
                assert!(!d.message().is_empty(), "a diagnostic without a message");
                if let Some(span) = d.span().filter(|_| !tolerated(d.message())) {
                    check_span(text, span, &shown);
                    assert!(d.line_column().is_some());
                    assert!(d.end_line_column() >= d.line_column());
                }
                let mut out = String::new();
                assert!(d.render(None, &mut out).is_ok());
                assert!(shown.contains(&out), "Display leaves out a diagnostic");
            }
        }
    }
}

fn check_flag_set(set: &FlagSet) {
    assert_eq!(set.len(), set.flags().len());
    for flag in set.flags() {
        let found = set.get(flag.key());
        assert!(
            found.is_some_and(|f| std::ptr::eq(f, &**flag)),
            "the index does not find flag {:?}",
            flag.key()
        );
        assert!(flag.rollout_percentage().is_none_or(|p| p <= 100));
        for rule in flag.allow_rules().iter().chain(flag.deny_rules()) {
            let printed = rule.expr().to_string();
            if printed.len() > Limits::default().max_rule_len {
                continue;
            }
            reparse(&printed, rule.expr());
            // `@segment` references compile only beside their declarations.
            if uses_segments(rule.expr()) {
                continue;
            }
            if let Err(e) = Rule::parse(&printed) {
                panic!("the canonical text {printed:?} of a loaded rule does not compile: {e:?}");
            }
        }
    }
}

/// Whether a tree refers to a segment anywhere.
fn uses_segments(expr: &killswitch::ast::Expr) -> bool {
    use killswitch::ast::ExprKind;
    match &expr.kind {
        ExprKind::Or(xs) | ExprKind::And(xs) => xs.iter().any(uses_segments),
        ExprKind::Not(x) => uses_segments(x),
        ExprKind::Segment(_) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// evaluate: decisions are deterministic and follow the fixed order.
// ---------------------------------------------------------------------------

/// Splits an `evaluate` input: config text, a NUL byte, context JSON. Without
/// a NUL the whole input is the config and the context is `{}`.
pub fn split_evaluate_input(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, b"{}"),
    }
}

/// When both the config and the context load: every flag evaluates the same
/// twice, through the set and the flag, for a borrowed and an owned context;
/// buckets are below 100; and each decision is the one the documented order
/// gives.
pub fn check_evaluate(data: &[u8]) {
    let (config, context) = split_evaluate_input(data);
    let (Ok(config), Ok(context)) = (std::str::from_utf8(config), std::str::from_utf8(context))
    else {
        return;
    };
    let Ok(set) = FlagSet::from_json(config) else {
        return;
    };
    let Ok(ctx) = Context::from_json(context) else {
        return;
    };
    let owned = ctx.clone().into_owned();
    // One fixed time, so that schedules cannot move between two calls.
    let now = killswitch::parse_time("2026-12-03T12:00:00Z").unwrap_or(std::time::UNIX_EPOCH);
    for flag in set.flags() {
        let first = set.evaluate_at(flag.key(), &ctx, now);
        let second = set.evaluate_at(flag.key(), &ctx, now);
        assert_eq!(first, second, "flag {:?} is not deterministic", flag.key());
        assert_eq!(flag.evaluate_at(&ctx, now), first);
        assert_eq!(
            set.evaluate_at(flag.key(), &owned, now),
            first,
            "owned context differs"
        );
        if let Some(b) = first.bucket {
            assert!(b < 100, "bucket {b} of flag {:?}", flag.key());
        }
        check_variant(flag, first);
        check_order(flag, &ctx, now, first);
    }
    // Config rejects empty keys, so this one is never a flag.
    let unknown = set.evaluate("", &ctx);
    assert_eq!(
        (unknown.enabled, unknown.reason),
        (false, Reason::UnknownFlag)
    );
}

/// What a decision serves: a variant of the flag for a flag with
/// variants (its off variant whenever off), none for a boolean flag; a
/// split bucket below 10 000, only when on.
fn check_variant(flag: &Flag, d: Decision) {
    match d.variant {
        None => assert!(
            flag.variants().is_empty(),
            "no variant for {:?}",
            flag.key()
        ),
        Some(i) => {
            assert!(flag.variant(i).is_some(), "variant {i} of {:?}", flag.key());
            if !d.enabled {
                assert_eq!(Some(i), flag.off_variant(), "off serves off_variant");
            }
        }
    }
    if let Some(b) = d.split_bucket {
        assert!(
            b < 10_000 && d.enabled,
            "split bucket {b} of {:?}",
            flag.key()
        );
    }
}

/// The README's evaluation table, step by step.
fn check_order(flag: &Flag, ctx: &Context<'_>, now: std::time::SystemTime, got: Decision) {
    let allow = flag.allow_rules().iter().position(|r| r.matches(ctx));
    let deny = flag.deny_rules().iter().position(|r| r.matches(ctx));
    let prerequisite_off = flag
        .prerequisites()
        .iter()
        .position(|p| !p.evaluate_at(ctx, now).enabled);
    let (enabled, reason, bucket) = if flag.kill_switch() {
        (false, Reason::KillSwitch, None)
    } else if !flag.enabled() {
        (false, Reason::Disabled, None)
    } else if let Some(i) = prerequisite_off {
        (false, Reason::PrerequisiteOff(i), None)
    } else if let Some(i) = allow {
        (true, Reason::AllowRule(i), None)
    } else if let Some(i) = deny {
        (false, Reason::DenyRule(i), None)
    } else {
        let percentage = flag.percentage_at(now).map(|(p, _)| p);
        match (percentage, bucket_key(flag.bucket_by(), ctx)) {
            (None, _) => (false, Reason::NoRollout, None),
            (Some(_), None) => (false, Reason::MissingUserId, None),
            (Some(p), Some(user)) => {
                let b = killswitch::bucket(user, flag.key());
                let on = b < p;
                let reason = if on {
                    Reason::InRollout
                } else {
                    Reason::OutOfRollout
                };
                (on, reason, Some(b))
            }
        }
    };
    assert_eq!(
        (got.enabled, got.reason, got.bucket),
        (enabled, reason, bucket),
        "flag {:?} breaks the evaluation order",
        flag.key()
    );
}

/// The string a flag buckets by, found as the README says: a top-level key
/// equal to the whole dotted path, else the nested objects.
fn bucket_key<'c>(path: &str, ctx: &'c killswitch::Context<'_>) -> Option<&'c str> {
    if let Some(v) = ctx.get(path) {
        return v.as_str();
    }
    let mut segments = path.split('.');
    let mut value = ctx.get(segments.next()?)?;
    for segment in segments {
        let killswitch::Value::Object(entries) = value else {
            return None;
        };
        value = entries.iter().find(|(k, _)| k == segment).map(|(_, v)| v)?;
    }
    value.as_str()
}
