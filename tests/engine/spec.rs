//! The specification's example flag, evaluated along every path of the
//! fixed order: kill switch -> disabled -> allow -> deny -> rollout.
//!
//! Buckets quoted here were computed independently of this crate with
//! `python3 -c "import hashlib; print(int(hashlib.sha256((u+k).encode()).hexdigest()[:8],16)%100)"`
//! for `k = "new_search_ui"`: user_123 -> 45, user_1 -> 8, user-5 -> 3,
//! user-0 -> 41.

use crate::{flags, SPEC_FLAG};
use killswitch::{ast, Context, Decision, FlagSet, Reason, Value};

const KEY: &str = "new_search_ui";

fn spec() -> FlagSet {
    flags(SPEC_FLAG)
}

fn spec_with(from: &str, to: &str) -> FlagSet {
    assert!(SPEC_FLAG.contains(from), "{from} is not in the spec flag");
    flags(&SPEC_FLAG.replace(from, to))
}

fn decide(flags: &FlagSet, ctx: &Context<'_>) -> Decision {
    flags.evaluate(KEY, ctx)
}

fn staff<'a>(user_id: &'a str) -> Context<'a> {
    Context::for_user(user_id)
        .with("email", "ana@internal.com")
        .with("segment", "beta")
}

#[test]
fn the_specification_context_parses_as_is_and_is_out_of_rollout() {
    let json = r#"{"user_id": "user_123", "email": "user@example.com", "segment": "beta", "is_internal": true}"#;
    let ctx = Context::from_json(json).expect("the spec context is valid");
    assert_eq!(ctx.len(), 4);
    assert_eq!(ctx.user_id(), Some("user_123"));
    assert_eq!(ctx.get("email"), Some(&Value::from("user@example.com")));
    assert_eq!(ctx.get("segment"), Some(&Value::from("beta")));
    assert_eq!(ctx.get("is_internal"), Some(&Value::Bool(true)));

    let d = decide(&spec(), &ctx);
    // Not internal, not legacy: bucket 45 (Python) is not below 20.
    assert_eq!(d.reason, Reason::OutOfRollout);
    assert!(!d.enabled);
    assert_eq!(d.bucket, Some(45));
}

