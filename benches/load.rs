//! Benchmarks of load cost against input size (issue 11): each group runs
//! the same shape at doubling sizes, so linear load shows as times that
//! double with the size.
//!
//! Ids: `load/in_list/{62500,125000,250000,500000,1000000}` (one structured
//! `in` list of that many values, with `max_rule_len` raised to let it in),
//! `load/flags/{12500,25000,50000,100000}` (that many flags of the
//! specification's shape).

#![allow(clippy::panic, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use killswitch::{CheckReport, Limits};

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

criterion_group!(load, benches);
criterion_main!(load);
