//! An [OpenFeature](https://openfeature.dev) provider for the
//! [`open-feature`](https://docs.rs/open-feature) crate that evaluates
//! killswitch flags in process: a service that already asks OpenFeature
//! (for example through an OFREP provider talking to `killswitch serve`)
//! switches to in-process evaluation by changing the line that sets the
//! provider.
//!
//! Decisions map to OpenFeature as the OFREP service maps them, so that the
//! switch changes no answer:
//!
//! - values are typed: a boolean flag serves `true`/`false` (variants `on`
//!   and `off`), a flag with variants its variant's JSON value;
//! - a killed or disabled flag resolves to its off value with reason
//!   `DISABLED`, never to the caller's default;
//! - the context's targeting key is the user id; a `user_id` attribute that
//!   differs from it is `INVALID_CONTEXT`;
//! - an unknown key is `FLAG_NOT_FOUND`, a value of another type than the
//!   one asked for `TYPE_MISMATCH` (the caller's default then applies).
//!   OpenFeature's Rust values have no `null`: a variant whose value is
//!   `null` is a `TYPE_MISMATCH` for every type, and a `null` inside an
//!   object or a list is left out.
//!
//! ```
//! use killswitch::FlagSet;
//! use killswitch_openfeature::KillswitchProvider;
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let flags = FlagSet::from_json(r#"{"flag_key": "checkout", "enabled": true, "kill_switch": true}"#)?;
//! let mut api = OpenFeature::singleton_mut().await;
//! api.set_provider(KillswitchProvider::new(flags)).await; // the one line
//! let client = api.create_client();
//! let ctx = EvaluationContext::default().with_targeting_key("user_123");
//! // Killed: off, whatever the default.
//! assert!(!client.get_bool_value("checkout", Some(&ctx), None).await.unwrap_or(true));
//! # Ok::<(), killswitch::ConfigError>(())
//! # }).unwrap();
//! ```

#![forbid(unsafe_code)]

use async_trait::async_trait;
use killswitch::store::Store;
use killswitch::{Context, Decision, Flag, Number, Reason, Value};
use open_feature::provider::{FeatureProvider, ProviderMetadata, ResolutionDetails};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode,
    EvaluationReason, EvaluationResult, FlagMetadata, StructValue,
};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

/// The clock rollout schedules are read against.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The OpenFeature provider over killswitch flags: a fixed
/// [`FlagSet`](killswitch::FlagSet) or a live [`Store`] (a config file
/// followed as it changes).
pub struct KillswitchProvider {
    store: Store,
    clock: Option<Clock>,
    metadata: ProviderMetadata,
}

impl KillswitchProvider {
    /// A provider over compiled flags.
    pub fn new(flags: killswitch::FlagSet) -> KillswitchProvider {
        KillswitchProvider::from_store(Store::new(flags))
    }

    /// A provider over a live store: every evaluation reads its current
    /// snapshot, so a reloaded file takes effect at once.
    ///
    /// ```no_run
    /// use killswitch::store::Store;
    /// use killswitch_openfeature::KillswitchProvider;
    /// let provider = KillswitchProvider::from_store(Store::watch_file("flags.json")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_store(store: Store) -> KillswitchProvider {
        KillswitchProvider {
            store,
            clock: None,
            metadata: ProviderMetadata::new("killswitch"),
        }
    }

    /// Reads rollout schedules against `clock` instead of the system
    /// clock (for tests, and for replaying a decision at a given time).
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> SystemTime + Send + Sync + 'static,
    ) -> KillswitchProvider {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The store the provider reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Evaluates a flag and converts its value with `convert` (`None`: the
    /// value is of another type than the one asked for).
    fn resolve<T>(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
        kind: &str,
        convert: impl FnOnce(Served) -> Option<T>,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let ctx = context_of(context)?;
        let snapshot = self.store.snapshot();
        let Some(flag) = snapshot.flags().get(flag_key) else {
            return Err(error(
                EvaluationErrorCode::FlagNotFound,
                format!("no flag has the key `{flag_key}`"),
            ));
        };
        let decision = match &self.clock {
            Some(clock) => flag.evaluate_at(&ctx, clock()),
            None => flag.evaluate(&ctx),
        };
        let (served, variant) = served(flag, &decision);
        let Some(value) = convert(served) else {
            return Err(error(
                EvaluationErrorCode::TypeMismatch,
                format!("flag `{flag_key}` does not serve a {kind} value"),
            ));
        };
        Ok(ResolutionDetails {
            value,
            variant: Some(variant.to_owned()),
            reason: Some(openfeature_reason(decision.reason)),
            flag_metadata: Some(metadata(flag, &decision, snapshot.version())),
        })
    }
}

impl std::fmt::Debug for KillswitchProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillswitchProvider")
            .field("version", &self.store.version())
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// What a flag serves for a decision.
enum Served {
    /// A boolean flag's `true`/`false`.
    Bool(bool),
    /// A variant's value.
    Json(serde_json::Value),
}

/// The value and variant name a decision serves: a variant flag's variant,
/// or a boolean flag's `on`/`off`.
fn served<'f>(flag: &'f Flag, decision: &Decision) -> (Served, &'f str) {
    let variant = decision
        .variant
        .and_then(|i| flag.variant(i))
        .and_then(|v| {
            let value = serde_json::from_str(v.json()).ok()?;
            Some((Served::Json(value), v.name()))
        });
    match variant {
        Some(served) => served,
        None if decision.enabled => (Served::Bool(true), "on"),
        None => (Served::Bool(false), "off"),
    }
}

