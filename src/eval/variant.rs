//! Variants: what a multivariate flag serves, and the weighted split that
//! picks one for a user who is on.
//!
//! The boolean decision is made first, exactly as for a boolean flag; the
//! variant only follows from it: off (for any reason) serves the flag's
//! `off_variant`; on serves the variant pinned by the deciding allow rule,
//! else `on_variant`, else the one the split gives the user's split bucket.

/// One variant of a flag: its name and its value, kept as canonical JSON
/// text (integers stay integers, objects keep their key order) with typed
/// accessors for the scalar kinds.
///
/// ```
/// use killswitch::{Context, FlagSet};
/// let flags = FlagSet::from_json(r##"{
///     "flag_key": "checkout_button", "enabled": true, "rollout_percentage": 100,
///     "variants": {"blue": "#1f6feb", "big": {"size": 10, "colour": "red"}, "grey": "#8c959f"},
///     "off_variant": "grey",
///     "split": [{"variant": "blue", "weight": 50}, {"variant": "big", "weight": 50}]
/// }"##)?;
/// let flag = flags.get("checkout_button").unwrap();
/// let decision = flag.evaluate(&Context::new().with("user_id", "user_123"));
/// let served = flag.variant(decision.variant.unwrap()).unwrap();
/// assert!(["blue", "big"].contains(&served.name()));
/// let big = flag.variants().iter().find(|v| v.name() == "big").unwrap();
/// assert_eq!(big.json(), r#"{"size":10,"colour":"red"}"#);
/// assert_eq!(flag.variants()[0].as_str(), Some("#1f6feb"));
/// # Ok::<(), killswitch::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub(crate) name: Box<str>,
    pub(crate) json: Box<str>,
    pub(crate) scalar: Scalar,
}

/// A variant's value when it is a JSON scalar, for the typed accessors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Box<str>),
    /// An array or an object: only its JSON text.
    Composite,
}

impl Variant {
    /// The variant's name, as the config writes it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value as compact JSON text: integers as written (`10`, never
    /// `10.0`), object keys in the order of the file.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The value, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.scalar {
            Scalar::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value, when it is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.scalar {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value, when it is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self.scalar {
            Scalar::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The value, when it is a number (an integer is converted).
    pub fn as_f64(&self) -> Option<f64> {
        match self.scalar {
            // Integers beyond 2^53 round, as any JSON reader's would.
            Scalar::Int(i) => Some(i as f64),
            Scalar::Float(f) => Some(f),
            _ => None,
        }
    }

    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.scalar == Scalar::Null
    }
}

/// One entry of a split: a variant and the cumulative upper bound of its
/// share, in basis points (1/100 of a percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arm {
    pub(crate) variant: u16,
    /// The sum of the weights up to and including this one (at most
    /// 10 000; the last arm's is exactly 10 000).
    pub(crate) upper: u16,
}

/// How an on decision picks its variant, when no allow rule pins one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Serve {
    /// Always this variant.
    On(u16),
    /// By the split bucket, walking the arms in order (never empty).
    Split(Box<[Arm]>),
}

/// A flag's compiled variants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variants {
    pub(crate) all: Box<[Variant]>,
    /// Served whenever the boolean decision is off.
    pub(crate) off: u16,
    pub(crate) serve: Serve,
    /// The variant each allow rule pins, by the rule's index (as many as
    /// the flag has allow rules).
    pub(crate) pins: Box<[Option<u16>]>,
}

/// The number of split buckets: weights are counted in basis points.
pub(crate) const SPLIT_BUCKETS: u16 = 10_000;

impl Variants {
    /// The variant a split serves at `bucket` (0..10 000): the first arm
    /// whose cumulative upper bound is greater than the bucket, found by
    /// binary search (the bounds never decrease; an arm of weight 0 has its
    /// predecessor's bound and is never chosen).
    #[inline]
    pub(crate) fn split_at(arms: &[Arm], bucket: u16) -> u16 {
        let at = arms.partition_point(|arm| arm.upper <= bucket);
        arms.get(at).or(arms.last()).map_or(0, |arm| arm.variant)
    }

    /// Whether serving an on decision needs the split bucket (for a
    /// decision by allow rule `rule`, or by rollout when `None`).
    #[inline]
    pub(crate) fn needs_split(&self, rule: Option<usize>) -> bool {
        let pinned = rule.and_then(|i| self.pins.get(i).copied().flatten());
        pinned.is_none() && matches!(self.serve, Serve::Split(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_serves_the_first_arm_whose_bound_is_above_the_bucket() {
        // a 0 %, b 33.33 %, c 0 %, d 66.67 %
        let arms = [
            Arm {
                variant: 0,
                upper: 0,
            },
            Arm {
                variant: 1,
                upper: 3333,
            },
            Arm {
                variant: 2,
                upper: 3333,
            },
            Arm {
                variant: 3,
                upper: 10_000,
            },
        ];
        assert_eq!(Variants::split_at(&arms, 0), 1);
        assert_eq!(Variants::split_at(&arms, 3332), 1);
        assert_eq!(Variants::split_at(&arms, 3333), 3);
        assert_eq!(Variants::split_at(&arms, 9999), 3);
        let linear = |b: u16| arms.iter().find(|a| b < a.upper).map(|a| a.variant);
        for b in 0..10_000 {
            assert_eq!(Some(Variants::split_at(&arms, b)), linear(b));
        }
    }
}
