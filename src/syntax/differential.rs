//! The pest parser against the hand-written one it replaces: random token
//! strings through both, compared on what they accept, the trees they build
//! (spans included) and the first error they report. Run with
//! `cargo test --lib differential -- --ignored --nocapture`.

use super::{guard, lower, parser};
use crate::limits::Limits;

const TOKENS: &[&str] = &[
    "a",
    "b",
    "email",
    "segment",
    "user.plan",
    "_x",
    "é",
    "日本",
    "x1",
    "in",
    "and",
    "or",
    "not",
    "not",
    "true",
    "false",
    "nothing",
    "android",
    "orange",
    "notin",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "~=",
    "!",
    "&&",
    "||",
    "=>",
    "endsWith",
    "endswith",
    "equls",
    "exists",
    "contains",
    "semVerLessThan",
    "startsWithIgnoreCase",
    "matches",
    "before",
    "not in",
    "not  in",
    "(",
    ")",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "@",
    "@beta",
    "@and",
    "`a-b`",
    "``",
    "`a\\`b`",
    "\"x\"",
    "'y'",
    "\"a\\\"b\"",
    "\"\\u{1F600}\"",
    "\"\\q\"",
    "\"\\u12\"",
    "'\\'",
    "1",
    "-2",
    "3.5",
    "1e5",
    "2E-3",
    "99999999999999999999",
    "1e999",
    "-",
    "1.",
    ".5",
    "-x",
    "a.",
    ".b",
    "a.b.c",
    "a.`k`",
    "#",
    "$",
    "\t",
    "\n",
];

/// A small, seeded xorshift generator: the same strings on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_rule(rng: &mut Rng) -> String {
    let len = 1 + rng.below(12);
    let mut text = String::new();
    for _ in 0..len {
        text.push_str(TOKENS[rng.below(TOKENS.len())]);
        match rng.below(6) {
            0 => {}
            1 => text.push_str("  "),
            _ => text.push(' '),
        }
    }
    text
}

#[derive(Default, Debug)]
struct Tally {
    guarded: usize,
    accepted: usize,
    rejected: usize,
    accept_differs: usize,
    tree_differs: usize,
    first_error_differs: usize,
    first_error_same: usize,
}

fn compare(text: &str, tally: &mut Tally, shown: &mut usize) {
    if guard::check(text, &Limits::default()).is_err() {
        tally.guarded += 1;
        return;
    }
    let old = parser::parse(text);
    let new = lower::parse(text);
    match (old, new) {
        (Ok(a), Ok(b)) => {
            tally.accepted += 1;
            if a != b {
                tally.tree_differs += 1;
                if tally.tree_differs < 20 {
                    eprintln!("TREE {text:?}\n  old {a:?}\n  new {b:?}");
                }
            }
        }
        (Err(a), Err(b)) => {
            tally.rejected += 1;
            let first = &b[0];
            if (a.kind(), a.message(), a.span()) == (first.kind(), first.message(), first.span()) {
                tally.first_error_same += 1;
            } else {
                tally.first_error_differs += 1;
                if *shown < 60 {
                    *shown += 1;
                    eprintln!(
                        "ERROR {text:?}\n  old {:?} {:?}\n  new {:?} {:?}",
                        a.message(),
                        a.span(),
                        first.message(),
                        first.span()
                    );
                }
            }
        }
        (a, b) => {
            tally.accept_differs += 1;
            if tally.accept_differs < 20 {
                eprintln!("ACCEPT {text:?}\n  old {a:?}\n  new {b:?}");
            }
        }
    }
}

#[test]
#[ignore = "400,000 rules through both parsers: run by hand"]
fn pest_parser_agrees_with_the_hand_written_one() {
    let count: usize = std::env::var("DIFFERENTIAL_RULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tally = Tally::default();
    let mut shown = 0;
    for _ in 0..count {
        compare(&random_rule(&mut rng), &mut tally, &mut shown);
    }
    if let Ok(list) = std::env::var("DIFFERENTIAL_FILE") {
        if let Ok(text) = std::fs::read_to_string(&list) {
            // One JSON string a line (what a logging build of `parse_all`
            // wrote while the whole test suite ran).
            let mut rules: Vec<String> = text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect();
            rules.sort();
            rules.dedup();
            eprintln!("{} distinct rules from {list}", rules.len());
            for rule in &rules {
                compare(rule, &mut tally, &mut shown);
            }
        }
    }
    eprintln!("{tally:#?}");
    assert_eq!(
        (tally.accept_differs, tally.tree_differs),
        (0, 0),
        "{tally:?}"
    );
}
