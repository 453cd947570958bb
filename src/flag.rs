//! Flags, flag sets and the fixed evaluation order.

use crate::bucket::bucket;
use crate::compile::compile;
use crate::compile::Compiled;
use crate::error::Error;
use crate::plan::{Program, Segment};
use crate::schedule::{Now, Schedule};
use crate::syntax::ast::Expr;
use crate::value::Context;
use crate::value::{key_eq, word_at, Value};
use crate::{Format, Limits};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// A compiled targeting rule.
///
/// ```
/// use killswitch::{Context, Rule};
/// let rule = Rule::parse(r#"email endsWith "@internal.com" and not segment == "legacy""#)?;
/// let staff = Context::new().with("email", "ana@internal.com");
/// let legacy = Context::new().with("email", "bo@internal.com").with("segment", "legacy");
/// assert!(rule.matches(&staff));
/// assert!(!rule.matches(&legacy));
/// # Ok::<(), killswitch::Error>(())
/// ```
#[derive(Debug)]
pub struct Rule {
    source: Box<str>,
    expr: Expr,
    node: Program,
    /// The segments the rule refers to directly (shared with every other
    /// rule that uses them), for explanations.
    pub(crate) segments: Box<[Arc<Segment>]>,
}

impl Rule {
    /// Parses and compiles rule text with the default [`Limits`].
    pub fn parse(text: &str) -> Result<Rule, Error> {
        Rule::parse_with(text, &Limits::default())
    }

    /// Parses and compiles rule text within `limits`.
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Rule, Error> {
        let expr = crate::syntax::parse(text, limits)?;
        let node = compile(&expr, limits).map_err(|e| e.with_source(text))?;
        Ok(Rule {
            source: text.into(),
            expr,
            node,
            segments: Box::new([]),
        })
    }

    /// Compiles an expression (from [`ast::parse`](crate::ast::parse) or
    /// built by hand).
    ///
    /// ```
    /// use killswitch::{ast, Context, Limits, Rule};
    /// let expr = ast::parse("tier in [\"gold\", \"platinum\"]")?;
    /// let rule = Rule::from_expr(expr, &Limits::default())?;
    /// assert_eq!(rule.source(), r#"tier in ["gold", "platinum"]"#);
    /// assert!(rule.matches(&Context::new().with("tier", "gold")));
    /// # Ok::<(), killswitch::Error>(())
    /// ```
    pub fn from_expr(expr: Expr, limits: &Limits) -> Result<Rule, Error> {
        let node = compile(&expr, limits)?;
        Ok(Rule {
            source: expr.to_string().into(),
            expr,
            node,
            segments: Box::new([]),
        })
    }

    /// Whether the rule matches the context. Never fails: a missing
    /// attribute or a value of the wrong type makes a comparison false.
    pub fn matches(&self, ctx: &Context<'_>) -> bool {
        self.node.eval(ctx)
    }

    /// The rule's text: as written, or the canonical text of a rule that
    /// came from the structured form.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The rule's syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

/// Why a flag evaluated the way it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The kill switch is on: off for everyone.
    KillSwitch,
    /// The flag is not enabled: off for everyone.
    Disabled,
    /// The allow rule at this index (0-based) matched: on.
    AllowRule(usize),
    /// The deny rule at this index (0-based) matched: off.
    DenyRule(usize),
    /// The user's bucket is below the rollout percentage: on.
    InRollout,
    /// The user's bucket is at or above the rollout percentage: off.
    OutOfRollout,
    /// The context has no string `user_id` (or no string at the flag's
    /// `bucket_by` attribute), so it cannot be bucketed: off.
    MissingUserId,
    /// The flag has no `rollout_percentage` and no rule decided: off.
    NoRollout,
    /// No flag has this key: off.
    UnknownFlag,
    /// The prerequisite at this index of the flag's `requires` list
    /// (0-based) is off for this context: off. The flag's
    /// [`Flag::prerequisites`] names it.
    PrerequisiteOff(usize),
}

