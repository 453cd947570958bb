//! What an evaluation answers: on or off, and the step that decided.

use std::fmt;

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
    /// [`Flag::prerequisites`](crate::Flag::prerequisites) names it.
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

    /// The OpenFeature reason name the OFREP service and the bindings
    /// report for it: a kill switch and a disabled flag are `DISABLED`;
    /// allow and deny rules `TARGETING_MATCH`, and so is a prerequisite
    /// that is off (the other flag was evaluated for this context, so the
    /// answer depends on who asks); in or out of the rollout `SPLIT`; no
    /// rollout and a context without a bucketing key `DEFAULT`; an unknown
    /// flag `ERROR` (OFREP answers it with `FLAG_NOT_FOUND`).
    ///
    /// ```
    /// use killswitch::Reason;
    /// assert_eq!(Reason::KillSwitch.openfeature_reason(), "DISABLED");
    /// assert_eq!(Reason::PrerequisiteOff(0).openfeature_reason(), "TARGETING_MATCH");
    /// ```
    pub fn openfeature_reason(self) -> &'static str {
        match self {
            Reason::KillSwitch | Reason::Disabled => "DISABLED",
            Reason::AllowRule(_) | Reason::DenyRule(_) | Reason::PrerequisiteOff(_) => {
                "TARGETING_MATCH"
            }
            Reason::InRollout | Reason::OutOfRollout => "SPLIT",
            Reason::MissingUserId | Reason::NoRollout => "DEFAULT",
            Reason::UnknownFlag => "ERROR",
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
    /// For a flag with variants, the variant served: an index into
    /// [`Flag::variants`](crate::Flag::variants) (its value is
    /// [`Flag::variant`](crate::Flag::variant)). `None` for a boolean flag
    /// and for an unknown one.
    pub variant: Option<u16>,
    /// The user's split bucket (0..=9999), whenever a `split` chose the
    /// variant: bytes 4..8 of the same SHA-256 whose bytes 0..4 give
    /// [`Decision::bucket`], big-endian, modulo 10 000.
    pub split_bucket: Option<u16>,
}

impl Decision {
    pub(crate) const fn new(enabled: bool, reason: Reason) -> Decision {
        Decision {
            enabled,
            reason,
            bucket: None,
            percentage: None,
            schedule_step: None,
            variant: None,
            split_bucket: None,
        }
    }
}