#[test]
fn the_kill_switch_is_off_for_everyone_and_beats_an_allow_match() {
    let killed = spec_with(r#""kill_switch": false"#, r#""kill_switch": true"#);
    for ctx in [
        staff("user_123"),
        staff("user-5"),
        Context::for_user("user-5"),
        Context::new(),
    ] {
        let d = decide(&killed, &ctx);
        assert_eq!(d.reason, Reason::KillSwitch, "{ctx:?}");
        assert!(!d.enabled);
        assert_eq!(d.bucket, None);
    }
    // The same staff member is let in while the switch is off.
    assert_eq!(
        decide(&spec(), &staff("user_123")).reason,
        Reason::AllowRule(0)
    );

    // The kill switch comes before `enabled`.
    let both = flags(
        &SPEC_FLAG
            .replace(r#""kill_switch": false"#, r#""kill_switch": true"#)
            .replace(r#""enabled": true"#, r#""enabled": false"#),
    );
    assert_eq!(decide(&both, &staff("user-5")).reason, Reason::KillSwitch);
}

#[test]
fn a_disabled_flag_is_off_even_for_allowed_and_rolled_out_users() {
    let disabled = spec_with(r#""enabled": true"#, r#""enabled": false"#);
    for ctx in [staff("user_123"), Context::for_user("user-5")] {
        let d = decide(&disabled, &ctx);
        assert_eq!(d, decide(&disabled, &ctx), "deterministic");
        assert_eq!(d.reason, Reason::Disabled);
        assert!(!d.enabled);
        assert_eq!(d.bucket, None);
    }
}

#[test]
fn an_allow_rule_turns_the_flag_on_before_rollout() {
    let flags = spec();
    // user_123 is out of rollout (bucket 45), but staff are let in.
    let d = decide(&flags, &staff("user_123"));
    assert_eq!(d.reason, Reason::AllowRule(0));
    assert!(d.enabled);
    assert_eq!(d.bucket, None, "rules decide before bucketing");

    // Allow rules need no user_id.
    let anonymous = Context::new().with("email", "ana@internal.com");
    assert_eq!(decide(&flags, &anonymous).reason, Reason::AllowRule(0));

    // The allow rule is case-sensitive: this is not an internal address.
    let shouting = Context::for_user("user_123").with("email", "ana@INTERNAL.COM");
    assert_eq!(decide(&flags, &shouting).reason, Reason::OutOfRollout);
}

#[test]
fn a_deny_rule_turns_the_flag_off_before_rollout() {
    let flags = spec();
    // user-5 would be in rollout (bucket 3), but legacy users are denied.
    let legacy = Context::for_user("user-5").with("segment", "legacy");
    let d = decide(&flags, &legacy);
    assert_eq!(d.reason, Reason::DenyRule(0));
    assert!(!d.enabled);
    assert_eq!(d.bucket, None);

    // A legacy staff member fails the allow rule (`not segment == "legacy"`)
    // and then hits the deny rule.
    let legacy_staff = Context::for_user("user-5")
        .with("email", "bo@internal.com")
        .with("segment", "legacy");
    assert_eq!(decide(&flags, &legacy_staff).reason, Reason::DenyRule(0));
}

#[test]
fn users_below_the_percentage_are_in_rollout_and_others_out() {
    let flags = spec();
    for (user, bucket) in [("user-5", 3), ("user_1", 8)] {
        let d = decide(&flags, &Context::for_user(user).with("segment", "beta"));
        assert_eq!(d.reason, Reason::InRollout, "{user}");
        assert!(d.enabled);
        assert_eq!(d.bucket, Some(bucket));
    }
    for (user, bucket) in [("user_123", 45), ("user-0", 41)] {
        let d = decide(&flags, &Context::for_user(user));
        assert_eq!(d.reason, Reason::OutOfRollout, "{user}");
        assert!(!d.enabled);
        assert_eq!(d.bucket, Some(bucket));
    }
}

#[test]
fn without_a_rollout_percentage_no_one_is_rolled_out() {
    for flags in [
        spec_with(r#""rollout_percentage": 20,"#, ""),
        spec_with(
            r#""rollout_percentage": 20"#,
            r#""rollout_percentage": null"#,
        ),
    ] {
        assert_eq!(flags.get(KEY).map(|f| f.rollout_percentage()), Some(None));
        // user-5 has bucket 3, which would be in a 20% rollout.
        let d = decide(&flags, &Context::for_user("user-5"));
        assert_eq!(d.reason, Reason::NoRollout);
        assert!(!d.enabled);
        assert_eq!(d.bucket, None);
        // NoRollout is decided before the user_id is needed.
        assert_eq!(decide(&flags, &Context::new()).reason, Reason::NoRollout);
        // Rules still apply.
        assert_eq!(
            decide(&flags, &staff("user-5")).reason,
            Reason::AllowRule(0)
        );
    }
}

#[test]
fn a_context_without_a_string_user_id_cannot_be_bucketed() {
    let flags = spec();
    let missing = Context::new().with("email", "user@example.com");
    let d = decide(&flags, &missing);
    assert_eq!(d.reason, Reason::MissingUserId);
    assert!(!d.enabled);
    assert_eq!(d.bucket, None);

    // Built in Rust, a numeric or null user_id is not a bucketing key.
    for id in [Value::from(123), Value::Null, Value::Bool(true)] {
        let ctx = Context::new().with("user_id", id);
        assert_eq!(ctx.user_id(), None);
        assert_eq!(decide(&flags, &ctx).reason, Reason::MissingUserId);
    }
    // From JSON, it is rejected outright.
    let err = Context::from_json(r#"{"user_id": 123}"#).unwrap_err();
    assert_eq!(err.kind(), killswitch::ErrorKind::InvalidContext);
}

#[test]
fn an_unknown_flag_is_off() {
    let flags = spec();
    assert!(flags.get("old_search_ui").is_none());
    for ctx in [staff("user-5"), Context::new()] {
        let d = flags.evaluate("old_search_ui", &ctx);
        assert_eq!(d.reason, Reason::UnknownFlag);
        assert!(!d.enabled);
        assert_eq!(d.bucket, None);
    }
    // Keys are exact.
    assert_eq!(
        flags.evaluate("New_Search_UI", &staff("u")).reason,
        Reason::UnknownFlag
    );
    assert_eq!(flags.evaluate("", &staff("u")).reason, Reason::UnknownFlag);
}

#[test]
fn the_compiled_flag_exposes_its_settings_and_rules() {
    let flags = spec();
    assert_eq!(flags.len(), 1);
    assert!(!flags.is_empty());
    let flag = flags.get(KEY).expect("the flag is there");
    assert_eq!(flag.key(), KEY);
    assert!(flag.enabled());
    assert!(!flag.kill_switch());
    assert_eq!(flag.rollout_percentage(), Some(20));
    assert_eq!(flag.allow_rules().len(), 1);
    assert_eq!(
        flag.allow_rules()[0].source(),
        r#"email endsWith "@internal.com" and not segment == "legacy""#
    );
    // The structured deny rule gets canonical text, and the same tree as
    // the text form.
    let deny = &flag.deny_rules()[0];
    assert_eq!(deny.source(), r#"segment == "legacy""#);
    let text = ast::parse(r#"segment == "legacy""#).expect("valid");
    assert_eq!(deny.expr().without_spans(), text.without_spans());
    // Flag::evaluate and FlagSet::evaluate agree.
    let ctx = Context::for_user("user-5");
    assert_eq!(flag.evaluate(&ctx), flags.evaluate(KEY, &ctx));
}

#[test]
fn allow_beats_deny_and_rule_indexes_are_reported() {
    let flags = flags(
        r#"{
        "flag_key": "order",
        "enabled": true,
        "rollout_percentage": 100,
        "targeting_rules": {
            "allow_list": ["plan == \"free\"", "plan == \"trial\"", "segment == \"beta\""],
            "deny_list": ["plan == \"trial\"", "segment == \"beta\"", "country in [\"XX\", \"YY\"]"]
        }
    }"#,
    );
    let eval = |ctx: Context<'_>| flags.evaluate("order", &ctx).reason;
    // Matches allow 2 and deny 1: allow wins.
    assert_eq!(
        eval(Context::for_user("u").with("segment", "beta")),
        Reason::AllowRule(2)
    );
    // The first matching allow rule is reported.
    assert_eq!(
        eval(
            Context::for_user("u")
                .with("plan", "trial")
                .with("segment", "beta")
        ),
        Reason::AllowRule(1)
    );
    assert_eq!(
        eval(Context::for_user("u").with("country", "YY")),
        Reason::DenyRule(2)
    );
    // A deny rule beats a 100% rollout.
    assert_eq!(
        eval(Context::new().with("country", "XX")),
        Reason::DenyRule(2)
    );
    assert_eq!(eval(Context::for_user("u")), Reason::InRollout);
}

#[test]
fn zero_percent_is_no_one_and_one_hundred_percent_is_everyone() {
    let zero = flags(r#"{"flag_key": "f", "enabled": true, "rollout_percentage": 0}"#);
    let all = flags(r#"{"flag_key": "f", "enabled": true, "rollout_percentage": 100}"#);
    for i in 0..2_000 {
        let id = format!("user-{i}");
        let ctx = Context::for_user(id.as_str());
        let off = zero.evaluate("f", &ctx);
        let on = all.evaluate("f", &ctx);
        assert_eq!(
            (off.enabled, off.reason),
            (false, Reason::OutOfRollout),
            "{id}"
        );
        assert_eq!((on.enabled, on.reason), (true, Reason::InRollout), "{id}");
        assert_eq!(on.bucket, Some(killswitch::bucket(&id, "f")));
    }
}

#[test]
fn reasons_have_stable_names() {
    let names = [
        (Reason::KillSwitch, "kill_switch"),
        (Reason::Disabled, "disabled"),
        (Reason::AllowRule(0), "allow_rule 0"),
        (Reason::DenyRule(3), "deny_rule 3"),
        (Reason::InRollout, "in_rollout"),
        (Reason::OutOfRollout, "out_of_rollout"),
        (Reason::MissingUserId, "missing_user_id"),
        (Reason::NoRollout, "no_rollout"),
        (Reason::UnknownFlag, "unknown_flag"),
    ];
    for (reason, shown) in names {
        assert_eq!(reason.to_string(), shown);
        assert!(shown.starts_with(reason.as_str()));
    }
    assert_eq!(Reason::DenyRule(3).rule(), Some(3));
    assert_eq!(Reason::InRollout.rule(), None);
}

#[test]
fn flag_sets_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<FlagSet>();
    shareable::<killswitch::Rule>();
    shareable::<killswitch::Error>();
    shareable::<killswitch::ConfigError>();

    let flags = std::sync::Arc::new(spec());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let flags = std::sync::Arc::clone(&flags);
            std::thread::spawn(move || {
                (0..500)
                    .filter(|i| {
                        let id = format!("user-{}", t * 500 + i);
                        flags.evaluate(KEY, &Context::for_user(id.as_str())).enabled
                    })
                    .count()
            })
        })
        .collect();
    let on: usize = handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .sum();
    let expected = (0..2_000)
        .filter(|i| killswitch::bucket(&format!("user-{i}"), KEY) < 20)
        .count();
    assert_eq!(on, expected);
}

#[test]
fn bucket_by_buckets_whole_accounts_together() {
    use killswitch::{bucket, Context, FlagSet, Reason};
    let flags = FlagSet::from_json(
        r#"{"flag_key": "team_inbox", "enabled": true, "rollout_percentage": 50,
            "bucket_by": "account.id"}"#,
    )
    .unwrap();
    let flag = flags.get("team_inbox").unwrap();
    assert_eq!(flag.bucket_by(), "account.id");
    // Every user of one account gets the account's bucket.
    let expected = bucket("acme", "team_inbox");
    for user in ["ana", "bo", "cy"] {
        let json = format!(r#"{{"user_id": "{user}", "account": {{"id": "acme"}}}}"#);
        let ctx = Context::from_json(&json).unwrap();
        let d = flags.evaluate("team_inbox", &ctx);
        assert_eq!(d.bucket, Some(expected));
        assert_eq!(d.enabled, expected < 50);
    }
    // A flat dotted key works too; no account (or a number) is never in.
    let flat = Context::new()
        .with("user_id", "ana")
        .with("account.id", "acme");
    assert_eq!(flags.evaluate("team_inbox", &flat).bucket, Some(expected));
    let none = Context::for_user("ana");
    assert_eq!(
        flags.evaluate("team_inbox", &none).reason,
        Reason::MissingUserId
    );
    let number = Context::from_json(r#"{"user_id": "ana", "account": {"id": 7}}"#).unwrap();
    assert_eq!(
        flags.evaluate("team_inbox", &number).reason,
        Reason::MissingUserId
    );
    assert!(flag
        .explain(&none)
        .to_string()
        .contains("no string account.id to bucket"));

    let err = FlagSet::from_json(r#"{"flag_key": "f", "enabled": true, "bucket_by": "a..b"}"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("bucket_by is an attribute path"),
        "{err}"
    );
}
