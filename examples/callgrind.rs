//! Runs one hot path `n` times, for counting instructions per iteration
//! with callgrind (machine noise does not move instruction counts):
//!
//! ```text
//! cargo build --release --example callgrind
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/callgrind flag 10000
//! ```
//!
//! Run it with `n` and with `0`: the difference divided by `n` is the cost
//! of one iteration, setup excluded. Paths: `floor` (one SHA-256 over
//! `user_123new_search_ui`), `flag` (the specification's flag on a
//! prepared context, rollout path), `with` and `set` (building the
//! four-attribute context and evaluating), `lookup` (one of 10,000 keys
//! like `checkout_00042_enabled`), `all` (100 flags into a reused buffer),
//! `compile` (`FlagSet::from_json` of the specification's flag),
//! `rollout_in` and `split` (the specification's flag for a user its
//! rollout admits, boolean or with a 50/50 split of two variants), `rule`
//! (`Rule::parse` of the specification's allow rule: parse and compile) and,
//! built with `--features unstable-ast`, `parse` (the same rule parsed into
//! its syntax tree only).

#![allow(clippy::panic)]

use killswitch::{Context, FlagSet};
use sha2::{Digest, Sha256};
use std::hint::black_box;

const SPEC: &str = include_str!("../tests/fixtures/spec_flag.json");
const SPEC_RULE: &str = r#"email endsWith "@internal.com" and not segment == "legacy""#;

fn load(json: &str) -> FlagSet {
    FlagSet::from_json(json).unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("flag", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let user = String::from("user_123");
    let email = String::from("user@example.com");
    let spec = load(SPEC);
    let ctx = Context::new()
        .with("user_id", user.as_str())
        .with("email", email.as_str())
        .with("segment", "beta")
        .with("is_internal", false);
    let mut sink = 0usize;
    match path {
        "floor" => {
            for _ in 0..n {
                let digest = Sha256::new()
                    .chain_update(black_box(user.as_bytes()))
                    .chain_update(black_box("new_search_ui".as_bytes()))
                    .finalize();
                sink += usize::from(digest[0]);
            }
        }
        "flag" => {
            for _ in 0..n {
                let d = spec.evaluate(black_box("new_search_ui"), black_box(&ctx));
                sink += usize::from(d.enabled);
            }
        }
        "with" => {
            for _ in 0..n {
                let ctx = Context::new()
                    .with("user_id", black_box(user.as_str()))
                    .with("email", black_box(email.as_str()))
                    .with("segment", black_box("beta"))
                    .with("is_internal", black_box(false));
                sink += usize::from(spec.evaluate("new_search_ui", &ctx).enabled);
            }
        }
        "set" => {
            for _ in 0..n {
                let mut ctx = Context::new();
                ctx.set("user_id", black_box(user.as_str()))
                    .set("email", black_box(email.as_str()))
                    .set("segment", black_box("beta"))
                    .set("is_internal", black_box(false));
                sink += usize::from(spec.evaluate("new_search_ui", &ctx).enabled);
            }
        }
        "lookup" => {
            let keys: Vec<String> = (0..10_000)
                .map(|i| format!("checkout_{i:05}_enabled"))
                .collect();
            let json: Vec<String> = keys
                .iter()
                .map(|k| format!(r#"{{"flag_key": "{k}", "enabled": true}}"#))
                .collect();
            let set = load(&format!("[{}]", json.join(",")));
            for i in 0..n {
                sink += usize::from(set.get(black_box(&keys[(i * 7919) % 10_000])).is_some());
            }
        }
        "all" => {
            let flags: Vec<String> = (0..100)
                .map(|i| SPEC.replace("new_search_ui", &format!("new_search_ui_{i:03}")))
                .collect();
            let set = load(&format!("[{}]", flags.join(",")));
            let mut out = Vec::with_capacity(set.len());
            for _ in 0..n {
                out.clear();
                set.evaluate_all_into(black_box(&ctx), &mut out);
                sink += out.len();
            }
        }
        "compile" => {
            for _ in 0..n {
                sink += usize::from(FlagSet::from_json(black_box(SPEC)).is_ok());
            }
        }
        "rollout_in" | "split" => {
            // The same flag, boolean or with a 50/50 split, for a user the
            // 20 % rollout admits: the split's extra cost over the rollout.
            let json = if path == "split" {
                SPEC.replacen(
                    "\"enabled\": true,",
                    "\"enabled\": true, \"variants\": {\"a\": 1, \"b\": 2, \"off\": 0}, \
                     \"off_variant\": \"off\", \"split\": [{\"variant\": \"a\", \"weight\": 50}, \
                     {\"variant\": \"b\", \"weight\": 50}],",
                    1,
                )
            } else {
                SPEC.to_string()
            };
            let flags = load(&json);
            // user_0's bucket for new_search_ui is 10: in the rollout.
            let user0 = Context::new()
                .with("user_id", "user_0")
                .with("email", email.as_str())
                .with("segment", "beta")
                .with("is_internal", false);
            for _ in 0..n {
                let d = flags.evaluate(black_box("new_search_ui"), black_box(&user0));
                sink += usize::from(d.enabled) + usize::from(d.variant.unwrap_or(0));
            }
        }
        "rule" => {
            for _ in 0..n {
                sink += usize::from(killswitch::Rule::parse(black_box(SPEC_RULE)).is_ok());
            }
        }
        #[cfg(feature = "unstable-ast")]
        "parse" => {
            for _ in 0..n {
                sink += usize::from(killswitch::ast::parse(black_box(SPEC_RULE)).is_ok());
            }
        }
        other => panic!("unknown path `{other}`"),
    }
    println!("{sink}");
}
