//! Whole flags: the evaluation order and determinism.

use super::gen;
use killswitch::{bucket, Context, Decision, FlagSet, Reason};
use proptest::prelude::*;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// A flag config with random switches, percentage and rules.
fn flag_json() -> impl Strategy<Value = Json> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0u8..=100),
        prop::collection::vec(gen::expr(), 0..3),
        prop::collection::vec(gen::expr(), 0..3),
        "[a-z_]{1,12}",
    )
        .prop_map(|(kill, enabled, pct, allow, deny, key)| {
            let text = |xs: Vec<killswitch::ast::Expr>| -> Vec<String> {
                xs.iter().map(ToString::to_string).collect()
            };
            json!({
                "flag_key": key,
                "enabled": enabled,
                "kill_switch": kill,
                "rollout_percentage": pct,
                "targeting_rules": {"allow_list": text(allow), "deny_list": text(deny)},
            })
        })
}

/// The decision the specification's order gives, from the pieces.
fn expected(flag: &killswitch::Flag, ctx: &Context<'_>) -> (bool, Reason, Option<u8>) {
    if flag.kill_switch() {
        return (false, Reason::KillSwitch, None);
    }
    if !flag.enabled() {
        return (false, Reason::Disabled, None);
    }
    for (i, rule) in flag.allow_rules().iter().enumerate() {
        if rule.matches(ctx) {
            return (true, Reason::AllowRule(i), None);
        }
    }
    for (i, rule) in flag.deny_rules().iter().enumerate() {
        if rule.matches(ctx) {
            return (false, Reason::DenyRule(i), None);
        }
    }
    match (flag.rollout_percentage(), ctx.user_id()) {
        (None, _) => (false, Reason::NoRollout, None),
        (Some(_), None) => (false, Reason::MissingUserId, None),
        (Some(p), Some(user)) => {
            let b = bucket(user, flag.key());
            let reason = if b < p {
                Reason::InRollout
            } else {
                Reason::OutOfRollout
            };
            (b < p, reason, Some(b))
        }
    }
}

fn parts(d: Decision) -> (bool, Reason, Option<u8>) {
    (d.enabled, d.reason, d.bucket)
}

