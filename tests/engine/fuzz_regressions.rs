//! The fuzz targets' checks, replayed with plain `cargo test` (stable, no
//! cargo-fuzz): every seed in `fuzz/seeds/<target>/` and every saved crash
//! in `fuzz/regressions/<target>-<name>` goes through the same check as the
//! fuzz target named by its folder or file-name prefix. The checks live in
//! `fuzz/src/lib.rs`, which the fuzz targets use too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use killswitch::ast::{Expr, ExprKind, LiteralValue};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted, skipping dotfiles such as `.gitkeep`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file() && !file_name(path).starts_with('.'))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .expect("a UTF-8 file name")
}

/// The target a regression file belongs to: its name up to the first `-`.
fn target_of(path: &Path) -> &str {
    let name = file_name(path);
    name.split_once('-').map_or(name, |(target, _)| target)
}

/// Runs `target`'s check on each file; panics naming every file that fails.
fn replay(target: &str, files: &[PathBuf]) {
    // Strict: known bugs fail here (the fuzz targets skip them).
    checks::tolerate_known_bugs(false);
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("a readable input");
            let outcome = catch_unwind(AssertUnwindSafe(|| checks::check(target, &data)));
            match outcome {
                Ok(known) => {
                    assert!(known, "no fuzz target `{target}` for {}", path.display());
                    false
                }
                Err(_) => true,
            }
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "`{target}` check failed for (panic messages above):\n{}",
        failed.join("\n")
    );
}

#[test]
fn every_target_has_seeds_and_they_pass() {
    for target in checks::TARGETS {
        let seeds = files(&fuzz_dir().join("seeds").join(target));
        assert!(!seeds.is_empty(), "no seeds for `{target}`");
        replay(target, &seeds);
    }
}

/// Whether a regression file is the input of a known, unfixed bug: those
/// are replayed one by one in the `#[ignore]`d tests below.
fn is_known_bug(path: &Path) -> bool {
    checks::KNOWN_BUGS
        .iter()
        .any(|(name, _)| file_name(path) == *name)
}

#[test]
fn saved_crashes_no_longer_crash() {
    let regressions = files(&fuzz_dir().join("regressions"));
    for path in &regressions {
        assert!(
            checks::TARGETS.contains(&target_of(path)),
            "{} is not named `<target>-<name>` after a fuzz target",
            path.display()
        );
    }
    for (name, _) in checks::KNOWN_BUGS {
        assert!(
            regressions.iter().any(|path| file_name(path) == *name),
            "known bug `{name}` has no fuzz/regressions/{name}"
        );
    }
    for target in checks::TARGETS {
        let mine: Vec<PathBuf> = regressions
            .iter()
            .filter(|path| target_of(path) == *target && !is_known_bug(path))
            .cloned()
            .collect();
        replay(target, &mine);
    }
}

/// Replays one saved input strictly.
fn replay_one(name: &str) {
    let path = fuzz_dir().join("regressions").join(name);
    assert!(path.is_file(), "no {}", path.display());
    replay(target_of(&path), std::slice::from_ref(&path));
}

// Known bugs in src/, reported and not fixed yet, each get a test like this
// one, marked `#[ignore = "..."]` and listed in `KNOWN_BUGS`
// (fuzz/src/lib.rs). Once fixed, the general test above covers the file.

/// `[]` followed by a multi-byte character (here U+FEFF): the diagnostic
/// "unexpected text after the JSON value" had the span 2..3, splitting the
/// character. Found by the `config` target; fixed in src/config/json.rs.
#[test]
fn config_trailing_text_span_splits_char() {
    replay_one("config-trailing-text-span-splits-char");
}

/// A small deterministic generator of test inputs (xorshift64*).
fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// The `roundtrip` target's generator only builds trees that the language
/// can express, so a failed round trip is a bug in the printer or parser,
/// not in the generator.
fn assert_valid(expr: &Expr, depth: usize) {
    assert!(depth >= 1, "tree deeper than {}", checks::MAX_DEPTH);
    let path_ok =
        |segments: &[String]| !segments.is_empty() && segments.iter().all(|s| !s.is_empty());
    match &expr.kind {
        ExprKind::Or(xs) | ExprKind::And(xs) => {
            assert!((2..=4).contains(&xs.len()), "{} operands", xs.len());
            xs.iter().for_each(|x| assert_valid(x, depth - 1));
        }
        ExprKind::Not(x) => assert_valid(x, depth - 1),
        ExprKind::Exists(p) | ExprKind::Truthy(p) => assert!(path_ok(&p.segments)),
        ExprKind::Segment(name) => assert!(!name.is_empty()),
        ExprKind::Compare(c) => {
            assert!(path_ok(&c.path.segments));
            assert!(
                !c.ignore_case || c.op.can_ignore_case(),
                "{:?} ignoring case",
                c.op
            );
            assert!(c.values.len() <= 4);
            for literal in &c.values {
                if let LiteralValue::Float(f) = literal.value {
                    assert!(f.is_finite());
                }
            }
        }
    }
}

#[test]
fn the_tree_generator_is_deterministic_and_stays_in_the_language() {
    let mut inputs: Vec<Vec<u8>> = vec![Vec::new(), vec![0xff; 64], vec![0x03; 64]];
    inputs
        .extend((0..300u64).map(|seed| pseudo_random_bytes(seed, 16 + (seed as usize * 7) % 300)));
    for data in &inputs {
        let expr = checks::arbitrary_expr(&mut checks::ByteCursor(data));
        assert_eq!(expr, checks::arbitrary_expr(&mut checks::ByteCursor(data)));
        assert_valid(&expr, checks::MAX_DEPTH);
        checks::check_tree(&expr);
    }
}

#[test]
fn evaluate_inputs_split_at_the_first_nul() {
    assert_eq!(
        checks::split_evaluate_input(b"[]\0{\"a\": 1}\0x"),
        (&b"[]"[..], &b"{\"a\": 1}\0x"[..])
    );
    assert_eq!(
        checks::split_evaluate_input(b"[]"),
        (&b"[]"[..], &b"{}"[..])
    );
    assert_eq!(checks::utf8_prefix(b"ab\xffc"), "ab");
}

/// An empty file read as TOML is an empty table: "this flag has no
/// flag_key" was reported at 0..1, past the end of the 0-byte file. Found
/// by the `config` target once it read every input as YAML and TOML too;
/// fixed in src/config/mod.rs (an empty config is one clear error, and
/// missing fields are placed on the opening character, if there is one).
#[test]
fn config_empty_toml_span_past_end() {
    replay_one("config-empty-toml-span-past-end");
}

/// `? ` read as YAML: an explicit key that is null, at the end of the file.
/// "a key must be a string" was widened to one character past the end.
/// Found by the `config` target; fixed where diagnostics are built
/// (src/diagnostic.rs keeps every span inside the file).
#[test]
fn config_yaml_null_key_span_past_end() {
    replay_one("config-yaml-null-key-span-past-end");
}
