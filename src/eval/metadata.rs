//! What a flag says about itself: description, owner, tags, type, expiry.
//! Read by tools (`check`'s expiry lint, `refs`, the dashboard); never by
//! the evaluation order.

use super::schedule::system_time_of;
use crate::value::datetime::Instant;
use std::time::{Duration, SystemTime};

/// What a flag is for (its `type` field), which sets how long it is
/// expected to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FlagType {
    /// A feature being rolled out, removed once it is at 100% (the default).
    #[default]
    Release,
    /// An A/B test, removed when it concludes.
    Experiment,
    /// A short-lived operational toggle (a migration, a load shed).
    Operational,
    /// A switch kept to turn a feature off in an incident: permanent.
    KillSwitch,
    /// Access to a feature for some users (a plan, a role): permanent.
    Permission,
}

impl FlagType {
    /// Every type, in the order of the config's names.
    pub(crate) const ALL: [FlagType; 5] = [
        FlagType::Release,
        FlagType::Experiment,
        FlagType::Operational,
        FlagType::KillSwitch,
        FlagType::Permission,
    ];

    /// The name the config writes (`kill-switch`).
    ///
    /// ```
    /// assert_eq!(killswitch::FlagType::KillSwitch.as_str(), "kill-switch");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Release => "release",
            FlagType::Experiment => "experiment",
            FlagType::Operational => "operational",
            FlagType::KillSwitch => "kill-switch",
            FlagType::Permission => "permission",
        }
    }

    /// The type a config name stands for.
    pub(crate) fn from_name(name: &str) -> Option<FlagType> {
        FlagType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether flags of this type are permanent unless they say otherwise.
    pub(crate) fn permanent_by_default(self) -> bool {
        matches!(self, FlagType::KillSwitch | FlagType::Permission)
    }

    /// The expected lifetime in days when the config sets none.
    pub(crate) fn default_lifetime_days(self) -> u32 {
        match self {
            FlagType::Operational => 7,
            _ => 40,
        }
    }
}

/// A flag's metadata ([`Flag::metadata`](crate::Flag::metadata)): what it
/// is, who owns it and how long it should live. It never changes a
/// decision.
///
/// ```
/// use killswitch::{FlagSet, FlagType};
/// let flags = FlagSet::from_json(r#"{"flag_key": "beta", "enabled": true,
///     "owner": "search-team", "tags": ["search"], "type": "experiment",
///     "expires": "2030-06-30"}"#)?;
/// let meta = flags.get("beta").unwrap().metadata();
/// assert_eq!(meta.owner(), Some("search-team"));
/// assert_eq!(meta.flag_type(), FlagType::Experiment);
/// // A date is the end of that day, UTC.
/// let end = killswitch::parse_time("2030-07-01T00:00:00Z").unwrap();
/// assert_eq!(meta.expires(), Some(end));
/// assert!(!meta.permanent());
/// assert_eq!(meta.expected_lifetime().map(|d| d.as_secs() / 86_400), Some(40));
/// # Ok::<(), killswitch::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub(crate) description: Option<Box<str>>,
    pub(crate) owner: Option<Box<str>>,
    pub(crate) tags: Box<[String]>,
    pub(crate) flag_type: FlagType,
    /// The instant the flag expires (a date's next midnight, UTC).
    pub(crate) expires: Option<Instant>,
    pub(crate) permanent: bool,
    /// The expected lifetime of the flag's type in this config, in days.
    pub(crate) lifetime_days: u32,
}

impl Metadata {
    /// Its `description`.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Its `owner` (a team, a person).
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Its `tags`, in the order of the config.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Its `type`; [`FlagType::Release`] when the config gives none.
    pub fn flag_type(&self) -> FlagType {
        self.flag_type
    }

    /// When it expires: its `expires` time, or the end of its `expires`
    /// date (the next midnight, UTC). The flag is expired from then on.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires.map(system_time_of)
    }

    /// Whether it is never stale: its `permanent` field, else true for
    /// the `kill-switch` and `permission` types.
    pub fn permanent(&self) -> bool {
        self.permanent
    }

    /// How long a flag of its type is expected to live (the config's
    /// `lifetimes`, else 40 days for `release` and `experiment` and 7 for
    /// `operational`); `None` for a permanent flag.
    pub fn expected_lifetime(&self) -> Option<Duration> {
        (!self.permanent).then(|| Duration::from_secs(u64::from(self.lifetime_days) * 86_400))
    }

    /// Whether it has expired at `now`.
    pub(crate) fn expired_at(&self, now: Instant) -> bool {
        self.expires.is_some_and(|t| now >= t)
    }
}
