//! OFREP v1's wire format: the request's context in, evaluations and
//! errors out.
//!
//! A request body is `{"context": {...}}` (both the body and the context
//! are optional). The context is parsed once, into a
//! [`Context`](killswitch::Context) that borrows its strings from the
//! body; `targetingKey` becomes the `user_id`.

use axum::http::StatusCode;
use killswitch::{Context, Decision, Flag, Reason, Value};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// OpenFeature's error codes, as OFREP sends them in `errorCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    ParseError,
    InvalidContext,
    FlagNotFound,
    General,
}

impl ErrorCode {
    /// The code as it is sent.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::General => "GENERAL",
        }
    }
}

/// A request that gets an error answer: its status, code and details.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) details: Cow<'static, str>,
}

impl Failure {
    pub(crate) fn new(
        status: StatusCode,
        code: ErrorCode,
        details: impl Into<Cow<'static, str>>,
    ) -> Failure {
        Failure {
            status,
            code,
            details: details.into(),
        }
    }

    fn parse(details: impl Into<Cow<'static, str>>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, ErrorCode::ParseError, details)
    }

    fn context(details: impl Into<Cow<'static, str>>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidContext, details)
    }
}

/// The body of an OFREP error answer. `key` is sent for single-flag
/// requests; the bulk failure schema has none.
#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<&'a str>,
    #[serde(rename = "errorCode")]
    pub(crate) error_code: &'static str,
    #[serde(rename = "errorDetails")]
    pub(crate) error_details: &'a str,
}

/// The request body, with the context left unparsed.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    context: Option<&'a RawValue>,
}

/// `Some` for any value, `null` included (which is then an invalid
/// context, not a missing one).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Parses a request body into an evaluation context.
///
/// An empty body and a body without `context` give an empty context (the
/// OpenAPI file makes both optional). Anything that is not a JSON object
/// is a `PARSE_ERROR`; a `context` that is not an object, has a
/// non-string `targetingKey` or `user_id`, or has both and they differ, is
/// an `INVALID_CONTEXT`; so is a body nested deeper than `max_depth`
/// (checked before parsing).
pub(crate) fn parse_context(body: &[u8], max_depth: usize) -> Result<Context<'_>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Context::new());
    }
    if nests_deeper_than(body, max_depth) {
        return Err(Failure::context(format!(
            "the request nests deeper than {max_depth} levels"
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| Failure::parse(format!("the request body is not UTF-8: {e}")))?;
    // Serde would take a list for the struct too.
    if !text.trim_start().starts_with('{') {
        return Err(Failure::parse(
            "the request body must be a JSON object like {\"context\": {...}}",
        ));
    }
    let parsed: Body<'_> = serde_json::from_str(text).map_err(|e| {
        Failure::parse(format!(
            "the request body is not a JSON object like {{\"context\": {{...}}}}: {e}"
        ))
    })?;
    let Some(raw) = parsed.context else {
        return Ok(Context::new());
    };
    // The engine's context reader (`Context::from_json` is this too),
    // called here so that the error's position can be told in the body
    // the client sent, not in the `context` value alone.
    let mut ctx = serde_json::from_str::<Context<'_>>(raw.get()).map_err(|e| {
        Failure::context(format!(
            "`context` must be a JSON object of attributes: {}",
            placed_in_body(&e, text, raw.get())
        ))
    })?;
    let targeting_key = match ctx.get("targetingKey") {
        None => None,
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => return Err(Failure::context("`targetingKey` must be a string")),
    };
    if let Some(key) = targeting_key {
        if let Some(user_id) = ctx.user_id() {
            if user_id != key {
                return Err(Failure::context(
                    "`targetingKey` and `user_id` are both given and differ; \
                     send one of them (they name the same user id)",
                ));
            }
        }
        ctx.set("user_id", Value::String(key));
    }
    Ok(ctx)
}

