//! Variants: the split bucket against vectors computed outside our code,
//! shares over many users, what every path serves, pinned variants, values
//! kept exactly, and the three formats alike.

use crate::flags;
use killswitch::{Context, Decision, Flag, FlagSet, Format, Limits, Reason};

/// A flag `key` at 100 % rollout with a 50/50 split, to read split buckets.
fn split_flag(key: &str) -> FlagSet {
    flags(&format!(
        r#"{{"flag_key": "{key}", "enabled": true, "rollout_percentage": 100,
            "variants": {{"a": 1, "b": 2, "off": 0}}, "off_variant": "off",
            "split": [{{"variant": "a", "weight": 50}}, {{"variant": "b", "weight": 50}}]}}"#
    ))
}

fn user(id: &str) -> Context<'_> {
    Context::new().with("user_id", id)
}

fn served<'f>(flag: &'f Flag, d: &Decision) -> &'f str {
    flag.variant(d.variant.expect("a variant flag always serves a variant"))
        .expect("the index is the flag's")
        .name()
}

/// Split buckets computed with Python's hashlib, independently of our code:
///
/// ```text
/// python3 -c "import hashlib
/// for k,f in [('user_123','checkout_button'),('user_123','new_search_ui'),('ana','exp_abc'),
///             ('Zoë','checkout_button'),('用户-7','exp_abc'),('u1','f')]:
///     d=hashlib.sha256((k+f).encode()).digest()
///     print(k, f, int.from_bytes(d[0:4],'big')%100, int.from_bytes(d[4:8],'big')%10000)"
/// ```
#[test]
fn split_buckets_match_vectors_computed_with_hashlib() {
    let vectors = [
        ("user_123", "checkout_button", 19, 9246),
        ("user_123", "new_search_ui", 45, 3488),
        ("ana", "exp_abc", 70, 893),
        ("Zoë", "checkout_button", 21, 3883),
        ("用户-7", "exp_abc", 85, 2842),
        ("u1", "f", 66, 8154),
    ];
    for (id, key, rollout, split) in vectors {
        let set = split_flag(key);
        let d = set.evaluate(key, &user(id));
        assert_eq!(d.bucket, Some(rollout), "{id} {key}");
        assert_eq!(killswitch::bucket(id, key), rollout);
        assert_eq!(d.split_bucket, Some(split), "{id} {key}");
        let flag = set.get(key).unwrap();
        let want = if split < 5000 { "a" } else { "b" };
        assert_eq!(served(flag, &d), want, "{id} {key}");
    }
}

/// Over 100 000 synthetic users, each variant's share is within 0.5 % of
/// its weight.
#[test]
fn shares_follow_the_weights() {
    let cases: [&[(&str, &str)]; 3] = [
        &[("a", "50"), ("b", "50")],
        &[("a", "33.33"), ("b", "33.33"), ("c", "33.34")],
        &[("a", "10"), ("b", "90")],
    ];
    for weights in cases {
        let split: Vec<String> = weights
            .iter()
            .map(|(v, w)| format!(r#"{{"variant": "{v}", "weight": {w}}}"#))
            .collect();
        let set = flags(&format!(
            r#"{{"flag_key": "exp", "enabled": true, "rollout_percentage": 100,
                "variants": {{"a": "A", "b": "B", "c": "C", "off": "OFF"}}, "off_variant": "off",
                "split": [{}], "allow_lints": ["unserved-variant"]}}"#,
            split.join(", ")
        ));
        let flag = set.get("exp").unwrap();
        let mut counts = [0u32; 4];
        let n = 100_000;
        for i in 0..n {
            let id = format!("user-{i}");
            let d = flag.evaluate(&user(&id));
            counts[usize::from(d.variant.unwrap())] += 1;
        }
        for (v, w) in weights {
            let i = flag.variants().iter().position(|x| x.name() == *v).unwrap();
            let share = f64::from(counts[i]) / f64::from(n) * 100.0;
            let weight: f64 = w.parse().unwrap();
            assert!(
                (share - weight).abs() <= 0.5,
                "{v}: {share:.3} % for a weight of {weight} ({weights:?})"
            );
        }
    }
}

