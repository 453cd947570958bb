//! Bucketing and rollout.

use killswitch::{bucket, Context, FlagSet};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// The specification's reference route: hex digest, first 8 hex digits,
/// parsed as an integer, modulo 100.
fn reference_bucket(user: &str, flag: &str) -> u8 {
    let hex: String = Sha256::digest(format!("{user}{flag}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (u64::from_str_radix(&hex[..8], 16).unwrap() % 100) as u8
}

fn flag_at(key: &str, pct: u8) -> FlagSet {
    let config = serde_json::json!({"flag_key": key, "enabled": true, "rollout_percentage": pct});
    FlagSet::from_json(&config.to_string()).unwrap()
}

proptest! {
    #[test]
    fn bucket_matches_the_hex_digest_reference(user in "\\PC{0,40}", flag in "\\PC{0,40}") {
        let b = bucket(&user, &flag);
        prop_assert!(b < 100);
        prop_assert_eq!(b, reference_bucket(&user, &flag));
    }

    #[test]
    fn a_rising_schedule_never_turns_a_user_off_as_time_passes(
        user in "\\PC{1,20}",
        kinds in proptest::collection::vec(any::<bool>(), 1..5),
        slots in proptest::sample::subsequence((0..28 * 24).collect::<Vec<u32>>(), 8),
        mut percentages in proptest::collection::vec(0u8..=100, 8),
        base in proptest::option::of(0u8..=100),
        t1 in 0u64..31 * 86_400,
        t2 in 0u64..31 * 86_400,
    ) {
        percentages.sort_unstable();
        let hour = |slot: u32| format!("2026-12-{:02}T{:02}:00:00Z", slot / 24 + 1, slot % 24);
        let entries: Vec<serde_json::Value> = kinds
            .iter()
            .enumerate()
            .map(|(i, ramp)| {
                let (a, b) = (slots[2 * i], slots[2 * i + 1]);
                let (p, q) = (percentages[2 * i], percentages[2 * i + 1]);
                if *ramp {
                    serde_json::json!({"from": hour(a), "to": hour(b),
                        "start_percentage": p, "end_percentage": q})
                } else {
                    serde_json::json!({"at": hour(a), "percentage": p})
                }
            })
            .collect();
        let base = base.map(|b| b.min(percentages[0]));
        let config = serde_json::json!({"flag_key": "plan", "enabled": true,
            "rollout_percentage": base, "rollout_schedule": entries});
        let set = FlagSet::from_json(&config.to_string())
            .unwrap_or_else(|e| panic!("{e}\n{config}"));
        let start = killswitch::parse_time("2026-11-30T00:00:00Z").unwrap();
        let (early, late) = (t1.min(t2), t1.max(t2));
        let ctx = Context::for_user(user.as_str());
        let at = |secs: u64| set.evaluate_at("plan", &ctx, start + std::time::Duration::from_secs(secs));
        let (before, after) = (at(early), at(late));
        prop_assert!(before.percentage <= after.percentage, "{:?} then {:?}", before, after);
        if before.enabled {
            prop_assert!(after.enabled, "on at +{}s, off at +{}s: {:?}", early, late, after);
        }
    }

    #[test]
    fn raising_the_percentage_never_turns_a_user_off(
        user in "\\PC{1,20}",
        key in "[a-z_]{1,16}",
        p in 0u8..=100,
        q in 0u8..=100,
    ) {
        let (low, high) = (p.min(q), p.max(q));
        let ctx = Context::for_user(user.as_str());
        let at_low = flag_at(&key, low).evaluate(&key, &ctx);
        let at_high = flag_at(&key, high).evaluate(&key, &ctx);
        if at_low.enabled {
            prop_assert!(at_high.enabled);
        }
        prop_assert_eq!(at_low.bucket, at_high.bucket);
        prop_assert!(!flag_at(&key, 0).evaluate(&key, &ctx).enabled);
        prop_assert!(flag_at(&key, 100).evaluate(&key, &ctx).enabled);
    }

}

proptest! {
    // Each case hashes 20,000 ids: run a sixteenth of the usual count
    // (still scaled by PROPTEST_CASES).
    #![proptest_config(ProptestConfig {
        cases: (ProptestConfig::default().cases / 16).max(4),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_admitted_share_is_close_to_the_percentage(
        key in "[a-z_]{1,16}",
        p in 0u8..=100,
        salt in any::<u32>(),
    ) {
        // 20,000 users: the share is binomial with standard deviation at
        // most sqrt(0.25 / 20000) = 0.35 %. The modulo bias of a 32-bit
        // hash is below 1e-7. A tolerance of 1.5 % is over 4 standard
        // deviations: a false failure has odds below 1 in 30,000.
        let flags = flag_at(&key, p);
        let n = 20_000;
        let admitted = (0..n)
            .filter(|i| {
                let user = format!("u{salt}-{i}");
                flags.evaluate(&key, &Context::for_user(user.as_str())).enabled
            })
            .count();
        let share = admitted as f64 / n as f64 * 100.0;
        prop_assert!((share - f64::from(p)).abs() <= 1.5, "{share} at {p}");
    }
}
