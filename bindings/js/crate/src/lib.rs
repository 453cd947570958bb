//! The WebAssembly half of killswitch's JavaScript package
//! (`bindings/js/`): the engine behind a few exported functions, which the
//! TypeScript wrapper (`bindings/js/src/`) turns into the typed API. This
//! crate adds no behaviour of its own: it converts at the edge.
//!
//! What crosses the boundary, and how:
//!
//! - **in**: config text and context objects as JSON text
//!   (`JSON.stringify`), so that a context's numbers keep their JSON type;
//! - **out**: a decision as seven numbers in a static table that
//!   JavaScript reads in place ([`decision_slots`]), so that an evaluation
//!   allocates nothing on either side; the flags' variant values once, as
//!   the config's own JSON text ([`Engine::describe`]), which JavaScript
//!   parses into plain objects (key order and number types kept);
//!   diagnostics as JSON text.
//!
//! WebAssembly has no clock: every evaluation takes the time from the
//! caller (`Date.now()` in the wrapper), so that rollout schedules work
//! and nothing reads `SystemTime::now`, which panics on
//! `wasm32-unknown-unknown`.

// The crate writes no unsafe code; `#[wasm_bindgen]` expands to glue that
// does, so the workspace's `deny` is relaxed for its expansions only.
#![allow(unsafe_code)]

use killswitch::{Context, Decision, Diagnostic, FlagSet, Format, Limits, Number, Reason, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasm_bindgen::prelude::*;

/// A slot with no value (`null` on the JavaScript side).
const NONE: u32 = u32::MAX;

/// How many numbers describe a decision; see [`decision_slots`].
const SLOTS: usize = 7;

/// The last decision, read in place by JavaScript (see [`decision_slots`]).
/// Atomics only to be a safe `static`: WebAssembly here is one thread.
static DECISION: [AtomicU32; SLOTS] = [const { AtomicU32::new(NONE) }; SLOTS];

/// Each reason's code in slot 0, its stable name and its OpenFeature
/// reason, mirroring the OFREP service (`server/src/ofrep.rs`): a kill
/// switch and a disabled flag are `DISABLED`; rules and an off
/// prerequisite `TARGETING_MATCH`; the rollout `SPLIT`; no rollout and no
/// user id `DEFAULT`.
const REASONS: [(&str, &str); 11] = [
    ("kill_switch", "DISABLED"),
    ("disabled", "DISABLED"),
    ("allow_rule", "TARGETING_MATCH"),
    ("deny_rule", "TARGETING_MATCH"),
    ("in_rollout", "SPLIT"),
    ("out_of_rollout", "SPLIT"),
    ("missing_user_id", "DEFAULT"),
    ("no_rollout", "DEFAULT"),
    ("unknown_flag", "ERROR"),
    ("prerequisite_off", "TARGETING_MATCH"),
    ("unknown", "UNKNOWN"),
];

/// The code of a reason: its row in [`REASONS`].
fn reason_code(reason: Reason) -> u32 {
    match reason {
        Reason::KillSwitch => 0,
        Reason::Disabled => 1,
        Reason::AllowRule(_) => 2,
        Reason::DenyRule(_) => 3,
        Reason::InRollout => 4,
        Reason::OutOfRollout => 5,
        Reason::MissingUserId => 6,
        Reason::NoRollout => 7,
        Reason::UnknownFlag => 8,
        Reason::PrerequisiteOff(_) => 9,
        _ => 10,
    }
}

/// The reason table as JSON: `[[name, openfeature_reason], ...]`, indexed
/// by the code in slot 0 of a decision.
#[wasm_bindgen]
pub fn reasons() -> String {
    let mut out = String::from("[");
    for (i, (name, openfeature)) in REASONS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[\"{name}\",\"{openfeature}\"]");
    }
    out.push(']');
    out
}

/// The address of the decision table in the module's memory: seven
/// `u32`s, `0xFFFF_FFFF` for none, written by every evaluation:
/// `enabled | reason_code << 1`, the rule or prerequisite index, the
/// bucket, the percentage, the schedule step, the variant index, the
/// split bucket.
#[wasm_bindgen]
pub fn decision_slots() -> usize {
    DECISION.as_ptr() as usize
}

