//! One compiled flag and the fixed evaluation order.

use super::bucket::{buckets, BucketMemo};
use super::decision::{Decision, Reason};
use super::metadata::Metadata;
use super::rule::Rule;
use super::schedule::{Now, Schedule, ScheduleEntry};
use super::variant::{Serve, Variant, Variants};
use crate::value::{Context, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// Which list a rule is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleList {
    Allow,
    Deny,
}

/// Listens to the evaluation order as it runs. Every hook has an empty
/// default, and [`Flag::evaluate`] uses [`NoTrace`], which keeps them all:
/// monomorphised, the plain evaluation compiles to what it was before
/// tracing existed.
pub(crate) trait Tracer {
    /// The kill switch was read.
    #[inline(always)]
    fn kill_switch(&mut self, _on: bool) {}
    /// `enabled` was read.
    #[inline(always)]
    fn enabled(&mut self, _on: bool) {}
    /// Prerequisite `index` decided `decision` for this context.
    #[inline(always)]
    fn prerequisite(&mut self, _index: usize, _flag: &Flag, _decision: Decision) {}
    /// Evaluates rule `index` of `list`: by default plainly; a tracer may
    /// watch the rule's program run (it must return what the rule gives).
    #[inline(always)]
    fn rule(&mut self, _list: RuleList, _index: usize, rule: &Rule, ctx: &Context<'_>) -> bool {
        rule.matches(ctx)
    }
    /// The rollout and split buckets of `key ++ flag`: by default hashed;
    /// a tracer may remember them ([`BucketMemo`]).
    #[inline(always)]
    fn buckets(&mut self, key: &str, flag: &str) -> (u8, u16) {
        buckets(key, flag)
    }
    /// The tracer a prerequisite's own evaluation runs with: by default
    /// none (its steps are not this flag's); a memo shares its hashes.
    #[inline(always)]
    fn prerequisite_tracer(&mut self) -> Option<Memo<'_>> {
        None
    }
}

/// The tracer that only remembers the last hashes, for a flag and its
/// prerequisites.
pub(crate) struct Memo<'m>(&'m mut BucketMemo);

impl Tracer for Memo<'_> {
    #[inline(always)]
    fn buckets(&mut self, key: &str, flag: &str) -> (u8, u16) {
        self.0.buckets(key, flag)
    }
    #[inline(always)]
    fn prerequisite_tracer(&mut self) -> Option<Memo<'_>> {
        Some(Memo(self.0))
    }
}

