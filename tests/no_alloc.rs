//! Proves that evaluating compiled flags allocates nothing, neither does
//! building a context of up to eight borrowed attributes, nor evaluating
//! every flag into a buffer that has the capacity.
//!
//! This binary installs a counting `#[global_allocator]`, so it must stay
//! apart from the other tests.
//!
//! A global allocator needs `unsafe impl GlobalAlloc`: Cargo.toml denies
//! unsafe code in every target, this test binary alone allows it, and the
//! library itself forbids it (`#![forbid(unsafe_code)]` in src/lib.rs).
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use killswitch::{Context, FlagSet, Reason, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

/// Counts the allocations made by each thread, then defers to the system
/// allocator. Tests run on several threads, so the count is per thread.
struct Counting;

thread_local! {
    // `const` and no destructor: touching it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the slot may be gone while the thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations this
/// thread made meanwhile.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    let after = ALLOCATIONS.with(Cell::get);
    (value, after - before)
}

/// The specification's flag, and one flag whose rules use every kind of
/// operator: an allow rule that is one long `and` (all of it runs for a user
/// who matches) and a deny rule that is one long `or` (all of it runs for a
/// user who matches only its last term).
const CONFIG: &str = concat!(
    r#"[
"#,
    include_str!("fixtures/spec_flag.json"),
    r#",
{
    "flag_key": "everything",
    "enabled": true,
    "rollout_percentage": 20,
    "targeting_rules": {
        "allow_list": [
            "country in [\"AR\", \"AT\", \"AU\", \"BE\", \"BR\", \"CA\", \"CH\", \"DE\", \"DK\", \"ES\", \"FR\", \"GB\"] and country not in [\"XX\", \"YY\"] and country != \"ZZ\" and email endsWithIgnoreCase \"@INTERNAL.com\" and email startsWith \"ana\" and email contains \"@\" and name equalsIgnoreCase \"école\" and name startsWithIgnoreCase \"ÉC\" and city containsIgnoreCase \"ÜNC\" and city endsWithIgnoreCase \"CHEN\" and city inIgnoreCase [\"Aarhus\", \"Bâle\", \"Córdoba\", \"Düsseldorf\", \"Évian\", \"Føroyar\", \"Gävle\", \"Hérault\", \"Île\", \"München\"] and email matches \"^[a-z]+@\" and email matchesIgnoreCase \"INTERNAL\\\\.COM$\" and version semVerGreaterThanOrEqual \"2.1\" and version semVerLessThan \"3.0.0-beta.1\" and version semVerEqual \"2.4.0+build.7\" and signup before \"2024-01-01T00:00:00+01:00\" and signup after 1600000000000 and seen after \"2020-01-01T00:00:00Z\" and age >= 18 and age < 130 and score > 4.25 and score <= 4.5 and account.plan == \"pro\" and account.seats in [5, 10, 20] and `device-type` != \"tv\" and tags contains \"et\" and tags not in [\"x\", \"y\"] and tags == \"beta\" and is_internal and email exists and not segment == \"legacy\" and not (age < 18 or score > 5)"
        ],
        "deny_list": [
            "country in [\"AR\", \"AT\", \"AU\", \"BE\", \"BR\", \"CA\", \"CH\", \"DE\", \"DK\", \"ES\", \"FR\", \"GB\"] or email endsWithIgnoreCase \"@INTERNAL.com\" or name equalsIgnoreCase \"école\" or city inIgnoreCase [\"Aarhus\", \"Bâle\", \"Córdoba\", \"Düsseldorf\", \"Évian\", \"Føroyar\", \"Gävle\", \"Hérault\", \"Île\", \"München\"] or email matches \"^[0-9]+@\" or version semVerLessThan \"2.0.0\" or signup before \"2000-01-01T00:00:00Z\" or age < 18 or account.plan == \"free\" or tags == \"banned\" or is_internal or segment == \"legacy\""
        ]
    }
}
]"#
);

#[test]
fn the_counter_sees_allocations() {
    let (_, n) = allocations_in(|| black_box(vec![1u8, 2, 3]));
    assert!(n >= 1, "the counting allocator is not installed");
}