thread_local! {
    /// Where JavaScript writes a context in the compact encoding
    /// ([`decode_context`]) for [`Engine::evaluate_encoded`]: reused by every
    /// evaluation, grown on demand by [`context_buffer`].
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The address of a buffer of at least `len` bytes for a context in the
/// compact encoding. Its first bytes are kept when it grows (so that a
/// writer that ran out of room can continue), and the address stays valid
/// until the next call.
#[wasm_bindgen]
pub fn context_buffer(len: usize) -> usize {
    BUFFER.with_borrow_mut(|buffer| {
        if buffer.len() < len {
            buffer.resize(len.max(buffer.len() * 2), 0);
        }
        buffer.as_ptr() as usize
    })
}

/// The module's memory, for reading [`decision_slots`].
#[wasm_bindgen]
pub fn module_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The format a file name says (`json`, `yaml` or `toml`), as
/// [`Format::from_path`] reads it.
#[wasm_bindgen]
pub fn format_of(path: &str) -> String {
    match Format::from_path(path) {
        Format::Yaml => "yaml",
        Format::Toml => "toml",
        _ => "json",
    }
    .to_owned()
}

/// The largest config file read, in bytes ([`Limits::max_config_bytes`]).
#[wasm_bindgen]
pub fn max_config_bytes() -> f64 {
    Limits::default().max_config_bytes as f64
}

/// The rollout bucket (0..=99) of a user for a flag ([`killswitch::bucket`]).
#[wasm_bindgen]
pub fn bucket(user_id: &str, flag_key: &str) -> u8 {
    killswitch::bucket(user_id, flag_key)
}

/// A compiled config, and the context that [`Engine::evaluate_index`]
/// evaluates against.
#[wasm_bindgen]
pub struct Engine {
    flags: FlagSet,
    context: Context<'static>,
}

#[wasm_bindgen]
impl Engine {
    /// Compiles config text in `format` (`json`, `yaml` or `toml`). On
    /// failure the error is a JSON report: `{"message", "diagnostics":
    /// [{"severity", "code", "kind", "message", "help", "path", "flag",
    /// "line", "column", "endLine", "endColumn", "rendered"}]}`, the
    /// rendering naming `file` when given.
    pub fn compile(text: &str, format: &str, file: Option<String>) -> Result<Engine, String> {
        let format = match format {
            "yaml" => Format::Yaml,
            "toml" => Format::Toml,
            _ => Format::Json,
        };
        match FlagSet::from_text(text, format, &Limits::default()) {
            Ok(flags) => Ok(Engine {
                flags,
                context: Context::new(),
            }),
            Err(err) => Err(report(err.diagnostics(), file.as_deref())),
        }
    }

    /// The flags in file order, as JSON: `[{"key", "variants":
    /// [{"name", "value"}] or null, "prerequisites": [key, ...]}]`, each
    /// variant's value written exactly as the config has it.
    pub fn describe(&self) -> String {
        let mut out = String::from("[");
        for (i, flag) in self.flags.flags().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"key\":");
            push_json_string(&mut out, flag.key());
            out.push_str(",\"variants\":");
            if flag.variants().is_empty() {
                out.push_str("null");
            } else {
                out.push('[');
                for (j, variant) in flag.variants().iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    push_json_string(&mut out, variant.name());
                    out.push_str(",\"value\":");
                    out.push_str(variant.json());
                    out.push('}');
                }
                out.push(']');
            }
            out.push_str(",\"prerequisites\":[");
            for (j, prerequisite) in flag.prerequisites().iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_json_string(&mut out, prerequisite.key());
            }
            out.push_str("]}");
        }
        out.push(']');
        out
    }

    /// Evaluates the flag at `index` (file order; out of range is an
    /// unknown flag) for the context in `context` (a JSON object) at
    /// `now_ms` milliseconds since the Unix epoch, writing the decision to
    /// [`decision_slots`]. With `openfeature`, the context is read as the
    /// OFREP service reads it: a string `targetingKey` is the user id, and
    /// differing `targetingKey` and `user_id` are an error. The error is
    /// JSON: `{"code": "INVALID_CONTEXT", "message"}`.
    pub fn evaluate(
        &self,
        index: usize,
        context: &str,
        openfeature: bool,
        now_ms: f64,
    ) -> Result<(), String> {
        let ctx = parse_context(context, openfeature)?;
        self.decide(index, &ctx, now_ms);
        Ok(())
    }

    /// [`Engine::evaluate`] for a context JavaScript wrote to
    /// [`context_buffer`] in the compact encoding ([`decode_context`]):
    /// the first `len` bytes. No JSON on either side, so that an
    /// evaluation costs little more than the engine's own work.
    pub fn evaluate_encoded(
        &self,
        index: usize,
        len: usize,
        openfeature: bool,
        now_ms: f64,
    ) -> Result<(), String> {
        BUFFER.with_borrow(|buffer| {
            let bytes = buffer.get(..len).unwrap_or_default();
            let ctx = decode_context(bytes, openfeature)?;
            self.decide(index, &ctx, now_ms);
            Ok(())
        })
    }

    /// Keeps a context (read as [`Engine::evaluate`] reads it) for the
    /// following [`Engine::evaluate_index`] calls: one parse for a whole
    /// `evaluateAll`.
    pub fn set_context(&mut self, context: &str, openfeature: bool) -> Result<(), String> {
        self.context = parse_context(context, openfeature)?.into_owned();
        Ok(())
    }

    /// Evaluates the flag at `index` for the kept context, writing the
    /// decision to [`decision_slots`].
    pub fn evaluate_index(&self, index: usize, now_ms: f64) {
        self.decide(index, &self.context, now_ms);
    }

    /// Whether any flag reads the clock (has a `rollout_schedule`): when
    /// none does, the wrapper need not ask the host for the time.
    pub fn reads_clock(&self) -> bool {
        self.flags.flags().iter().any(|flag| flag.has_schedule())
    }

    /// How many flags the config has.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether the config has no flag.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }
}