/// The split bucket is independent of the rollout bucket: a 20 % rollout
/// with a 50/50 split gives each variant about 10 % of all users.
#[test]
fn a_rollout_and_a_split_are_independent() {
    let set = flags(
        r#"{"flag_key": "exp", "enabled": true, "rollout_percentage": 20,
            "variants": {"a": "A", "b": "B", "off": "-"}, "off_variant": "off",
            "split": [{"variant": "a", "weight": 50}, {"variant": "b", "weight": 50}]}"#,
    );
    let flag = set.get("exp").unwrap();
    let n = 100_000;
    let mut counts = [0u32; 3];
    for i in 0..n {
        let id = format!("user-{i}");
        counts[usize::from(flag.evaluate(&user(&id)).variant.unwrap())] += 1;
    }
    let share = |c: u32| f64::from(c) / f64::from(n) * 100.0;
    assert!((share(counts[0]) - 10.0).abs() <= 0.5, "{counts:?}");
    assert!((share(counts[1]) - 10.0).abs() <= 0.5, "{counts:?}");
    assert!((share(counts[2]) - 80.0).abs() <= 0.5, "{counts:?}");
}

const EXPERIMENT: &str = r##"{"flags": [
  {"flag_key": "base", "enabled": true, "rollout_percentage": 100},
  {"flag_key": "checkout_button", "enabled": true, "rollout_percentage": 60,
   "requires": ["base"],
   "variants": {"blue": "#1f6feb", "green": "#2da44e", "grey": "#8c959f"},
   "off_variant": "grey",
   "split": [{"variant": "blue", "weight": 50}, {"variant": "green", "weight": 50}],
   "targeting_rules": {
     "allow_list": [{"rule": "email endsWith \"@internal.com\"", "variant": "green"},
                    {"attribute": "plan", "operator": "equals", "value": "pro", "variant": "blue"},
                    "beta"],
     "deny_list": ["segment == \"legacy\""]}}
]}"##;