proptest! {
    #[test]
    fn decisions_follow_the_evaluation_order(
        flag in flag_json(),
        contexts in prop::collection::vec(gen::context_json(), 1..5),
    ) {
        let flags = FlagSet::from_json(&flag.to_string()).unwrap();
        let compiled = &flags.flags()[0];
        for json in &contexts {
            let text = json.to_string();
            let ctx = Context::from_json(&text).unwrap();
            let decision = flags.evaluate(compiled.key(), &ctx);
            prop_assert_eq!(parts(decision), expected(compiled, &ctx));
            // The kill switch beats everything; `enabled: false` beats rules
            // and rollout, whatever they say.
            if compiled.kill_switch() {
                prop_assert_eq!(decision.reason, Reason::KillSwitch);
                prop_assert!(!decision.enabled);
            } else if !compiled.enabled() {
                prop_assert_eq!(decision.reason, Reason::Disabled);
            }
        }
    }

    #[test]
    fn explanations_agree_with_decisions(
        flag in flag_json(),
        contexts in prop::collection::vec(gen::context_json(), 1..4),
    ) {
        let flags = FlagSet::from_json(&flag.to_string()).unwrap();
        let compiled = &flags.flags()[0];
        for json in &contexts {
            let text = json.to_string();
            let ctx = Context::from_json(&text).unwrap();
            let explanation = compiled.explain(&ctx);
            let decision = compiled.evaluate(&ctx);
            prop_assert_eq!(explanation.decision, decision);
            let last = explanation.steps.last().unwrap();
            prop_assert!(last.decided);
            prop_assert_eq!(explanation.steps.iter().filter(|s| s.decided).count(), 1);
            let expected_step = match decision.reason {
                Reason::KillSwitch => "kill_switch".to_string(),
                Reason::Disabled => "enabled".to_string(),
                Reason::AllowRule(i) => format!("allow_list[{i}]"),
                Reason::DenyRule(i) => format!("deny_list[{i}]"),
                _ => "rollout".to_string(),
            };
            prop_assert_eq!(&last.step, &expected_step);
            // Every traced rule's result is the compiled rule's answer.
            for step in &explanation.steps {
                if let Some(trace) = &step.trace {
                    let (list, i) = step.step.trim_end_matches(']').split_once('[').unwrap();
                    let i: usize = i.parse().unwrap();
                    let rule = if list == "allow_list" {
                        &compiled.allow_rules()[i]
                    } else {
                        &compiled.deny_rules()[i]
                    };
                    prop_assert_eq!(trace.result, Some(rule.matches(&ctx)));
                }
            }
        }
    }

    #[test]
    fn decisions_are_deterministic_across_recompiles_and_threads(
        flag in flag_json(),
        contexts in prop::collection::vec(gen::context_json(), 1..5),
    ) {
        let text = flag.to_string();
        let first = Arc::new(FlagSet::from_json(&text).unwrap());
        let second = FlagSet::from_json(&text).unwrap();
        let key = first.flags()[0].key().to_string();
        let texts: Vec<String> = contexts.iter().map(Json::to_string).collect();
        let here: Vec<Decision> = texts
            .iter()
            .map(|t| first.evaluate(&key, &Context::from_json(t).unwrap()))
            .collect();
        for (t, d) in texts.iter().zip(&here) {
            let ctx = Context::from_json(t).unwrap();
            prop_assert_eq!(second.evaluate(&key, &ctx), *d);
            prop_assert_eq!(first.evaluate(&key, &ctx), *d);
        }
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (flags, key, texts) = (Arc::clone(&first), key.clone(), texts.clone());
                std::thread::spawn(move || {
                    (0..50)
                        .flat_map(|_| texts.iter())
                        .map(|t| flags.evaluate(&key, &Context::from_json(t).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for thread in threads {
            let seen = thread.join().unwrap();
            for chunk in seen.chunks(here.len()) {
                prop_assert_eq!(chunk, &here[..]);
            }
        }
    }

    #[test]
    fn an_allow_match_beats_a_deny_match_and_a_deny_beats_the_rollout(
        user in "[a-z0-9]{1,10}",
        pct in 0u8..=100,
    ) {
        let config = json!({
            "flag_key": "f", "enabled": true, "rollout_percentage": pct,
            "targeting_rules": {"allow_list": ["vip"], "deny_list": ["blocked"]},
        });
        let flags = FlagSet::from_json(&config.to_string()).unwrap();
        let both = Context::new().with("user_id", user.as_str()).with("vip", true).with("blocked", true);
        prop_assert_eq!(flags.evaluate("f", &both).reason, Reason::AllowRule(0));
        let denied = Context::new().with("user_id", user.as_str()).with("blocked", true);
        prop_assert_eq!(flags.evaluate("f", &denied).reason, Reason::DenyRule(0));
        prop_assert!(!flags.evaluate("f", &denied).enabled);
    }
}

/// Metadata fields with random values: every type, past and future
/// expiry dates and times, tags, an owner, `permanent` either way.
fn metadata_json() -> impl Strategy<Value = serde_json::Map<String, Json>> {
    (
        prop::sample::select(vec![
            "release",
            "experiment",
            "operational",
            "kill-switch",
            "permission",
        ]),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(vec![
            "2001-01-01",
            "2999-12-31",
            "2020-06-30T12:00:00Z",
            "2990-01-01T00:00:00+02:00",
        ])),
        prop::collection::vec("[a-z]{1,6}", 0..3),
        "[a-z ]{0,12}",
    )
        .prop_map(|(kind, permanent, expires, tags, owner)| {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), json!(kind));
            m.insert("tags".into(), json!(tags));
            m.insert("owner".into(), json!(owner));
            m.insert("description".into(), json!(format!("{owner} flag")));
            if let Some(p) = permanent {
                m.insert("permanent".into(), json!(p));
            }
            if let Some(e) = expires {
                m.insert("expires".into(), json!(e));
            }
            m
        })
}

proptest! {
    #[test]
    fn metadata_never_changes_a_decision(
        flag in flag_json(),
        metadata in metadata_json(),
        contexts in prop::collection::vec(gen::context_json(), 1..5),
    ) {
        let plain = FlagSet::from_json(&flag.to_string()).unwrap();
        let mut with = flag.clone();
        let object = with.as_object_mut().unwrap();
        object.extend(metadata.clone());
        let described = FlagSet::from_json(&with.to_string()).unwrap();
        let key = plain.flags()[0].key().to_string();
        // The metadata was read, so the comparison is not vacuous.
        let meta = described.get(&key).unwrap().metadata();
        prop_assert_eq!(meta.flag_type().as_str(), metadata["type"].as_str().unwrap());
        prop_assert_eq!(meta.tags().len(), metadata["tags"].as_array().unwrap().len());
        prop_assert_eq!(meta.expires().is_some(), metadata.contains_key("expires"));
        let bare = plain.get(&key).unwrap().metadata();
        prop_assert_eq!(bare.flag_type(), killswitch::FlagType::Release);
        prop_assert!(bare.owner().is_none() && bare.expires().is_none() && !bare.permanent());
        let times = [
            killswitch::parse_time("2000-01-01T00:00:00Z").unwrap(),
            killswitch::parse_time("3000-01-01T00:00:00Z").unwrap(),
        ];
        for json in &contexts {
            let text = json.to_string();
            let ctx = Context::from_json(&text).unwrap();
            prop_assert_eq!(described.evaluate(&key, &ctx), plain.evaluate(&key, &ctx));
            for now in times {
                prop_assert_eq!(
                    described.evaluate_at(&key, &ctx, now),
                    plain.evaluate_at(&key, &ctx, now)
                );
            }
        }
    }
}