impl Engine {
    fn decide(&self, index: usize, ctx: &Context<'_>, now_ms: f64) {
        let decision = match self.flags.flags().get(index) {
            Some(flag) => flag.evaluate_at(ctx, time_of(now_ms)),
            // An empty set answers "unknown flag" for any key (whereas
            // this set might well have a flag with the key asked for).
            None => FlagSet::default().evaluate_at("", ctx, UNIX_EPOCH),
        };
        store(&decision);
    }
}

/// Writes a decision to the table JavaScript reads.
fn store(d: &Decision) {
    let slots = [
        u32::from(d.enabled) | reason_code(d.reason) << 1,
        opt(d.reason.rule().or(d.reason.prerequisite())),
        opt(d.bucket.map(usize::from)),
        opt(d.percentage.map(usize::from)),
        opt(d.schedule_step),
        opt(d.variant.map(usize::from)),
        opt(d.split_bucket.map(usize::from)),
    ];
    for (slot, value) in DECISION.iter().zip(slots) {
        slot.store(value, Ordering::Relaxed);
    }
}

fn opt(value: Option<usize>) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or(NONE)
}

/// Milliseconds since the Unix epoch as a time; not a number is the epoch.
fn time_of(now_ms: f64) -> SystemTime {
    let Ok(offset) = Duration::try_from_secs_f64(now_ms.abs() / 1000.0) else {
        return UNIX_EPOCH;
    };
    let time = if now_ms >= 0.0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.unwrap_or(UNIX_EPOCH)
}

/// A context from the compact encoding the JavaScript wrapper writes for
/// flat objects (`bindings/js/src/core.ts`, `encodeContext`): attributes
/// one after the other, each a key then a value; a string is its UTF-8
/// length (`u32`, little-endian) and bytes; a value is a tag byte, then
/// nothing (0 `null`, 1 `false`, 2 `true`), an `f64` (3, little-endian) or
/// a string (4). A number is read as `JSON.stringify` would have written
/// it and `serde_json` read it back: a whole number below 1e21 as an
/// integer when it fits `i64`. The same checks as [`parse_context`].
fn decode_context(bytes: &[u8], openfeature: bool) -> Result<Context<'_>, String> {
    fn string<'b>(bytes: &'b [u8], at: &mut usize) -> Option<&'b str> {
        let len = u32::from_le_bytes(bytes.get(*at..*at + 4)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(bytes.get(*at + 4..*at + 4 + len)?).ok()?;
        *at += 4 + len;
        Some(text)
    }
    fn attribute<'b>(bytes: &'b [u8], at: &mut usize) -> Option<(&'b str, Value<'b>)> {
        let key = string(bytes, at)?;
        let tag = *bytes.get(*at)?;
        *at += 1;
        let value = match tag {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => {
                let f = f64::from_le_bytes(bytes.get(*at..*at + 8)?.try_into().ok()?);
                *at += 8;
                Value::Number(json_number(f))
            }
            4 => Value::String(Cow::Borrowed(string(bytes, at)?)),
            _ => return None,
        };
        Some((key, value))
    }
    let mut ctx = Context::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some((key, value)) = attribute(bytes, &mut at) else {
            return Err(invalid_context("the encoded context is malformed"));
        };
        if key == "user_id" && !matches!(value, Value::String(_)) {
            return Err(invalid_context(
                "the context must be an object of attributes: `user_id` must be a string",
            ));
        }
        ctx.set(key, value);
    }
    if openfeature {
        targeting_key_is_user_id(&mut ctx)?;
    }
    Ok(ctx)
}

