//! Variants: the split is deterministic, independent of the rollout
//! bucket, moves users only into a variant whose weight rises (with two
//! variants), and a killed flag always serves its off variant.

use killswitch::{Context, FlagSet};
use proptest::prelude::*;

/// A flag with two variants `a` and `b` at `weight_a` basis points for
/// `a`, and the given rollout and kill switch.
fn two_way(key: &str, weight_a: u16, rollout: u8, killed: bool) -> FlagSet {
    let w = |bp: u16| format!("{}.{:02}", bp / 100, bp % 100);
    let config = format!(
        r#"{{"flag_key": {key:?}, "enabled": true, "kill_switch": {killed},
            "rollout_percentage": {rollout},
            "variants": {{"a": "A", "b": "B", "off": "-"}}, "off_variant": "off",
            "split": [{{"variant": "a", "weight": {}}}, {{"variant": "b", "weight": {}}}],
            "allow_lints": ["unserved-variant", "single-variant-split", "dead-rollout"]}}"#,
        w(weight_a),
        w(10_000 - weight_a)
    );
    FlagSet::from_json(&config).unwrap_or_else(|e| panic!("{e}\n{config}"))
}

proptest! {
    #[test]
    fn the_split_is_deterministic(user in "\\PC{0,30}", key in "[a-z_]{1,20}", w in 0u16..=10_000) {
        let set = two_way(&key, w, 100, false);
        let ctx = Context::new().with("user_id", user.as_str());
        let first = set.evaluate(&key, &ctx);
        let again = two_way(&key, w, 100, false).evaluate(&key, &ctx);
        prop_assert_eq!(first, again);
        prop_assert!(first.split_bucket.is_some_and(|b| b < 10_000));
    }

    /// With two variants, raising `a`'s weight never moves a user out of
    /// `a`, and lowering it never moves a user into it.
    #[test]
    fn raising_a_weight_never_moves_a_user_out_of_its_variant(
        user in "\\PC{1,30}",
        w1 in 0u16..=10_000,
        w2 in 0u16..=10_000,
    ) {
        let (low, high) = (w1.min(w2), w1.max(w2));
        let ctx = Context::new().with("user_id", user.as_str());
        let before = two_way("exp", low, 100, false).evaluate("exp", &ctx);
        let after = two_way("exp", high, 100, false).evaluate("exp", &ctx);
        if before.variant == Some(0) {
            prop_assert_eq!(after.variant, Some(0));
        }
        if after.variant == Some(1) {
            prop_assert_eq!(before.variant, Some(1));
        }
    }

    #[test]
    fn a_killed_variant_flag_always_serves_its_off_variant(
        user in proptest::option::of("\\PC{0,30}"),
        w in 0u16..=10_000,
        rollout in 0u8..=100,
    ) {
        let set = two_way("exp", w, rollout, true);
        let mut ctx = Context::new();
        if let Some(u) = &user {
            ctx = ctx.with("user_id", u.as_str());
        }
        let d = set.evaluate("exp", &ctx);
        prop_assert!(!d.enabled);
        prop_assert_eq!(d.variant, Some(2));
    }
}

/// The split is independent of the rollout bucket: among the users a
/// rollout admits, each variant's share matches its weight, whatever the
/// percentage.
#[test]
fn the_split_is_independent_of_the_rollout_bucket() {
    let n = 40_000;
    for (rollout, weight_a) in [(10u8, 5000u16), (25, 2500), (50, 9000), (90, 3333)] {
        let set = two_way("exp", weight_a, rollout, false);
        let (mut on, mut a) = (0u32, 0u32);
        for i in 0..n {
            let id = format!("user-{i}");
            let d = set.evaluate("exp", &Context::new().with("user_id", id.as_str()));
            if d.enabled {
                on += 1;
                a += u32::from(d.variant == Some(0));
            }
        }
        let share = f64::from(a) / f64::from(on) * 10_000.0;
        // Binomial: over the smallest sample (4 000 users) one standard
        // deviation is under 0.8 percentage points; allow 3.
        assert!(
            (share - f64::from(weight_a)).abs() < 300.0,
            "rollout {rollout}%: a got {share:.0} bp of {on} users, weight {weight_a}"
        );
    }
}
