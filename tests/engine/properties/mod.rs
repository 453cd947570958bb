//! Property tests: determinism, the evaluation order, rollout monotonicity,
//! bucketing, and the language (round trips, text vs structured form, and
//! the compiled plan against a naive interpreter).
//!
//! Case counts follow proptest's default (256) unless `PROPTEST_CASES` is
//! set: `PROPTEST_CASES=25600 cargo test --release --test engine properties` runs 100x more.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod gen;
mod interpreter;

mod flags;
mod language;
mod rollout;
mod variants;