/// The OpenFeature reason of a decision, as the OFREP service gives it: a
/// kill switch and a disabled flag are `DISABLED`; rules and an off
/// prerequisite `TARGETING_MATCH`; the rollout `SPLIT`; no rollout and no
/// user id `DEFAULT`.
fn openfeature_reason(reason: Reason) -> EvaluationReason {
    match reason {
        Reason::KillSwitch | Reason::Disabled => EvaluationReason::Disabled,
        Reason::AllowRule(_) | Reason::DenyRule(_) | Reason::PrerequisiteOff(_) => {
            EvaluationReason::TargetingMatch
        }
        Reason::InRollout | Reason::OutOfRollout => EvaluationReason::Split,
        Reason::MissingUserId | Reason::NoRollout => EvaluationReason::Default,
        _ => EvaluationReason::Unknown,
    }
}

/// killswitch's own account of a decision, as the OFREP service sends it
/// in `metadata`.
fn metadata(flag: &Flag, d: &Decision, version: u64) -> FlagMetadata {
    let mut m = FlagMetadata::default().with_value("reason", d.reason.as_str());
    let number = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    if let Some(rule) = d.reason.rule() {
        m.add_value("rule", number(rule));
    }
    if let Some(p) = d
        .reason
        .prerequisite()
        .and_then(|i| flag.prerequisites().get(i))
    {
        m.add_value("prerequisite", p.key());
    }
    if let Some(bucket) = d.bucket {
        m.add_value("bucket", i64::from(bucket));
    }
    if let Some(percentage) = d.percentage {
        m.add_value("percentage", i64::from(percentage));
    }
    if let Some(step) = d.schedule_step {
        m.add_value("schedule_step", number(step));
    }
    if let Some(split) = d.split_bucket {
        m.add_value("split_bucket", i64::from(split));
    }
    m.add_value("config_version", i64::try_from(version).unwrap_or(i64::MAX));
    m
}

fn error(code: EvaluationErrorCode, message: String) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message),
    }
}

fn invalid_context(message: impl Into<String>) -> EvaluationError {
    error(EvaluationErrorCode::InvalidContext, message.into())
}

/// A killswitch context from an OpenFeature one, read as the OFREP service
/// reads a request's context: the targeting key is the user id, and a
/// `user_id` attribute must be a string equal to it when both are given.
///
/// Attribute values: booleans, integers, floats and strings as they are;
/// a date-time as its RFC 3339 text; a struct holding a
/// `serde_json::Value` (`EvaluationContextFieldValue::new_struct(json)`)
/// as that JSON value (lists and nested objects, reached by dotted paths).
/// A struct of any other type is `INVALID_CONTEXT`.
fn context_of(context: &EvaluationContext) -> EvaluationResult<Context<'_>> {
    let mut ctx = Context::new();
    for (name, field) in &context.custom_fields {
        let value = match field {
            EvaluationContextFieldValue::Bool(b) => Value::Bool(*b),
            EvaluationContextFieldValue::Int(i) => Value::Number(Number::Int(*i)),
            EvaluationContextFieldValue::Float(f) => Value::Number(Number::Float(*f)),
            EvaluationContextFieldValue::String(s) => Value::String(Cow::Borrowed(s)),
            EvaluationContextFieldValue::DateTime(t) => Value::String(Cow::Owned(rfc3339(t))),
            EvaluationContextFieldValue::Struct(any) => {
                match any.downcast_ref::<serde_json::Value>() {
                    Some(json) => value_of(json),
                    None => {
                        return Err(invalid_context(format!(
                            "attribute `{name}` holds a struct the provider cannot read; \
                         give a serde_json::Value"
                        )))
                    }
                }
            }
        };
        ctx.set(name.as_str(), value);
    }
    match (ctx.get("user_id"), context.targeting_key.as_deref()) {
        (Some(Value::String(_)) | None, _) => {}
        (Some(_), _) => return Err(invalid_context("`user_id` must be a string")),
    }
    if let Some(key) = context.targeting_key.as_deref() {
        if ctx.user_id().is_some_and(|user_id| user_id != key) {
            return Err(invalid_context(
                "the targeting key and `user_id` are both given and differ; \
                 give one of them (they name the same user id)",
            ));
        }
        ctx.set("user_id", key);
    }
    Ok(ctx)
}