/// Every way to be off serves `off_variant`, with the boolean decision
/// unchanged.
#[test]
fn every_off_path_serves_the_off_variant() {
    let variants = |extra: &str| {
        format!(
            r#""variants": {{"on": 1, "off": 0}}, "off_variant": "off", "on_variant": "on" {extra}"#
        )
    };
    let cases = [
        (
            format!(
                r#"{{"flag_key": "f", "enabled": true, "kill_switch": true, {}}}"#,
                variants("")
            ),
            Reason::KillSwitch,
        ),
        (
            format!(r#"{{"flag_key": "f", "enabled": false, {}}}"#, variants("")),
            Reason::Disabled,
        ),
        (
            format!(
                r#"[{{"flag_key": "p", "enabled": false}}, {{"flag_key": "f", "enabled": true, "requires": ["p"], {}}}]"#,
                variants("")
            ),
            Reason::PrerequisiteOff(0),
        ),
        (
            format!(
                r#"{{"flag_key": "f", "enabled": true, "targeting_rules": {{"deny_list": ["not beta"]}}, {}}}"#,
                variants("")
            ),
            Reason::DenyRule(0),
        ),
        (
            format!(
                r#"{{"flag_key": "f", "enabled": true, "rollout_percentage": 0, {}}}"#,
                variants("")
            ),
            Reason::OutOfRollout,
        ),
        (
            format!(r#"{{"flag_key": "f", "enabled": true, {}}}"#, variants("")),
            Reason::NoRollout,
        ),
        (
            format!(
                r#"{{"flag_key": "f", "enabled": true, "rollout_percentage": 100, "bucket_by": "account", {}}}"#,
                variants("")
            ),
            Reason::MissingUserId,
        ),
    ];
    for (config, reason) in cases {
        let set = FlagSet::from_json(&config).unwrap_or_else(|e| panic!("{e}\n{config}"));
        let flag = set.get("f").unwrap();
        let d = flag.evaluate(&user("u1"));
        assert_eq!(d.reason, reason, "{config}");
        assert!(!d.enabled);
        assert_eq!(served(flag, &d), "off", "{config}");
        assert_eq!(d.split_bucket, None);
    }
}

#[test]
fn pinned_variants_win_over_the_split() {
    let set = flags(EXPERIMENT);
    let flag = set.get("checkout_button").unwrap();
    // Every staff user gets green, every pro user blue, whatever their bucket.
    for i in 0..200 {
        let id = format!("user-{i}");
        let staff = user(&id).with("email", "ana@internal.com");
        let d = flag.evaluate(&staff);
        assert_eq!(
            (d.reason, served(flag, &d)),
            (Reason::AllowRule(0), "green")
        );
        assert_eq!(d.split_bucket, None);
        let pro = user(&id).with("plan", "pro");
        let d = flag.evaluate(&pro);
        assert_eq!((d.reason, served(flag, &d)), (Reason::AllowRule(1), "blue"));
        // An allow rule without a pin: the split decides, from the bucket.
        let beta = user(&id).with("beta", true);
        let d = flag.evaluate(&beta);
        assert_eq!(d.reason, Reason::AllowRule(2));
        let b = d.split_bucket.unwrap();
        assert_eq!(served(flag, &d), if b < 5000 { "blue" } else { "green" });
        // Deny still serves off_variant.
        let legacy = user(&id).with("segment", "legacy");
        assert_eq!(served(flag, &flag.evaluate(&legacy)), "grey");
    }
    // On with no bucketing key: the split's first variant.
    let set = flags(
        r#"{"flag_key": "f", "enabled": true, "rollout_percentage": 50,
            "variants": {"a": 1, "b": 2, "off": 0}, "off_variant": "off",
            "split": [{"variant": "b", "weight": 1}, {"variant": "a", "weight": 99}],
            "targeting_rules": {"allow_list": ["beta"]}}"#,
    );
    let flag = set.get("f").unwrap();
    let d = flag.evaluate(&Context::new().with("beta", true));
    assert_eq!(
        (d.enabled, served(flag, &d), d.split_bucket),
        (true, "b", None)
    );
    // And off with none: off_variant, as for a boolean flag.
    let d = flag.evaluate(&Context::new());
    assert_eq!((d.reason, served(flag, &d)), (Reason::MissingUserId, "off"));
}

#[test]
fn weights_are_exact_decimals() {
    // 4.35 % is 435 basis points: bucket 434 is the first variant's, 435
    // the second's (4.35 in binary floating point is 4.3499999...).
    let set = flags(
        r#"{"flag_key": "exact", "enabled": true, "rollout_percentage": 100,
            "variants": {"small": 1, "rest": 2, "off": 0}, "off_variant": "off",
            "split": [{"variant": "small", "weight": 4.35}, {"variant": "rest", "weight": 95.65}]}"#,
    );
    let flag = set.get("exact").unwrap();
    let mut seen = [false; 2];
    for i in 0..200_000 {
        let id = format!("u{i}");
        let d = flag.evaluate(&user(&id));
        match d.split_bucket {
            Some(434) => {
                assert_eq!(served(flag, &d), "small");
                seen[0] = true;
            }
            Some(435) => {
                assert_eq!(served(flag, &d), "rest");
                seen[1] = true;
            }
            _ => {}
        }
        if seen == [true, true] {
            return;
        }
    }
    panic!("no user at buckets 434 and 435: {seen:?}");
}