impl Reason {
    /// The reason's stable name, as the command line prints it
    /// (`allow_rule`, `in_rollout`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::KillSwitch => "kill_switch",
            Reason::Disabled => "disabled",
            Reason::AllowRule(_) => "allow_rule",
            Reason::DenyRule(_) => "deny_rule",
            Reason::InRollout => "in_rollout",
            Reason::OutOfRollout => "out_of_rollout",
            Reason::MissingUserId => "missing_user_id",
            Reason::NoRollout => "no_rollout",
            Reason::UnknownFlag => "unknown_flag",
            Reason::PrerequisiteOff(_) => "prerequisite_off",
        }
    }

    /// The index of the rule that decided, for [`Reason::AllowRule`] and
    /// [`Reason::DenyRule`].
    pub fn rule(self) -> Option<usize> {
        match self {
            Reason::AllowRule(i) | Reason::DenyRule(i) => Some(i),
            _ => None,
        }
    }

    /// The index in the flag's `requires` list of the prerequisite that
    /// was off, for [`Reason::PrerequisiteOff`].
    pub fn prerequisite(self) -> Option<usize> {
        match self {
            Reason::PrerequisiteOff(i) => Some(i),
            _ => None,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule().or(self.prerequisite()) {
            Some(i) => write!(f, "{} {i}", self.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

/// The outcome of evaluating a flag for a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the feature is on.
    pub enabled: bool,
    /// Which step of the evaluation order decided.
    pub reason: Reason,
    /// The user's bucket (0..=99), whenever bucketing ran.
    pub bucket: Option<u8>,
    /// The rollout percentage the bucket was compared with, whenever the
    /// rollout step was reached: the flag's `rollout_percentage`, or the
    /// percentage its schedule gives at the time of evaluation.
    pub percentage: Option<u8>,
    /// The index of the `rollout_schedule` entry that set
    /// [`Decision::percentage`]; `None` when `rollout_percentage` set it.
    pub schedule_step: Option<usize>,
}

impl Decision {
    const fn new(enabled: bool, reason: Reason) -> Decision {
        Decision {
            enabled,
            reason,
            bucket: None,
            percentage: None,
            schedule_step: None,
        }
    }
}

/// A `bucket_by` attribute path, split once.
#[derive(Debug)]
pub(crate) struct BucketBy {
    pub(crate) dotted: Box<str>,
    pub(crate) segments: Box<[Box<str>]>,
}

/// One compiled flag.
#[derive(Debug)]
pub struct Flag {
    pub(crate) key: Box<str>,
    pub(crate) enabled: bool,
    pub(crate) kill_switch: bool,
    pub(crate) rollout_percentage: Option<u8>,
    /// The attribute whose string is bucketed, when not `user_id`.
    pub(crate) bucket_by: Option<BucketBy>,
    pub(crate) allow: Box<[Rule]>,
    pub(crate) deny: Box<[Rule]>,
    /// Flags that must be on for the same context, resolved to the
    /// compiled flags themselves (acyclic and bounded in depth and fan-out
    /// by the loader).
    pub(crate) requires: Box<[Arc<Flag>]>,
    /// The rollout percentage over time.
    pub(crate) schedule: Option<Schedule>,
}

impl Flag {
    /// Evaluates the flag in the fixed order: kill switch (off) -> not
    /// enabled (off) -> prerequisites (off unless all are on) -> any allow
    /// rule (on) -> any deny rule (off) -> the rollout bucket
    /// (`bucket < percentage`) -> off.
    ///
    /// A flag with a `rollout_schedule` reads the system clock; use
    /// [`Flag::evaluate_at`] to give the time instead. Never fails, never
    /// panics and never allocates.
    pub fn evaluate(&self, ctx: &Context<'_>) -> Decision {
        self.decide(ctx, &Now::system())
    }

    /// Evaluates the flag as at time `now`: the clock a rollout schedule
    /// (of this flag or of a prerequisite) is read against.
    ///
    /// ```
    /// use killswitch::{Context, FlagSet};
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let flags = FlagSet::from_json(r#"{
    ///     "flag_key": "ramp", "enabled": true,
    ///     "rollout_schedule": [{"at": "2030-01-01T00:00:00Z", "percentage": 100}]
    /// }"#)?;
    /// let user = Context::new().with("user_id", "u1");
    /// let before = UNIX_EPOCH + Duration::from_secs(1_893_455_999); // 2029-12-31T23:59:59Z
    /// let flag = flags.get("ramp").unwrap();
    /// assert!(!flag.evaluate_at(&user, before).enabled);
    /// let after = flag.evaluate_at(&user, before + Duration::from_secs(1));
    /// assert!(after.enabled);
    /// assert_eq!((after.percentage, after.schedule_step), (Some(100), Some(0)));
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn evaluate_at(&self, ctx: &Context<'_>, now: SystemTime) -> Decision {
        self.decide(ctx, &Now::at(now))
    }

    fn decide(&self, ctx: &Context<'_>, now: &Now) -> Decision {
        if self.kill_switch {
            return Decision::new(false, Reason::KillSwitch);
        }
        if !self.enabled {
            return Decision::new(false, Reason::Disabled);
        }
        // Recursion is bounded: the loader rejects cycles and chains deeper
        // than `MAX_PREREQUISITE_DEPTH`.
        if let Some(i) = self
            .requires
            .iter()
            .position(|p| !p.decide(ctx, now).enabled)
        {
            return Decision::new(false, Reason::PrerequisiteOff(i));
        }
        if let Some(i) = self.allow.iter().position(|r| r.matches(ctx)) {
            return Decision::new(true, Reason::AllowRule(i));
        }
        if let Some(i) = self.deny.iter().position(|r| r.matches(ctx)) {
            return Decision::new(false, Reason::DenyRule(i));
        }
        let (percentage, schedule_step) = match self.percentage(now) {
            Some(p) => p,
            None => return Decision::new(false, Reason::NoRollout),
        };
        let mut decision = Decision::new(false, Reason::MissingUserId);
        decision.percentage = Some(percentage);
        decision.schedule_step = schedule_step;
        let Some(bucket_key) = self.bucket_key(ctx) else {
            return decision;
        };
        let b = bucket(bucket_key, &self.key);
        decision.enabled = b < percentage;
        decision.reason = if decision.enabled {
            Reason::InRollout
        } else {
            Reason::OutOfRollout
        };
        decision.bucket = Some(b);
        decision
    }

    /// The rollout percentage in force and the schedule entry that set it.
    /// Before a schedule's first entry, `rollout_percentage` applies, or 0.
    fn percentage(&self, now: &Now) -> Option<(u8, Option<usize>)> {
        match &self.schedule {
            None => self.rollout_percentage.map(|p| (p, None)),
            Some(schedule) => Some(match schedule.at(now.get()) {
                Some((p, step)) => (p, Some(step)),
                None => (self.rollout_percentage.unwrap_or(0), None),
            }),
        }
    }

    /// The rollout percentage in force at `now`, and the index of the
    /// `rollout_schedule` entry that set it (`None` when it is the flag's
    /// `rollout_percentage`); `None` when the flag has no rollout.
    pub fn percentage_at(&self, now: SystemTime) -> Option<(u8, Option<usize>)> {
        self.percentage(&Now::at(now))
    }

    /// The string the rollout buckets: the `bucket_by` attribute's value,
    /// or `user_id`; `None` when the context has no string there.
    #[inline]
    pub(crate) fn bucket_key<'c>(&self, ctx: &'c Context<'_>) -> Option<&'c str> {
        match &self.bucket_by {
            None => ctx.user_id(),
            Some(by) => ctx.lookup(&by.dotted, &by.segments).and_then(Value::as_str),
        }
    }

    /// The attribute path the rollout buckets by (`user_id` unless the
    /// config sets `bucket_by`).
    pub fn bucket_by(&self) -> &str {
        self.bucket_by.as_ref().map_or("user_id", |b| &b.dotted)
    }

    /// The flag's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the flag is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the kill switch is on.
    pub fn kill_switch(&self) -> bool {
        self.kill_switch
    }

    /// The rollout percentage, if any.
    pub fn rollout_percentage(&self) -> Option<u8> {
        self.rollout_percentage
    }

    /// The allow rules, in order.
    pub fn allow_rules(&self) -> &[Rule] {
        &self.allow
    }

    /// The deny rules, in order.
    pub fn deny_rules(&self) -> &[Rule] {
        &self.deny
    }

    /// The flags this flag requires (its `requires` list), in order.
    pub fn prerequisites(&self) -> &[Arc<Flag>] {
        &self.requires
    }

    /// Whether the flag has a `rollout_schedule`.
    pub fn has_schedule(&self) -> bool {
        self.schedule.is_some()
    }
}

/// An immutable set of compiled flags: `Send + Sync`, meant to be built
/// once, shared (for example in an `Arc`) and swapped whole on reload.
///
/// ```
/// use killswitch::{Context, FlagSet, Reason};
/// let flags = FlagSet::from_json(r#"{
///     "flag_key": "new_search_ui",
///     "enabled": true,
///     "kill_switch": false,
///     "rollout_percentage": 20,
///     "targeting_rules": {
///         "allow_list": ["email endsWith \"@internal.com\""],
///         "deny_list": [{"attribute": "segment", "operator": "equals", "value": "legacy"}]
///     }
/// }"#)?;
/// let staff = Context::new().with("user_id", "u1").with("email", "ana@internal.com");
/// assert_eq!(flags.evaluate("new_search_ui", &staff).reason, Reason::AllowRule(0));
///
/// let legacy = Context::new().with("user_id", "u2").with("segment", "legacy");
/// assert_eq!(flags.evaluate("new_search_ui", &legacy).reason, Reason::DenyRule(0));
///
/// let user = Context::new().with("user_id", "user_123");
/// let decision = flags.evaluate("new_search_ui", &user);
/// assert_eq!(decision.bucket, Some(45));
/// assert!(!decision.enabled); // 45 is not below 20
/// # Ok::<(), killswitch::ConfigError>(())
/// ```
#[derive(Debug, Default)]
pub struct FlagSet {
    flags: Box<[Arc<Flag>]>,
    index: KeyIndex,
}

impl FlagSet {
    pub(crate) fn new(flags: Vec<Arc<Flag>>) -> FlagSet {
        let index = KeyIndex::new(&flags);
        FlagSet {
            flags: flags.into_boxed_slice(),
            index,
        }
    }

    /// The flag with this key.
    pub fn get(&self, key: &str) -> Option<&Flag> {
        self.index.find(&self.flags, key)
    }

    /// Evaluates the flag with this key; an unknown key is off, with
    /// [`Reason::UnknownFlag`].
    pub fn evaluate(&self, key: &str, ctx: &Context<'_>) -> Decision {
        match self.get(key) {
            Some(flag) => flag.evaluate(ctx),
            None => Decision::new(false, Reason::UnknownFlag),
        }
    }

    /// Evaluates the flag with this key as at time `now` (see
    /// [`Flag::evaluate_at`]).
    pub fn evaluate_at(&self, key: &str, ctx: &Context<'_>, now: SystemTime) -> Decision {
        match self.get(key) {
            Some(flag) => flag.evaluate_at(ctx, now),
            None => Decision::new(false, Reason::UnknownFlag),
        }
    }

    /// The flags, in file order.
    pub fn flags(&self) -> &[Arc<Flag>] {
        &self.flags
    }

    /// How many flags there are.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether there are no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Compiles a JSON config with the default [`Limits`]; see the README
    /// for the format. All problems are reported at once.
    pub fn from_json(text: &str) -> Result<FlagSet, crate::ConfigError> {
        FlagSet::from_json_with(text, &Limits::default())
    }

    /// Compiles a JSON config within `limits`.
    pub fn from_json_with(text: &str, limits: &Limits) -> Result<FlagSet, crate::ConfigError> {
        FlagSet::from_text(text, Format::Json, limits)
    }

    /// Compiles a config in any [`Format`] within `limits`. Every problem
    /// is reported at its line and column in `text`.
    ///
    /// ```
    /// use killswitch::{Context, FlagSet, Format, Limits, Reason};
    /// let toml = r#"
    /// [[flags]]
    /// flag_key = "new_search_ui"
    /// enabled = true
    /// targeting_rules.allow_list = ['email endsWith "@internal.com"']
    /// "#;
    /// let flags = FlagSet::from_text(toml, Format::Toml, &Limits::default())?;
    /// let staff = Context::new().with("user_id", "u1").with("email", "ana@internal.com");
    /// assert_eq!(flags.evaluate("new_search_ui", &staff).reason, Reason::AllowRule(0));
    ///
    /// let yaml = "flag_key: f\nenabled: true\ntargeting_rules:\n  allow_list: [email endswith 'x']\n";
    /// let err = FlagSet::from_text(yaml, Format::Yaml, &Limits::default()).unwrap_err();
    /// let (line, column) = err.diagnostics()[0].line_column().unwrap();
    /// assert_eq!((line, column), (4, 22)); // at `endswith`
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn from_text(
        text: &str,
        format: Format,
        limits: &Limits,
    ) -> Result<FlagSet, crate::ConfigError> {
        crate::config::load(text, format, limits).map_err(|d| crate::ConfigError::new(None, d))
    }

    /// Reads and compiles a config file, in the [`Format`] its extension
    /// names ([`Format::from_path`]: `.yaml`/`.yml`, `.toml`, else JSON).
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<FlagSet, crate::ConfigError> {
        FlagSet::load_with(path, &Limits::default())
    }

    /// Reads and compiles a config file within `limits`, in the [`Format`]
    /// its extension names.
    pub fn load_with(
        path: impl AsRef<std::path::Path>,
        limits: &Limits,
    ) -> Result<FlagSet, crate::ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| crate::ConfigError::io(name.clone(), &e))?;
        let text = crate::config::decode(&bytes)
            .map_err(|d| crate::ConfigError::new(Some(name.clone()), vec![*d]))?;
        crate::config::load(text, Format::from_path(path), limits)
            .map_err(|d| crate::ConfigError::new(Some(name), d))
    }
}

/// An open-addressing index from flag key to position, probed linearly.
///
/// Flag keys come from trusted config, so hash flooding is not a concern;
/// the hash is FxHash's multiply-rotate over 8-byte words, and keys are
/// compared with the same inline comparison as attribute names. This is
/// cheaper than `HashMap<Box<str>, usize>` with SipHash on the hot path.
#[derive(Debug, Default)]
struct KeyIndex {
    /// Positions in the flag list; `EMPTY` marks a free slot. The length is
    /// a power of two at least twice the number of flags, so a probe always
    /// reaches a free slot.
    slots: Box<[u32]>,
}

const EMPTY: u32 = u32::MAX;

impl KeyIndex {
    fn new(flags: &[Arc<Flag>]) -> KeyIndex {
        let size = (flags.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![EMPTY; size].into_boxed_slice();
        let mask = size - 1;
        for (i, flag) in flags.iter().enumerate() {
            let mut at = hash_key(flag.key.as_bytes()) & mask;
            while slots[at] != EMPTY {
                at = (at + 1) & mask;
            }
            // Config files hold far fewer than 2^32 flags.
            slots[at] = u32::try_from(i).unwrap_or(EMPTY);
        }
        KeyIndex { slots }
    }

    fn find<'f>(&self, flags: &'f [Arc<Flag>], key: &str) -> Option<&'f Flag> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = hash_key(key.as_bytes()) & mask;
        loop {
            let slot = *self.slots.get(at)?;
            let flag = flags.get(slot as usize)?;
            if key_eq(flag.key.as_bytes(), key.as_bytes()) {
                return Some(flag);
            }
            at = (at + 1) & mask;
        }
    }
}

/// Hashes the length and the first and last eight bytes (overlapping for
/// short keys): constant time whatever the key's length. Keys that differ
/// only in their middle collide and are told apart by probing.
fn hash_key(bytes: &[u8]) -> usize {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let n = bytes.len();
    let (head, tail) = if n >= 8 {
        (word_at(bytes, 0), word_at(bytes, n - 8))
    } else {
        let mut w = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            w |= u64::from(*b) << (8 * i);
        }
        (w, 0)
    };
    let h = ((n as u64).rotate_left(5) ^ head).wrapping_mul(SEED);
    let h = (h.rotate_left(5) ^ tail).wrapping_mul(SEED);
    // The high bits are the best mixed.
    (h >> 32) as usize
}

impl Rule {
    /// A rule from its tree and its compiled form; `source` is the text it
    /// was written as, or `None` to print the tree.
    pub(crate) fn from_parts(expr: Expr, source: Option<&str>, compiled: Compiled) -> Rule {
        Rule {
            source: source.map_or_else(|| expr.to_string().into(), Into::into),
            expr,
            node: compiled.program,
            segments: compiled.uses.into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_values_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FlagSet>();
        assert_send_sync::<Rule>();
        assert_send_sync::<Decision>();
    }

    #[test]
    fn key_index_finds_every_key_and_only_those() {
        let keys: Vec<String> = (0..300)
            .map(|i| format!("feature_{i}_with_a_long_common_suffix"))
            .collect();
        let json: Vec<String> = keys
            .iter()
            .map(|k| format!(r#"{{"flag_key": "{k}", "enabled": true}}"#))
            .collect();
        let set = FlagSet::from_json(&format!("[{}]", json.join(","))).unwrap();
        for k in &keys {
            assert_eq!(set.get(k).map(Flag::key), Some(k.as_str()));
        }
        assert!(set.get("feature_300_with_a_long_common_suffix").is_none());
        assert!(set.get("").is_none());
        assert!(FlagSet::default().get("x").is_none());
    }
}