/// The message of `e`, an error in `part` (a slice of `body`), with its
/// position ("at line L column C") given in `body`: lines counted from 1,
/// columns in characters from 1, as the client's editor shows them.
fn placed_in_body(e: &serde_json::Error, body: &str, part: &str) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let Some(message) = text.strip_suffix(&suffix) else {
        return text;
    };
    // Where `part` starts in `body` (it is a slice of it).
    let start = (part.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    if body.get(start..start + part.len()) != Some(part) || e.line() == 0 {
        return message.to_string();
    }
    // serde_json counts lines from 1 and, on its line, the bytes up to and
    // including the one it stopped at: none, when the value's first
    // character is wrong (`[` for an object), which is then the place.
    let (line_start, consumed) = match e.line() {
        1 => (0, e.column().max(1)),
        n => (
            part.match_indices('\n')
                .nth(n.saturating_sub(2))
                .map_or(0, |(i, _)| i + 1),
            e.column(),
        ),
    };
    let at = (start + line_start + consumed).min(body.len());
    let mut end = at;
    while !body.is_char_boundary(end) {
        end += 1;
    }
    let before = body.get(..end).unwrap_or(body);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count();
    format!("{message} at line {line} column {column}")
}

/// Whether JSON text opens more than `max` objects or arrays inside each
/// other (strings skipped): a linear scan, so that deep input is refused
/// before the recursive parser sees it.
pub(crate) fn nests_deeper_than(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The OpenFeature reason of a decision.
///
/// A kill switch and a disabled flag are `DISABLED`; allow and deny rules
/// `TARGETING_MATCH`; in or out of the rollout `SPLIT`; no rollout and a
/// context without a user id `DEFAULT`. A prerequisite that is off is
/// `TARGETING_MATCH`: the other flag was evaluated for this context (its
/// own rules and rollout decided), so the answer depends on who asks.
pub(crate) fn openfeature_reason(reason: Reason) -> &'static str {
    // One table, the engine's, shared with the language bindings.
    reason.openfeature_reason()
}

/// One successful evaluation, as OFREP sends it (alone, or as an item of
/// a bulk answer's `flags`).
#[derive(Serialize)]
pub(crate) struct Evaluation<'a> {
    key: &'a str,
    value: Served<'a>,
    variant: &'a str,
    reason: &'static str,
    metadata: Metadata<'a>,
}

/// The value served: a boolean flag's `true`/`false`, or a variant's
/// JSON value exactly as the config wrote it (an integer stays an integer,
/// an object keeps its key order).
enum Served<'a> {
    Bool(bool),
    Json(&'a RawValue),
}

impl Serialize for Served<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Served::Bool(b) => s.serialize_bool(*b),
            Served::Json(raw) => raw.serialize(s),
        }
    }
}

/// killswitch's own account of a decision, in the answer's `metadata`
/// (OFREP allows booleans, strings and numbers there).
#[derive(Serialize)]
struct Metadata<'a> {
    /// Our reason name (`kill_switch`, `allow_rule`, `in_rollout`, ...).
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prerequisite: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    percentage: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_step: Option<usize>,
    /// The split bucket (0..=9999), when a weighted split chose the variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    split_bucket: Option<u16>,
    config_version: u64,
}