/// A finite JavaScript number as JSON carries it (see [`decode_context`]).
fn json_number(f: f64) -> Number {
    const MAX_PLAIN: f64 = 1e21;
    const I64_BOUND: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.fract() == 0.0 && f.abs() < MAX_PLAIN && (-I64_BOUND..I64_BOUND).contains(&f) {
        Number::Int(f as i64)
    } else {
        Number::Float(f)
    }
}

/// A context from JSON text; with `openfeature`, as the OFREP service
/// reads a request's context (`server/src/ofrep.rs`, `parse_context`).
fn parse_context(text: &str, openfeature: bool) -> Result<Context<'_>, String> {
    let mut ctx = Context::from_json(text).map_err(|e| {
        let e = e.to_string();
        let e = e.strip_prefix("invalid context: ").unwrap_or(&e);
        invalid_context(&format!("the context must be an object of attributes: {e}"))
    })?;
    if openfeature {
        targeting_key_is_user_id(&mut ctx)?;
    }
    Ok(ctx)
}

/// As the OFREP service reads a context: a string `targetingKey` is the
/// user id, and a `user_id` that differs from it is an error.
fn targeting_key_is_user_id(ctx: &mut Context<'_>) -> Result<(), String> {
    let targeting_key = match ctx.get("targetingKey") {
        None => None,
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => return Err(invalid_context("`targetingKey` must be a string")),
    };
    if let Some(key) = targeting_key {
        if let Some(user_id) = ctx.user_id() {
            if user_id != key {
                return Err(invalid_context(
                    "`targetingKey` and `user_id` are both given and differ; \
                     send one of them (they name the same user id)",
                ));
            }
        }
        ctx.set("user_id", Value::String(key));
    }
    Ok(())
}

fn invalid_context(message: &str) -> String {
    let mut out = String::from("{\"code\":\"INVALID_CONTEXT\",\"message\":");
    push_json_string(&mut out, message);
    out.push('}');
    out
}

/// The JSON report of a config's problems (see [`Engine::compile`]).
fn report(diagnostics: &[Diagnostic], file: Option<&str>) -> String {
    let mut message = String::new();
    let mut items = String::from("[");
    for (i, d) in diagnostics.iter().enumerate() {
        let mut rendered = String::new();
        let _ = d.render(file, &mut rendered);
        message.push_str(&rendered);
        message.push_str("\n\n");
        if i > 0 {
            items.push(',');
        }
        items.push_str("{\"severity\":");
        push_json_string(&mut items, d.severity().as_str());
        items.push_str(",\"code\":");
        push_json_string(&mut items, d.kind().code());
        items.push_str(",\"kind\":");
        push_json_string(&mut items, &d.kind().to_string());
        items.push_str(",\"message\":");
        push_json_string(&mut items, d.message());
        items.push_str(",\"help\":");
        push_opt_string(&mut items, d.help());
        items.push_str(",\"path\":");
        push_json_string(&mut items, d.path());
        items.push_str(",\"flag\":");
        push_opt_string(&mut items, d.flag());
        let (line, column) = split(d.line_column());
        let (end_line, end_column) = split(d.end_line_column());
        let _ = write!(
            items,
            ",\"line\":{line},\"column\":{column},\"endLine\":{end_line},\"endColumn\":{end_column}"
        );
        items.push_str(",\"rendered\":");
        push_json_string(&mut items, &rendered);
        items.push('}');
    }
    items.push(']');
    let n = diagnostics.len();
    let _ = write!(message, "{n} error{}", if n == 1 { "" } else { "s" });
    let mut out = String::from("{\"message\":");
    push_json_string(&mut out, &message);
    out.push_str(",\"diagnostics\":");
    out.push_str(&items);
    out.push('}');
    out
}

/// A line and column as JSON numbers, or two `null`s.
fn split(position: Option<(usize, usize)>) -> (String, String) {
    match position {
        Some((line, column)) => (line.to_string(), column.to_string()),
        None => ("null".to_owned(), "null".to_owned()),
    }
}