/// The tracer that records nothing: plain evaluation.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {}

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
    /// The variants a multivariate flag serves; `None` for a boolean flag.
    pub(crate) variants: Option<Variants>,
    /// Description, owner, type, expiry: never read by the evaluation
    /// order.
    pub(crate) metadata: Metadata,
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

    /// Evaluates the flag like [`Flag::evaluate`] (with `now: None`) or
    /// [`Flag::evaluate_at`], taking the rollout hash from `memo` when its
    /// last hash was of the same bucketing key and flag key: evaluating two
    /// versions of a flag for the same user (as `killswitch diff` does)
    /// hashes once. The decision is the same as without the memo.
    ///
    /// ```
    /// use killswitch::{BucketMemo, Context, FlagSet};
    /// let old = FlagSet::from_json(r#"{"flag_key": "beta", "enabled": true, "rollout_percentage": 20}"#)?;
    /// let new = FlagSet::from_json(r#"{"flag_key": "beta", "enabled": true, "rollout_percentage": 60}"#)?;
    /// let mut memo = BucketMemo::new();
    /// let user = Context::new().with("user_id", "user_123");
    /// let before = old.get("beta").unwrap().evaluate_with_memo(&user, None, &mut memo);
    /// let after = new.get("beta").unwrap().evaluate_with_memo(&user, None, &mut memo); // no second hash
    /// assert_eq!(before.bucket, after.bucket);
    /// assert_eq!(after, new.evaluate("beta", &user));
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn evaluate_with_memo(
        &self,
        ctx: &Context<'_>,
        now: Option<SystemTime>,
        memo: &mut BucketMemo,
    ) -> Decision {
        let now = now.map_or_else(Now::system, Now::at);
        self.decide_traced(ctx, &now, &mut Memo(memo))
    }

    #[inline]
    pub(crate) fn decide(&self, ctx: &Context<'_>, now: &Now) -> Decision {
        self.decide_traced(ctx, now, &mut NoTrace)
    }

    /// The evaluation order, written once: [`Flag::evaluate`] runs it with
    /// [`NoTrace`] (every hook an empty inline function), explanations with
    /// a tracer that records each step.
    ///
    /// The boolean decision comes first and alone decides on or off; a
    /// flag with variants then serves one: the off variant when off, else
    /// the variant the deciding allow rule pins, else `on_variant`, else
    /// the split's. The split bucket comes from the same SHA-256 as the
    /// rollout bucket, so an evaluation hashes at most once.
    #[inline]
    pub(crate) fn decide_traced<T: Tracer>(
        &self,
        ctx: &Context<'_>,
        now: &Now,
        tracer: &mut T,
    ) -> Decision {
        let mut split_bucket = None;
        let mut decision = self.decide_boolean(ctx, now, tracer, &mut split_bucket);
        if let Some(variants) = &self.variants {
            self.serve(variants, &mut decision, split_bucket, ctx, tracer);
        }
        decision
    }

    /// The boolean decision: the evaluation order itself. When the rollout
    /// step hashes and the flag's split will need it, the split bucket of
    /// the same digest is left in `split_bucket`.
    #[inline]
    fn decide_boolean<T: Tracer>(
        &self,
        ctx: &Context<'_>,
        now: &Now,
        tracer: &mut T,
        split_bucket: &mut Option<u16>,
    ) -> Decision {
        tracer.kill_switch(self.kill_switch);
        if self.kill_switch {
            return Decision::new(false, Reason::KillSwitch);
        }
        tracer.enabled(self.enabled);
        if !self.enabled {
            return Decision::new(false, Reason::Disabled);
        }
        // Recursion is bounded: the loader rejects cycles and chains deeper
        // than `MAX_PREREQUISITE_DEPTH`.
        for (i, parent) in self.requires.iter().enumerate() {
            let d = match tracer.prerequisite_tracer() {
                Some(mut memo) => parent.decide_traced(ctx, now, &mut memo),
                None => parent.decide(ctx, now),
            };
            tracer.prerequisite(i, parent, d);
            if !d.enabled {
                return Decision::new(false, Reason::PrerequisiteOff(i));
            }
        }
        for (i, rule) in self.allow.iter().enumerate() {
            if tracer.rule(RuleList::Allow, i, rule, ctx) {
                return Decision::new(true, Reason::AllowRule(i));
            }
        }
        for (i, rule) in self.deny.iter().enumerate() {
            if tracer.rule(RuleList::Deny, i, rule, ctx) {
                return Decision::new(false, Reason::DenyRule(i));
            }
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
        let (b, split) = tracer.buckets(bucket_key, &self.key);
        if self.variants.as_ref().is_some_and(|v| v.needs_split(None)) {
            *split_bucket = Some(split);
        }
        decision.enabled = b < percentage;
        decision.reason = if decision.enabled {
            Reason::InRollout
        } else {
            Reason::OutOfRollout
        };
        decision.bucket = Some(b);
        decision
    }

    /// Sets the variant a decision serves: the off variant when off; when
    /// on, the deciding allow rule's pinned variant, else `on_variant`,
    /// else the split's variant at the user's split bucket (the split's
    /// first variant for a context with no bucketing key).
    #[inline]
    fn serve<T: Tracer>(
        &self,
        variants: &Variants,
        decision: &mut Decision,
        split_bucket: Option<u16>,
        ctx: &Context<'_>,
        tracer: &mut T,
    ) {
        if !decision.enabled {
            decision.variant = Some(variants.off);
            return;
        }
        let rule = decision.reason.rule();
        if let Some(pinned) = rule.and_then(|i| variants.pins.get(i).copied().flatten()) {
            decision.variant = Some(pinned);
            return;
        }
        match &variants.serve {
            Serve::On(v) => decision.variant = Some(*v),
            Serve::Split(arms) => {
                // On by an allow rule, nothing was hashed yet: hash now,
                // once.
                let bucket = split_bucket
                    .or_else(|| self.bucket_key(ctx).map(|k| tracer.buckets(k, &self.key).1));
                decision.split_bucket = bucket;
                decision.variant = Some(match bucket {
                    Some(b) => Variants::split_at(arms, b),
                    None => arms.first().map_or(variants.off, |arm| arm.variant),
                });
            }
        }
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

    /// The flag's metadata: description, owner, tags, type and expiry.
    /// It never changes a decision.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
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

    /// The flag's `rollout_schedule`, in time order; empty without one.
    ///
    /// ```
    /// use killswitch::FlagSet;
    /// let flags = FlagSet::from_json(r#"{"flag_key": "f", "enabled": true,
    ///     "rollout_schedule": [{"at": "2026-12-01T09:00:00Z", "percentage": 10},
    ///                          {"from": "2026-12-02T00:00:00Z", "to": "2026-12-03T00:00:00Z",
    ///                           "start_percentage": 10, "end_percentage": 50}]}"#)?;
    /// let schedule = flags.get("f").unwrap().schedule();
    /// assert_eq!(schedule.len(), 2);
    /// assert_eq!(schedule[0].start, schedule[0].end);
    /// assert_eq!((schedule[1].from_percentage, schedule[1].to_percentage), (10, 50));
    /// assert_eq!(schedule[1].start, killswitch::parse_time("2026-12-02T00:00:00Z").unwrap());
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn schedule(&self) -> Vec<ScheduleEntry> {
        self.schedule.as_ref().map_or_else(Vec::new, |s| {
            s.phases().iter().copied().map(ScheduleEntry::of).collect()
        })
    }

    /// The flag's variants, in the order of the config; empty for a
    /// boolean flag.
    pub fn variants(&self) -> &[Variant] {
        self.variants.as_ref().map_or(&[], |v| &v.all)
    }

    /// The variant at `index` (a [`Decision::variant`]).
    pub fn variant(&self, index: u16) -> Option<&Variant> {
        self.variants().get(usize::from(index))
    }

    /// The index of the variant served whenever the flag is off (its
    /// `off_variant`); `None` for a boolean flag.
    pub fn off_variant(&self) -> Option<u16> {
        self.variants.as_ref().map(|v| v.off)
    }

    /// The index of the variant served whenever the flag is on and no
    /// allow rule pins one (its `on_variant`); `None` for a flag with a
    /// split, or a boolean flag.
    pub fn on_variant(&self) -> Option<u16> {
        match self.variants.as_ref().map(|v| &v.serve) {
            Some(Serve::On(i)) => Some(*i),
            _ => None,
        }
    }

    /// The index of the variant allow rule `rule` pins (its `variant`);
    /// `None` when it pins none, or for a boolean flag.
    pub fn pinned_variant(&self, rule: usize) -> Option<u16> {
        self.variants
            .as_ref()
            .and_then(|v| v.pins.get(rule).copied().flatten())
    }

    /// The flag's split, in the order of the config: each arm's variant
    /// index and weight in basis points (1/100 of a percent; the weights
    /// sum to 10 000). Empty for a flag with an `on_variant`, or a boolean
    /// flag.
    pub fn split(&self) -> Vec<(u16, u16)> {
        match self.variants.as_ref().map(|v| &v.serve) {
            Some(Serve::Split(arms)) => {
                let mut below = 0;
                arms.iter()
                    .map(|arm| {
                        let weight = arm.upper.saturating_sub(below);
                        below = arm.upper;
                        (arm.variant, weight)
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}
