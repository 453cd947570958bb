//! Bucketing: known answers computed outside this crate, the spread of a
//! rollout, and monotonic ramp-ups.

use crate::flags;
use killswitch::{bucket, Context, FlagSet};

/// `(user_id, flag_key, bucket)`. Each bucket was computed with Python,
/// independently of this crate:
///
/// ```text
/// python3 -c "import hashlib; print(int(hashlib.sha256((u+k).encode()).hexdigest()[:8],16)%100)"
/// ```
///
/// (strings encoded as UTF-8, no separator, no salt).
const VECTORS: &[(&str, &str, u8)] = &[
    ("user_123", "new_search_ui", 45),
    ("", "", 10),
    ("", "new_search_ui", 79),
    ("user_123", "", 18),
    ("alice", "checkout_v2", 66),
    ("bob", "checkout_v2", 61),
    ("é", "flag", 64),
    ("café-user", "new_search_ui", 6),
    ("日本語", "new_search_ui", 27),
    ("user-😀", "emoji_flag", 86),
    // A ZWJ sequence: woman, U+200D, laptop.
    ("👩\u{200d}💻", "new_search_ui", 74),
    ("user-0", "new_search_ui", 41),
    ("a", "bc", 19),
    ("ab", "c", 19),
];

#[test]
fn buckets_match_independently_computed_vectors() {
    for &(user, flag, expected) in VECTORS {
        assert_eq!(bucket(user, flag), expected, "bucket({user:?}, {flag:?})");
    }
}

#[test]
fn long_ids_match_independently_computed_vectors() {
    // Python: u = "x" * 1000, k = "long_flag" -> 9
    assert_eq!(bucket(&"x".repeat(1000), "long_flag"), 9);
    // Python: u = "u" * 64 + "é" * 100, k = "new_search_ui" -> 79
    // (264 bytes of UTF-8: several SHA-256 blocks, a multi-byte tail).
    let id = format!("{}{}", "u".repeat(64), "é".repeat(100));
    assert_eq!(bucket(&id, "new_search_ui"), 79);
}

#[test]
fn the_user_id_and_flag_key_are_concatenated_without_a_separator() {
    // "a" + "bc" and "ab" + "c" hash the same bytes.
    assert_eq!(bucket("a", "bc"), bucket("ab", "c"));
}

#[test]
fn evaluation_reports_the_same_bucket() {
    for &(user, flag, expected) in VECTORS {
        if flag.is_empty() {
            continue;
        }
        let json =
            format!(r#"{{"flag_key": "{flag}", "enabled": true, "rollout_percentage": 50}}"#);
        let flags = flags(&json);
        let d = flags.evaluate(flag, &Context::for_user(user));
        assert_eq!(d.bucket, Some(expected), "{user:?} {flag:?}");
        assert_eq!(d.enabled, expected < 50);
    }
}

#[test]
fn a_twenty_percent_rollout_reaches_twenty_percent_of_users() {
    let flags =
        flags(r#"{"flag_key": "new_search_ui", "enabled": true, "rollout_percentage": 20}"#);
    let n = 100_000;
    let on = (0..n)
        .filter(|i| {
            let id = format!("user-{i}");
            flags
                .evaluate("new_search_ui", &Context::for_user(id.as_str()))
                .enabled
        })
        .count();
    // Within 20% +- 0.5%.
    assert!((19_500..=20_500).contains(&on), "{on} of {n}");
    // Python, over the same ids: sum(b(f"user-{i}", "new_search_ui") < 20
    // for i in range(100000)) == 19758.
    assert_eq!(on, 19_758);
}

#[test]
fn raising_the_percentage_never_turns_a_user_off() {
    // One flag key at every percentage: the bucket stays the same.
    let ramp: Vec<FlagSet> = (0..=100)
        .map(|p| {
            flags(&format!(
                r#"{{"flag_key": "ramp", "enabled": true, "rollout_percentage": {p}}}"#
            ))
        })
        .collect();
    for i in 0..1_000 {
        let id = format!("user-{i}");
        let ctx = Context::for_user(id.as_str());
        let on: Vec<bool> = ramp
            .iter()
            .map(|f| f.evaluate("ramp", &ctx).enabled)
            .collect();
        for p in 0..100 {
            for q in p + 1..=100 {
                assert!(!on[p] || on[q], "{id} is on at {p}% but off at {q}%");
            }
        }
        // Exactly one step turns the user on: at bucket + 1.
        let b = usize::from(bucket(&id, "ramp"));
        assert!(!on[b] && on[b + 1], "{id}: bucket {b}");
    }
}

/// A memo shared by every flag of two configs, in any order, gives the
/// decisions plain evaluation gives: a hit needs the same bucketing key and
/// flag key, so a changed `bucket_by`, another flag or another user hashes
/// anew.
#[test]
fn a_bucket_memo_never_changes_a_decision() {
    use killswitch::{BucketMemo, Context, FlagSet};
    let old = FlagSet::from_json(
        r#"{"flags": [
            {"flag_key": "a", "enabled": true, "rollout_percentage": 30},
            {"flag_key": "b", "enabled": true, "rollout_percentage": 50, "bucket_by": "org"},
            {"flag_key": "c", "enabled": true, "rollout_percentage": 100,
             "variants": {"x": 1, "y": 2}, "split": [{"variant": "x", "weight": 50}, {"variant": "y", "weight": 50}], "off_variant": "x"}
        ]}"#,
    )
    .unwrap();
    let new = FlagSet::from_json(
        r#"{"flags": [
            {"flag_key": "a", "enabled": true, "rollout_percentage": 60},
            {"flag_key": "b", "enabled": true, "rollout_percentage": 50},
            {"flag_key": "c", "enabled": true, "rollout_percentage": 40,
             "variants": {"x": 1, "y": 2}, "split": [{"variant": "x", "weight": 20}, {"variant": "y", "weight": 80}], "off_variant": "x"}
        ]}"#,
    )
    .unwrap();
    let mut memo = BucketMemo::new();
    let mut hits = 0;
    for i in 0..300 {
        let id = format!("user-{i}");
        let org = format!("org-{}", i % 7);
        let ctx = Context::new()
            .with("user_id", id.as_str())
            .with("org", org.as_str());
        for key in ["a", "b", "c", "a"] {
            for set in [&old, &new] {
                let flag = set.get(key).unwrap();
                let memoised = flag.evaluate_with_memo(&ctx, None, &mut memo);
                assert_eq!(memoised, flag.evaluate(&ctx), "{key} for {id}");
                hits += usize::from(memoised.bucket.is_some());
            }
        }
    }
    assert!(hits > 0);
}