#[test]
fn evaluating_flags_never_allocates() {
    let flags = FlagSet::from_json(CONFIG).unwrap_or_else(|e| panic!("{e}"));

    // Buckets for "everything" (Python, as in tests/engine/bucket.rs):
    // user_123 -> 31, so out of its 20% rollout.
    // Contexts are built before counting: lists and nested objects allocate.
    let full_json = r#"{
        "user_id": "user_123", "country": "DE", "email": "ana@Internal.com",
        "name": "ÉCOLE", "city": "MÜNCHEN", "version": "2.4.0",
        "signup": "2023-12-31T22:59:59Z", "seen": 1700000000000, "age": 30,
        "score": 4.5, "account": {"plan": "pro", "seats": 10}, "device-type": "phone",
        "tags": ["beta", "mobile"], "is_internal": true, "segment": "beta"
    }"#;
    let full = Context::from_json(full_json).unwrap_or_else(|e| panic!("{e}"));
    let legacy_only = Context::new()
        .with("user_id", "user-5")
        .with("segment", "legacy")
        .with("country", "JP")
        .with("email", "Bob@example.org")
        .with("version", "2.5.0")
        .with("signup", 1_700_000_000_000_i64)
        .with("age", 40)
        .with("tags", Value::from(vec!["x"]));
    let staff = Context::new()
        .with("user_id", "user_123")
        .with("email", "ana@internal.com")
        .with("segment", "beta");
    let rollout_in = Context::for_user("user-5").with("segment", "beta");
    let rollout_out = Context::for_user("user_123").with("email", "user@example.com");
    let anonymous = Context::new().with("email", "user@example.com");

    let cases: [(&str, &Context<'_>, Reason); 9] = [
        ("everything", &full, Reason::AllowRule(0)),
        ("everything", &legacy_only, Reason::DenyRule(0)),
        ("everything", &rollout_out, Reason::OutOfRollout),
        ("everything", &anonymous, Reason::MissingUserId),
        ("new_search_ui", &staff, Reason::AllowRule(0)),
        ("new_search_ui", &legacy_only, Reason::DenyRule(0)),
        ("new_search_ui", &rollout_in, Reason::InRollout),
        ("new_search_ui", &rollout_out, Reason::OutOfRollout),
        ("no_such_flag", &full, Reason::UnknownFlag),
    ];
    // Warm up once, on this thread: the regex engine builds its caches on
    // first use. Also check the answers, so the rules really ran.
    for (key, ctx, reason) in cases {
        assert_eq!(flags.evaluate(key, ctx).reason, reason, "{key} {ctx:?}");
    }

    let (enabled, n) = allocations_in(|| {
        let mut enabled = 0usize;
        for i in 0..1_000 {
            let (key, ctx, _) = cases[i % cases.len()];
            if black_box(&flags)
                .evaluate(black_box(key), black_box(ctx))
                .enabled
            {
                enabled += 1;
            }
        }
        enabled
    });
    assert_eq!(n, 0, "1,000 evaluations allocated {n} times");
    // Per round of 9: two allows, one in-rollout; 1,000 = 111 rounds + 1.
    assert_eq!(enabled, 111 * 3 + 1);
}

#[test]
fn building_a_context_of_eight_borrowed_attributes_never_allocates() {
    let user_id = String::from("user_123");
    let email = String::from("user@example.com");
    let (ctx, n) = allocations_in(|| {
        let ctx = Context::new()
            .with("user_id", user_id.as_str())
            .with("email", email.as_str())
            .with("segment", "beta")
            .with("is_internal", true)
            .with("age", 30)
            .with("score", 4.5)
            .with("country", "DE")
            .with("account.plan", "pro");
        black_box(ctx)
    });
    assert_eq!(n, 0, "building the context allocated {n} times");
    assert_eq!(ctx.len(), 8);

    let (ctx, n) = allocations_in(|| black_box(Context::for_user(user_id.as_str())));
    assert_eq!(n, 0);
    assert_eq!(ctx.user_id(), Some("user_123"));

    // Replacing a value in place does not allocate either.
    let mut ctx = ctx;
    let (_, n) = allocations_in(|| {
        ctx.set("user_id", "user_456");
    });
    assert_eq!(n, 0);
    assert_eq!(ctx.user_id(), Some("user_456"));
}

#[test]
fn schedules_and_prerequisites_never_allocate() {
    let flags = FlagSet::from_json(
        r#"[{"flag_key": "parent", "enabled": true,
             "rollout_schedule": [
                {"at": "2026-12-01T00:00:00Z", "percentage": 10},
                {"from": "2026-12-02T00:00:00Z", "to": "2026-12-03T00:00:00Z",
                 "start_percentage": 10, "end_percentage": 100}]},
            {"flag_key": "child", "enabled": true, "requires": ["parent"],
             "rollout_percentage": 100}]"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let times = [
        killswitch::parse_time("2026-11-30T00:00:00Z").unwrap(),
        killswitch::parse_time("2026-12-01T12:00:00Z").unwrap(),
        killswitch::parse_time("2026-12-02T12:00:00Z").unwrap(),
        killswitch::parse_time("2026-12-04T00:00:00Z").unwrap(),
    ];
    let ids: Vec<String> = (0..100).map(|i| format!("user-{i}")).collect();
    let contexts: Vec<Context<'_>> = ids
        .iter()
        .map(|id| Context::for_user(id.as_str()))
        .collect();
    let (enabled, n) = allocations_in(|| {
        let mut enabled = [0usize; 4];
        for (slot, now) in times.iter().enumerate() {
            for ctx in &contexts {
                let d = black_box(&flags).evaluate_at("child", black_box(ctx), *now);
                enabled[slot] += usize::from(d.enabled);
            }
        }
        // The system clock too.
        black_box(flags.evaluate("child", &contexts[0]));
        enabled
    });
    assert_eq!(
        n, 0,
        "evaluating schedules and prerequisites allocated {n} times"
    );
    // Nobody before the plan, about 10% and 55% during it, everyone after.
    assert_eq!(enabled[0], 0);
    assert!((2..25).contains(&enabled[1]), "{enabled:?}");
    assert!((35..75).contains(&enabled[2]), "{enabled:?}");
    assert_eq!(enabled[3], 100);
}

