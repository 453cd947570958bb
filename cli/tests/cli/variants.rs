//! Flags with variants on the command line: `eval` prints the variant and
//! its value, `--sample` counts each variant, `test` cases expect them.
//! Buckets checked with Python's hashlib:
//! `python3 -c "import hashlib; d=hashlib.sha256(b'user_123pricing_page').digest(); print(d[0:4].hex(), int.from_bytes(d[4:8],'big')%10000)"`
//! prints `5a017127 5757` (and 0x5a017127 % 100 == 43).

use super::{killswitch, stderr, stdout, temp_file};

#[test]
fn eval_prints_the_variant_and_its_value() {
    let out = killswitch(&[
        "eval",
        "examples/variants.json",
        "--context",
        r#"{"user_id": "user_123"}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        r##"{"flag":"checkout_button","user_id":"user_123","enabled":true,"reason":"in_rollout","bucket":19,"percentage":60,"split_bucket":9246,"variant":"green","value":"#2da44e"}
{"flag":"pricing_page","user_id":"user_123","enabled":true,"reason":"in_rollout","bucket":43,"percentage":100,"split_bucket":5757,"variant":"cards","value":{"layout":"cards","trial_days":14}}
"##
    );
    // A pinned variant, and off_variant on a deny.
    let out = killswitch(&[
        "eval",
        "examples/variants.json",
        "--flag",
        "checkout_button",
        "--contexts",
        &temp_file(
            "variant-users.jsonl",
            "{\"user_id\": \"ana\", \"email\": \"ana@internal.com\"}\n\
             {\"user_id\": \"bo\", \"segment\": \"legacy\"}\n",
        )
        .display()
        .to_string(),
    ]);
    assert_eq!(
        stdout(&out),
        r##"{"flag":"checkout_button","user_id":"ana","enabled":true,"reason":"allow_rule","rule":0,"variant":"green","value":"#2da44e"}
{"flag":"checkout_button","user_id":"bo","enabled":false,"reason":"deny_rule","rule":0,"variant":"grey","value":"#8c959f"}
"##
    );
}

#[test]
fn eval_explain_names_the_variant() {
    let out = killswitch(&[
        "eval",
        "examples/variants.json",
        "--flag",
        "pricing_page",
        "--context",
        r#"{"user_id": "user_123"}"#,
        "--explain",
    ]);
    let text = stdout(&out);
    assert!(
        text.ends_with("  rollout: bucket 43 < 100% (decides: on)\n  variant: cards (split bucket 5757 < 6667: split[1])\n"),
        "{text}"
    );
}

#[test]
fn sample_counts_each_variant() {
    let out = killswitch(&["eval", "examples/variants.json", "--sample", "10000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let counts = &lines[0]["variants"];
    let (blue, green, grey) = (
        counts["blue"].as_u64().unwrap(),
        counts["green"].as_u64().unwrap(),
        counts["grey"].as_u64().unwrap(),
    );
    assert_eq!(blue + green + grey, 10_000);
    assert_eq!(blue + green, lines[0]["on"].as_u64().unwrap());
    // Declaration order, not alphabetical.
    let text = stdout(&out);
    assert!(
        text.contains(r#""variants":{"control":"#) && text.contains(r#""cards":"#),
        "{text}"
    );
    let line = text.lines().nth(1).unwrap();
    let control = line.find("control").unwrap();
    let cards = line.find("cards").unwrap();
    assert!(control < cards, "{line}");
}

#[test]
fn test_cases_may_expect_a_variant_or_a_value() {
    let cases = temp_file(
        "variant-cases.json",
        r##"[
          {"name": "user_123 gets the cards layout", "flag": "pricing_page",
           "context": {"user_id": "user_123"},
           "expect": {"variant": "cards", "value": {"trial_days": 14, "layout": "cards"}}},
          {"name": "staff see green", "flag": "checkout_button",
           "context": {"user_id": "u1", "email": "ana@internal.com"},
           "expect": {"value": "#2da44e"}},
          {"name": "boolean flags are on/off", "flag": "checkout_button",
           "context": {"user_id": "bo", "segment": "legacy"},
           "expect": {"variant": "grey", "enabled": false}},
          {"name": "wrong", "flag": "pricing_page", "context": {"user_id": "user_123"},
           "expect": {"variant": "control"}}
        ]"##,
    );
    let out = killswitch(&[
        "test",
        "examples/variants.json",
        "--cases",
        &cases.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("ok      user_123 gets the cards layout\n"),
        "{text}"
    );
    assert!(text.contains("ok      staff see green\n"), "{text}");
    assert!(
        text.contains("ok      boolean flags are on/off\n"),
        "{text}"
    );
    assert!(
        text.contains("FAILED  wrong\n        variant: expected \"control\", got \"cards\"\n"),
        "{text}"
    );
    assert!(text.ends_with("3 passed, 1 failed\n"), "{text}");
    // Boolean flags expect on/off and true/false.
    let cases = temp_file(
        "boolean-cases.json",
        r#"[{"name": "on", "flag": "checkout_v2", "context": {"user_id": "user_123", "email": "a@internal.com"},
             "expect": {"variant": "on", "value": true}}]"#,
    );
    let out = killswitch(&[
        "test",
        "examples/flags.json",
        "--cases",
        &cases.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
