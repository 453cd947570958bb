//! Benchmarks of load cost against input size (issue 11): each group runs
//! the same shape at doubling sizes, so linear load shows as times that
//! double with the size.
//!
//! Ids: `load/in_list/{62500,125000,250000,500000,1000000}` (one structured
//! `in` list of that many values, with `max_rule_len` raised to let it in),
//! `load/flags/{12500,25000,50000,100000}` (that many flags of the
//! specification's shape).
//!
//! `parse/SHAPE/N` (issue 23): one rule through the guard, pest and the
//! lowering (and the compiler, when it parses), in the shapes that cost a
//! PEG parser most, at doubling sizes: `and_chain` and `or_chain` (N tests),
//! `not_run` (N `not`s), `nested` (a test in N parentheses), `bad_tail` (N
//! tests, then a syntax error: the parts before it are lowered again to find
//! their mistakes), `bad_nested` (a syntax error in N parentheses), and
//! `unclosed_string` and `unclosed_bracket` (N tests, then a quote or a
//! bracket that is never closed: the guard's answer).

#![allow(clippy::panic, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use killswitch::{CheckReport, Limits, Rule};

fn in_list(n: usize) -> String {
    let values: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
    format!(
        r#"{{"flag_key": "a", "enabled": true, "targeting_rules": {{"allow_list": [{{"attribute": "x", "operator": "in", "value": [{}]}}]}}}}"#,
        values.join(",")
    )
}

fn flags(n: usize) -> String {
    let flags: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"flag_key": "flag_{i}", "enabled": true, "rollout_percentage": 20, "targeting_rules": {{"allow_list": ["email endsWith \"@internal.com\" and not segment == \"legacy\""], "deny_list": [{{"attribute": "segment", "operator": "in", "value": ["a{i}", "b", "c"]}}]}}}}"#
            )
        })
        .collect();
    format!("[{}]", flags.join(",\n"))
}

fn check(text: &str, limits: &Limits) {
    let report = CheckReport::from_json(text, limits);
    if report.flags().is_none() {
        panic!("rejected: {:?}", report.diagnostics().first());
    }
    black_box(report);
}

fn benches(c: &mut Criterion) {
    let mut roomy = Limits::default();
    roomy.max_rule_len = 1 << 30;
    let mut group = c.benchmark_group("load/in_list");
    group.sample_size(10);
    for n in [62_500, 125_000, 250_000, 500_000, 1_000_000] {
        let text = in_list(n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| check(text, &roomy))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("load/flags");
    group.sample_size(10);
    for n in [12_500, 25_000, 50_000, 100_000] {
        let text = flags(n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| check(text, &Limits::default()))
        });
    }
    group.finish();
}

/// The rule text of each `parse/` shape at size `n`.
fn shape(name: &str, n: usize) -> String {
    let tests = |joiner: &str| vec!["email == \"a\""; n].join(joiner);
    match name {
        "and_chain" => tests(" and "),
        "or_chain" => tests(" or "),
        "not_run" => format!("{}email == \"a\"", "not ".repeat(n)),
        "nested" => format!("{}email == \"a\"{}", "(".repeat(n), ")".repeat(n)),
        "bad_tail" => format!("{} and ,", tests(" and ")),
        "bad_nested" => format!("{}email == ,{}", "(".repeat(n), ")".repeat(n)),
        "unclosed_string" => format!("{} and email == \"a", tests(" and ")),
        _ => format!("{} and email in [\"a\"", tests(" and ")),
    }
}

fn parse_benches(c: &mut Criterion) {
    let mut roomy = Limits::default();
    roomy.max_rule_len = 1 << 30;
    roomy.max_nesting_depth = 1 << 12;
    roomy.max_tests_per_flag = usize::MAX;
    for name in [
        "and_chain",
        "or_chain",
        "not_run",
        "nested",
        "bad_tail",
        "bad_nested",
        "unclosed_string",
        "unclosed_bracket",
    ] {
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.sample_size(10);
        let sizes: &[usize] = if name.contains("nested") {
            &[64, 128, 256, 512]
        } else {
            &[1_000, 2_000, 4_000, 8_000]
        };
        for &n in sizes {
            let text = shape(name, n);
            let good = !name.starts_with("bad") && !name.starts_with("unclosed");
            if Rule::parse_with(&text, &roomy).is_ok() != good {
                panic!("parse/{name}/{n}: unexpected result");
            }
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
                b.iter(|| black_box(Rule::parse_with(text, &roomy).is_ok()))
            });
        }
        group.finish();
    }
}

criterion_group!(load, benches, parse_benches);
criterion_main!(load);