#[test]
fn values_keep_their_json_type_and_order() {
    let set = flags(
        r#"{"flag_key": "cfg", "enabled": true, "on_variant": "big",
            "variants": {"big": {"size": 10, "colour": "red", "ratio": 1.5, "tags": [true, null]},
                         "n": 10, "s": "ten", "b": false, "f": 2.50, "none": null},
            "off_variant": "n", "allow_lints": ["unserved-variant"]}"#,
    );
    let flag = set.get("cfg").unwrap();
    let v = |name: &str| flag.variants().iter().find(|v| v.name() == name).unwrap();
    assert_eq!(
        v("big").json(),
        r#"{"size":10,"colour":"red","ratio":1.5,"tags":[true,null]}"#
    );
    assert_eq!((v("n").json(), v("n").as_i64()), ("10", Some(10)));
    assert_eq!((v("s").json(), v("s").as_str()), (r#""ten""#, Some("ten")));
    assert_eq!(v("b").as_bool(), Some(false));
    assert_eq!((v("f").json(), v("f").as_f64()), ("2.5", Some(2.5)));
    assert!(v("none").is_null());
    assert_eq!(flag.off_variant(), Some(1));
}

#[test]
fn boolean_flags_serve_no_variant() {
    let set = flags(crate::SPEC_FLAG);
    let flag = &set.flags()[0];
    assert!(flag.variants().is_empty());
    let d = flag.evaluate(&user("user_123"));
    assert_eq!((d.variant, d.split_bucket), (None, None));
    assert_eq!(flag.off_variant(), None);
}

#[test]
fn yaml_and_toml_decide_alike() {
    let yaml = r##"
flags:
  - flag_key: base
    enabled: true
    rollout_percentage: 100
  - flag_key: checkout_button
    enabled: true
    rollout_percentage: 60
    requires: [base]
    variants: {blue: "#1f6feb", green: "#2da44e", grey: "#8c959f"}
    off_variant: grey
    split:
      - {variant: blue, weight: 50}
      - {variant: green, weight: 50}
    targeting_rules:
      allow_list:
        - {rule: 'email endsWith "@internal.com"', variant: green}
        - {attribute: plan, operator: equals, value: pro, variant: blue}
        - beta
      deny_list: ['segment == "legacy"']
"##;
    let toml = r##"
[[flags]]
flag_key = "base"
enabled = true
rollout_percentage = 100

[[flags]]
flag_key = "checkout_button"
enabled = true
rollout_percentage = 60
requires = ["base"]
off_variant = "grey"
split = [{variant = "blue", weight = 50.0}, {variant = "green", weight = 5_0}]
variants = {blue = "#1f6feb", green = "#2da44e", grey = "#8c959f"}

[flags.targeting_rules]
allow_list = [
  {rule = 'email endsWith "@internal.com"', variant = "green"},
  {attribute = "plan", operator = "equals", value = "pro", variant = "blue"},
  "beta",
]
deny_list = ['segment == "legacy"']
"##;
    let json = flags(EXPERIMENT);
    let limits = Limits::default();
    let yaml = FlagSet::from_text(yaml, Format::Yaml, &limits).unwrap_or_else(|e| panic!("{e}"));
    let toml = FlagSet::from_text(toml, Format::Toml, &limits).unwrap_or_else(|e| panic!("{e}"));
    let mut served_names = std::collections::HashSet::new();
    for i in 0..2000 {
        let id = format!("user-{i}");
        let ctx = match i % 5 {
            0 => user(&id).with("email", "x@internal.com"),
            1 => user(&id).with("plan", "pro"),
            2 => user(&id).with("beta", true),
            3 => user(&id).with("segment", "legacy"),
            _ => user(&id),
        };
        let want = json.evaluate("checkout_button", &ctx);
        served_names.insert(want.variant);
        assert_eq!(yaml.evaluate("checkout_button", &ctx), want, "{id}");
        assert_eq!(toml.evaluate("checkout_button", &ctx), want, "{id}");
    }
    assert_eq!(served_names.len(), 3, "every variant is served");
    let flag = toml.get("checkout_button").unwrap();
    assert_eq!(flag.variants()[0].json(), r##""#1f6feb""##);
}

#[test]
fn explain_names_the_split_bucket_and_the_variant() {
    let set = split_flag("checkout_button");
    let flag = set.get("checkout_button").unwrap();
    let text = flag.explain(&user("user_123")).to_string();
    assert!(
        text.ends_with("variant: b (split bucket 9246 < 10000: split[1])\n"),
        "{text}"
    );
    let set = flags(EXPERIMENT);
    let flag = set.get("checkout_button").unwrap();
    let staff = user("u1").with("email", "ana@internal.com");
    let text = flag.explain(&staff).to_string();
    assert!(
        text.ends_with("variant: green (pinned by allow_list[0])\n"),
        "{text}"
    );
    let text = flag
        .explain(&user("u1").with("segment", "legacy"))
        .to_string();
    assert!(
        text.ends_with("variant: grey (off_variant: the flag is off)\n"),
        "{text}"
    );
}

/// Hostile variant fields fail fast: too many variants, a split longer
/// than any flag can have, and a thousand unknown names among a thousand
/// variants (their suggestions stop with the diagnostics shown).
#[test]
fn hostile_variants_fail_fast() {
    use killswitch::ErrorKind;
    let kinds = |config: String| {
        crate::on_stack_within(256 * 1024, std::time::Duration::from_secs(120), move || {
            FlagSet::from_json(&config)
                .unwrap_err()
                .diagnostics()
                .iter()
                .map(killswitch::Diagnostic::kind)
                .collect::<Vec<_>>()
        })
    };
    let variants = |n: usize| {
        (0..n)
            .map(|i| format!(r#""v{i}": {i}"#))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let too_many = format!(
        r#"{{"flag_key": "f", "enabled": true, "variants": {{{}}}, "off_variant": "v0", "on_variant": "v1"}}"#,
        variants(1001)
    );
    assert!(kinds(too_many).contains(&ErrorKind::TooLong));
    let long_split: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"variant": "x{i}", "weight": 0}}"#))
        .collect();
    let long = format!(
        r#"{{"flag_key": "f", "enabled": true, "variants": {{"a": 1}}, "off_variant": "a", "split": [{}]}}"#,
        long_split.join(",")
    );
    assert_eq!(kinds(long), [ErrorKind::TooLong]);
    let unknown: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"variant": "vv{i}x", "weight": 0.1}}"#))
        .collect();
    let config = format!(
        r#"{{"flag_key": "f", "enabled": true, "variants": {{{}}}, "off_variant": "v0", "split": [{}]}}"#,
        variants(1000),
        unknown.join(",")
    );
    let found = kinds(config);
    assert!(
        found
            .iter()
            .all(|k| matches!(k, ErrorKind::UnknownVariant | ErrorKind::TooManyDiagnostics)),
        "{found:?}"
    );
}

/// A killed flag must answer a value: an off variant of `null` would hand
/// the answer to each caller's default (which may be `true`) in every
/// OpenFeature client, so the loader refuses it, and says why.
#[test]
fn an_off_variant_cannot_be_null() {
    let config = r#"{"flag_key": "promo", "enabled": true, "kill_switch": true,
        "variants": {"shown": {"text": "sale"}, "hidden": null},
        "off_variant": "hidden", "on_variant": "shown"}"#;
    let err = killswitch::FlagSet::from_json(config).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!(d.kind(), killswitch::ErrorKind::WrongType);
    assert!(
        d.message()
            .contains("off_variant \"hidden\" has the value null"),
        "{}",
        d.message()
    );
    // An on variant may be null (the caller's default then decides, and
    // only while the flag is on).
    let on_null = config
        .replace(r#""hidden": null"#, r#""hidden": {}"#)
        .replace(r#""shown": {"text": "sale"}"#, r#""shown": null"#);
    assert!(killswitch::FlagSet::from_json(&on_null).is_ok());
}