/// A JSON value as an attribute value.
fn value_of(json: &serde_json::Value) -> Value<'_> {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Number(Number::Int(i)),
            None => Value::Number(Number::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        serde_json::Value::String(s) => Value::String(Cow::Borrowed(s)),
        serde_json::Value::Array(xs) => Value::List(xs.iter().map(value_of).collect()),
        serde_json::Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), value_of(v)))
                .collect(),
        ),
    }
}

/// A date-time as RFC 3339 text in UTC (`2026-12-01T09:00:00.5Z`), as the
/// targeting language's date operators read it.
fn rfc3339(t: &time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.nanosecond() != 0 {
        let fraction = format!("{:09}", t.nanosecond());
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// A JSON value as an OpenFeature value; `None` for `null`, which
/// OpenFeature's Rust values cannot hold: a `null` inside a list or an
/// object is left out (the key is then absent).
fn openfeature_value(json: serde_json::Value) -> Option<open_feature::Value> {
    Some(match json {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => open_feature::Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => open_feature::Value::Int(i),
            None => open_feature::Value::Float(n.as_f64()?),
        },
        serde_json::Value::String(s) => open_feature::Value::String(s),
        serde_json::Value::Array(xs) => {
            open_feature::Value::Array(xs.into_iter().filter_map(openfeature_value).collect())
        }
        serde_json::Value::Object(fields) => open_feature::Value::Struct(struct_value(fields)),
    })
}

fn struct_value(fields: serde_json::Map<String, serde_json::Value>) -> StructValue {
    let mut out = StructValue::default();
    for (name, value) in fields {
        if let Some(value) = openfeature_value(value) {
            out.fields.insert(name, value);
        }
    }
    out
}

#[async_trait]
impl FeatureProvider for KillswitchProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve(flag_key, context, "boolean", |served| match served {
            Served::Bool(b) => Some(b),
            Served::Json(json) => json.as_bool(),
        })
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve(flag_key, context, "integer", |served| match served {
            Served::Bool(_) => None,
            Served::Json(json) => json.as_i64(),
        })
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve(flag_key, context, "number", |served| match served {
            Served::Bool(_) => None,
            Served::Json(json) => json.as_f64(),
        })
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve(flag_key, context, "string", |served| match served {
            Served::Json(serde_json::Value::String(s)) => Some(s),
            _ => None,
        })
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.resolve(flag_key, context, "object", |served| match served {
            Served::Json(serde_json::Value::Object(fields)) => Some(struct_value(fields)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_in_utc() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_764_579_600_500_000_000).unwrap();
        assert_eq!(rfc3339(&t), "2025-12-01T09:00:00.5Z");
    }

    #[test]
    fn the_targeting_key_is_the_user_id() {
        let of = EvaluationContext::default().with_targeting_key("u1");
        assert_eq!(context_of(&of).unwrap().user_id(), Some("u1"));
        let same = of.clone().with_custom_field("user_id", "u1");
        assert_eq!(context_of(&same).unwrap().user_id(), Some("u1"));
        let differ = of.clone().with_custom_field("user_id", "u2");
        assert_eq!(
            context_of(&differ).unwrap_err().code,
            EvaluationErrorCode::InvalidContext
        );
        let number = EvaluationContext::default().with_custom_field("user_id", 7);
        assert_eq!(
            context_of(&number).unwrap_err().code,
            EvaluationErrorCode::InvalidContext
        );
    }
}