impl<'a> Evaluation<'a> {
    /// The answer for `decision` of `flag` at config `version`. Off is
    /// always an explicit value, never an error: `false` with variant
    /// `off`, or a variant flag's `off_variant` and its value.
    pub(crate) fn new(flag: &'a Flag, decision: Decision, version: u64) -> Evaluation<'a> {
        let prerequisite = decision
            .reason
            .prerequisite()
            .and_then(|i| flag.prerequisites().get(i))
            .map(|p| p.key());
        // A variant's value was written by the loader from a parsed
        // document, so it is valid JSON; were it not, the boolean answer
        // (still explicit, never an error) is given rather than none.
        let variant = decision
            .variant
            .and_then(|i| flag.variant(i))
            .and_then(|v| Some((v.name(), serde_json::from_str::<&RawValue>(v.json()).ok()?)));
        let (value, variant) = match variant {
            Some((name, raw)) => (Served::Json(raw), name),
            None => (
                Served::Bool(decision.enabled),
                if decision.enabled { "on" } else { "off" },
            ),
        };
        Evaluation {
            key: flag.key(),
            value,
            variant,
            reason: openfeature_reason(decision.reason),
            metadata: Metadata {
                reason: decision.reason.as_str(),
                rule: decision.reason.rule(),
                prerequisite,
                bucket: decision.bucket,
                percentage: decision.percentage,
                schedule_step: decision.schedule_step,
                split_bucket: decision.split_bucket,
                config_version: version,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> ErrorCode {
        parse_context(body.as_bytes(), 8).unwrap_err().code
    }

    #[test]
    fn targeting_key_is_the_user_id() {
        let ctx =
            parse_context(br#"{"context": {"targetingKey": "u1", "plan": "pro"}}"#, 8).unwrap();
        assert_eq!(ctx.user_id(), Some("u1"));
        let ctx = parse_context(br#"{"context": {"user_id": "u2"}}"#, 8).unwrap();
        assert_eq!(ctx.user_id(), Some("u2"));
        let same = br#"{"context": {"user_id": "u3", "targetingKey": "u3"}}"#;
        assert_eq!(parse_context(same, 8).unwrap().user_id(), Some("u3"));
    }

    #[test]
    fn context_errors_are_placed_in_the_body() {
        let details = |body: &str| parse_context(body.as_bytes(), 8).unwrap_err().details;
        // Column 13 of the body is the `5`; line 2 column 14 the `[`.
        assert_eq!(
            details(r#"{"context": 5}"#),
            "`context` must be a JSON object of attributes: invalid type: integer `5`, \
             expected a JSON object of attributes at line 1 column 13"
        );
        // On a later line, after a two-byte character: the `}` closing
        // the context (where the reader noticed), line 2 column 34.
        let two_lines = "{\"a\": 1,\n \"context\": {\"é\": 1, \"user_id\": 5}}";
        assert_eq!(
            details(two_lines),
            "`context` must be a JSON object of attributes: `user_id` must be a string \
             at line 2 column 34"
        );
        // Columns count characters: `é` and `ü` are two bytes, one column.
        let wide = "{\"é\": \"ü\", \"context\": {\"user_id\": 5}}";
        assert!(
            details(wide).ends_with(" at line 1 column 36"),
            "{}",
            details(wide)
        );
    }

    #[test]
    fn empty_and_missing_contexts_are_empty() {
        assert!(parse_context(b"", 8).unwrap().is_empty());
        assert!(parse_context(b"  \n", 8).unwrap().is_empty());
        assert!(parse_context(b"{}", 8).unwrap().is_empty());
        assert!(parse_context(br#"{"other": [1]}"#, 8).unwrap().is_empty());
    }

    #[test]
    fn bad_requests_get_the_right_code() {
        assert_eq!(code("{"), ErrorCode::ParseError);
        assert_eq!(code("[]"), ErrorCode::ParseError);
        assert_eq!(code("\"context\""), ErrorCode::ParseError);
        assert_eq!(code(r#"{"context": 1}"#), ErrorCode::InvalidContext);
        assert_eq!(code(r#"{"context": null}"#), ErrorCode::InvalidContext);
        assert_eq!(code(r#"{"context": []}"#), ErrorCode::InvalidContext);
        assert_eq!(
            code(r#"{"context": {"targetingKey": 7}}"#),
            ErrorCode::InvalidContext
        );
        assert_eq!(
            code(r#"{"context": {"user_id": true}}"#),
            ErrorCode::InvalidContext
        );
        assert_eq!(
            code(r#"{"context": {"targetingKey": "a", "user_id": "b"}}"#),
            ErrorCode::InvalidContext
        );
        let deep = format!(
            "{{\"context\": {{\"a\": {}1{}}}}}",
            "[".repeat(8),
            "]".repeat(8)
        );
        assert_eq!(code(&deep), ErrorCode::InvalidContext);
    }

    #[test]
    fn the_depth_scan_skips_strings() {
        assert!(!nests_deeper_than(br#"{"a": "[[[[[[[[[[\"[[[["}"#, 2));
        assert!(nests_deeper_than(br#"{"a": [[1]]}"#, 2));
        assert!(!nests_deeper_than(br#"{"a": [1], "b": {"c": 2}}"#, 2));
    }

    #[test]
    fn every_reason_is_an_openfeature_name() {
        let names = [
            (Reason::KillSwitch, "DISABLED"),
            (Reason::Disabled, "DISABLED"),
            (Reason::AllowRule(0), "TARGETING_MATCH"),
            (Reason::DenyRule(1), "TARGETING_MATCH"),
            (Reason::PrerequisiteOff(0), "TARGETING_MATCH"),
            (Reason::InRollout, "SPLIT"),
            (Reason::OutOfRollout, "SPLIT"),
            (Reason::MissingUserId, "DEFAULT"),
            (Reason::NoRollout, "DEFAULT"),
        ];
        for (reason, name) in names {
            assert_eq!(openfeature_reason(reason), name, "{reason}");
        }
    }
}