/// A flag with variants: a weighted split, a pinned allow rule, an allow
/// rule the split serves, and a deny rule.
const VARIANT_CONFIG: &str = r##"{
    "flag_key": "checkout_button", "enabled": true, "rollout_percentage": 60,
    "variants": {"blue": "#1f6feb", "green": {"colour": "#2da44e", "size": 10}, "grey": "#888888"},
    "off_variant": "grey",
    "split": [{"variant": "blue", "weight": 33.33}, {"variant": "green", "weight": 66.67}],
    "targeting_rules": {
        "allow_list": [{"rule": "email endsWith \"@internal.com\"", "variant": "green"}, "beta"],
        "deny_list": ["segment == \"legacy\""]
    }
}"##;

#[test]
fn evaluating_variant_flags_never_allocates() {
    let flags = FlagSet::from_json(VARIANT_CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let staff = Context::new()
        .with("user_id", "u1")
        .with("email", "ana@internal.com");
    let beta = Context::new().with("user_id", "u2").with("beta", true);
    let anonymous_beta = Context::new().with("beta", true);
    let legacy = Context::new()
        .with("user_id", "u3")
        .with("segment", "legacy");
    let users: Vec<String> = (0..16).map(|i| format!("user-{i}")).collect();
    let plain: Vec<Context<'_>> = users
        .iter()
        .map(String::as_str)
        .map(Context::for_user)
        .collect();
    let flag = flags.get("checkout_button").unwrap();
    let (served, n) = allocations_in(|| {
        let mut served = [0usize; 3];
        for i in 0..1_000 {
            let ctx = match i % 5 {
                0 => &staff,
                1 => &beta,
                2 => &anonymous_beta,
                3 => &legacy,
                _ => &plain[i % plain.len()],
            };
            let d = black_box(flag).evaluate(black_box(ctx));
            let value = flag.variant(d.variant.unwrap_or(0)).map(|v| v.json());
            black_box(value);
            served[usize::from(d.variant.unwrap_or(0))] += 1;
        }
        served
    });
    assert_eq!(n, 0, "1,000 evaluations allocated {n} times");
    assert_eq!(served.iter().sum::<usize>(), 1_000);
    assert!(served.iter().all(|s| *s > 0), "{served:?}");
}

#[test]
fn building_a_context_and_evaluating_never_allocates() {
    let flags = FlagSet::from_json(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let user_id = String::from("user_123");
    let email = String::from("user@example.com");
    // Warm up (the regex caches of "everything").
    let warm = Context::for_user(user_id.as_str()).with("email", email.as_str());
    black_box(flags.evaluate("everything", &warm));
    let (reasons, n) = allocations_in(|| {
        let built = Context::new()
            .with("user_id", black_box(user_id.as_str()))
            .with("email", black_box(email.as_str()))
            .with("segment", black_box("beta"))
            .with("is_internal", black_box(false));
        let mut set = Context::new();
        set.set("user_id", black_box(user_id.as_str()))
            .set("email", black_box(email.as_str()))
            .set("segment", black_box("beta"))
            .set("is_internal", black_box(false));
        [
            flags.evaluate("new_search_ui", &built).reason,
            flags.evaluate("everything", &set).reason,
        ]
    });
    assert_eq!(n, 0, "building and evaluating allocated {n} times");
    assert_eq!(reasons, [Reason::OutOfRollout, Reason::OutOfRollout]);
}

#[test]
fn evaluating_every_flag_into_a_buffer_with_capacity_never_allocates() {
    let flags = FlagSet::from_json(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let staff = Context::new()
        .with("user_id", "user_123")
        .with("email", "ana@internal.com")
        .with("segment", "beta");
    let mut out = Vec::with_capacity(flags.len());
    // Warm up (regex caches), and check the answers.
    flags.evaluate_all_into(&staff, &mut out);
    let keys: Vec<(&str, Reason)> = out.iter().map(|(f, d)| (f.key(), d.reason)).collect();
    assert_eq!(
        keys,
        [
            ("new_search_ui", Reason::AllowRule(0)),
            ("everything", Reason::DenyRule(0))
        ]
    );
    let (total, n) = allocations_in(|| {
        let mut total = 0;
        for _ in 0..100 {
            out.clear();
            black_box(&flags).evaluate_all_into(black_box(&staff), &mut out);
            total += out.len();
        }
        total
    });
    assert_eq!(n, 0, "100 bulk evaluations allocated {n} times");
    assert_eq!(total, 200);
}