fn push_opt_string(out: &mut String, text: Option<&str>) {
    match text {
        Some(text) => push_json_string(out, text),
        None => out.push_str("null"),
    }
}

/// Appends `text` as a JSON string.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_never_panic() {
        assert_eq!(time_of(f64::NAN), UNIX_EPOCH);
        assert_eq!(time_of(f64::INFINITY), UNIX_EPOCH);
        assert_eq!(time_of(1500.0), UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(time_of(-1000.0), UNIX_EPOCH - Duration::from_secs(1));
        let _ = time_of(-1e300);
    }

    #[test]
    fn the_openfeature_context_is_read_as_the_service_reads_it() {
        let ctx = parse_context(r#"{"targetingKey": "u1"}"#, true).unwrap();
        assert_eq!(ctx.user_id(), Some("u1"));
        assert!(parse_context(r#"{"targetingKey": "u1", "user_id": "u2"}"#, true).is_err());
        assert!(parse_context(r#"{"targetingKey": 7}"#, true).is_err());
        let plain = parse_context(r#"{"targetingKey": "u1"}"#, false).unwrap();
        assert_eq!(plain.user_id(), None);
        assert!(parse_context("[]", false).is_err());
    }

    fn encode(attributes: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (key, tag, payload) in attributes {
            out.extend((key.len() as u32).to_le_bytes());
            out.extend(key.as_bytes());
            out.push(*tag);
            out.extend(*payload);
        }
        out
    }

    #[test]
    fn the_compact_encoding_reads_as_json_would() {
        let name = [&3u32.to_le_bytes()[..], b"Zo\xc3"].concat();
        let bytes = encode(&[
            ("user_id", 4, &[&2u32.to_le_bytes()[..], b"u1"].concat()),
            ("age", 3, &18.0f64.to_le_bytes()),
            ("ratio", 3, &0.5f64.to_le_bytes()),
            ("staff", 2, &[]),
            ("none", 0, &[]),
        ]);
        let ctx = decode_context(&bytes, false).unwrap();
        let json = Context::from_json(
            r#"{"user_id": "u1", "age": 18, "ratio": 0.5, "staff": true, "none": null}"#,
        )
        .unwrap();
        assert_eq!(ctx, json);
        assert!(matches!(
            ctx.get("age"),
            Some(Value::Number(Number::Int(18)))
        ));
        // Malformed: a bad tag, a short string, invalid UTF-8, a numeric user_id.
        assert!(decode_context(&encode(&[("a", 9, &[])]), false).is_err());
        assert!(decode_context(&bytes[..bytes.len() - 3], false).is_err());
        assert!(decode_context(&encode(&[("a", 4, &name[..6])]), false).is_err());
        assert!(decode_context(&encode(&[("user_id", 3, &1.0f64.to_le_bytes())]), false).is_err());
        let conflict = encode(&[
            ("targetingKey", 4, &[&1u32.to_le_bytes()[..], b"a"].concat()),
            ("user_id", 4, &[&1u32.to_le_bytes()[..], b"b"].concat()),
        ]);
        assert!(decode_context(&conflict, false).is_ok());
        assert!(decode_context(&conflict, true).is_err());
    }

    #[test]
    fn numbers_are_typed_as_json_carries_them() {
        assert!(matches!(json_number(3.0), Number::Int(3)));
        assert!(matches!(json_number(-0.0), Number::Int(0)));
        assert!(matches!(json_number(1.5), Number::Float(_)));
        assert!(matches!(json_number(1e21), Number::Float(_)));
        assert!(matches!(json_number(1e19), Number::Float(_)));
    }

    #[test]
    fn every_reason_has_a_row() {
        let all = [
            Reason::KillSwitch,
            Reason::Disabled,
            Reason::AllowRule(0),
            Reason::DenyRule(0),
            Reason::InRollout,
            Reason::OutOfRollout,
            Reason::MissingUserId,
            Reason::NoRollout,
            Reason::UnknownFlag,
            Reason::PrerequisiteOff(0),
        ];
        for reason in all {
            assert_eq!(REASONS[reason_code(reason) as usize].0, reason.as_str());
        }
    }

    #[test]
    fn reports_are_json_with_positions() {
        let Err(report) = Engine::compile("{\"flag_key\": 1}", "json", None) else {
            panic!("compiled");
        };
        assert!(report.contains("\"line\":1"), "{report}");
    }
}
