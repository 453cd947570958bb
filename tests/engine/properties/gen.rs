//! Strategies shared by the property tests.

use killswitch::ast::{Compare, Expr, ExprKind, Literal, LiteralValue, Op, Path};
use killswitch::Span;
use proptest::prelude::*;
use serde_json::{json, Value as Json};

/// Attribute paths, including a nested one, a flat dotted key, a list and
/// one that no context has.
pub const PATHS: &[&[&str]] = &[
    &["a"],
    &["b"],
    &["email"],
    &["tags"],
    &["n"],
    &["flag"],
    &["version"],
    &["when"],
    &["account", "plan"],
    &["account.plan"],
    &["missing"],
];

pub const STRINGS: &[&str] = &[
    "",
    "a",
    "A",
    "ab",
    "Ab",
    "abc",
    "beta",
    "BETA",
    "legacy",
    "é",
    "É",
    "école",
    "ÉCOLE",
    "x@internal.com",
    "X@Internal.COM",
    "straße",
    "日本",
    "2",
    "true",
];

/// Versions with their precedence rank (equal rank, equal precedence).
pub const VERSIONS: &[(&str, u32)] = &[
    ("1.0.0-alpha", 0),
    ("1.0.0-alpha.1", 1),
    ("1.0.0-beta.2", 2),
    ("1.0.0-beta.11", 3),
    ("1.0.0", 4),
    ("1.0", 4),
    ("1", 4),
    ("1.0.0+build.7", 4),
    // "2" is also one of the STRINGS: a partial version, 2.0.0.
    ("2", 5),
    ("2.0.0", 5),
    ("2.1", 6),
    ("2.1.0", 6),
    ("10.0.0", 7),
];

/// Not versions: they never match a semVer test.
pub const NOT_VERSIONS: &[&str] = &["v1.0.0", "1.0.0.0", "01.0.0", "latest"];

/// RFC 3339 date-times with their epoch milliseconds, computed by hand
/// (and with `date -u -d ... +%s`).
pub const TIMES: &[(&str, i64)] = &[
    ("1970-01-01T00:00:00Z", 0),
    ("2024-01-01T00:00:00Z", 1_704_067_200_000),
    ("2024-01-01T01:00:00+01:00", 1_704_067_200_000),
    ("2024-01-01T00:00:00.001Z", 1_704_067_200_001),
    ("2024-02-29T12:00:00Z", 1_709_208_000_000),
    ("2023-12-31T23:59:59-00:30", 1_704_068_999_000),
];

pub const PATTERNS: &[&str] = &["^a", "b$", "a.c", "é", "^$", "[0-9]", "(?i)beta", "te"];

fn path() -> impl Strategy<Value = Path> {
    prop::sample::select(PATHS).prop_map(|segments| Path {
        segments: segments.iter().map(|s| s.to_string()).collect(),
        span: Span::default(),
    })
}

fn lit(value: LiteralValue) -> Literal {
    Literal {
        value,
        span: Span::default(),
    }
}

fn string_lit() -> impl Strategy<Value = Literal> {
    prop::sample::select(STRINGS).prop_map(|s| lit(LiteralValue::String(s.into())))
}

fn number_lit() -> impl Strategy<Value = Literal> {
    prop_oneof![
        (-3i64..4).prop_map(|i| lit(LiteralValue::Int(i))),
        prop::sample::select(&[-1.5f64, 0.0, 0.5, 1.0, 2.0, 2.5][..])
            .prop_map(|f| lit(LiteralValue::Float(f))),
    ]
}

fn any_lit() -> impl Strategy<Value = Literal> {
    prop_oneof![
        string_lit(),
        number_lit(),
        any::<bool>().prop_map(|b| lit(LiteralValue::Bool(b))),
    ]
}

fn values(s: impl Strategy<Value = Literal>) -> impl Strategy<Value = Vec<Literal>> {
    prop::collection::vec(s, 0..4)
}

fn compare(op: Op, ignore_case: bool, values: Vec<Literal>, path: Path) -> Expr {
    Expr {
        kind: ExprKind::Compare(Compare {
            path,
            op,
            ignore_case,
            values,
            op_span: Span::default(),
        }),
        span: Span::default(),
    }
}

/// A comparison that compiles: literals of the types its operator takes.
pub fn leaf_compare() -> impl Strategy<Value = Expr> {
    let eq = (
        prop::sample::select(&[Op::Eq, Op::Ne][..]),
        any::<bool>(),
        values(any_lit()),
    );
    let order = (
        prop::sample::select(&[Op::Lt, Op::Le, Op::Gt, Op::Ge][..]),
        values(number_lit()),
    );
    let text = (
        prop::sample::select(&[Op::StartsWith, Op::EndsWith, Op::Contains][..]),
        any::<bool>(),
        values(string_lit()),
    );
    let regex = (
        any::<bool>(),
        values(prop::sample::select(PATTERNS).prop_map(|p| lit(LiteralValue::String(p.into())))),
    );
    let time = (
        prop::sample::select(&[Op::Before, Op::After][..]),
        values(prop_oneof![
            prop::sample::select(TIMES).prop_map(|(s, _)| lit(LiteralValue::String(s.into()))),
            prop::sample::select(TIMES).prop_map(|(_, ms)| lit(LiteralValue::Int(ms))),
        ]),
    );
    let semver = (
        prop::sample::select(
            &[
                Op::SemVerEq,
                Op::SemVerLt,
                Op::SemVerLe,
                Op::SemVerGt,
                Op::SemVerGe,
            ][..],
        ),
        values(
            prop::sample::select(VERSIONS).prop_map(|(v, _)| lit(LiteralValue::String(v.into()))),
        ),
    );
    (
        path(),
        prop_oneof![
            eq.prop_map(|(op, ic, v)| (op, ic, v)),
            order.prop_map(|(op, v)| (op, false, v)),
            text.prop_map(|(op, ic, v)| (op, ic, v)),
            regex.prop_map(|(ic, v)| (Op::Matches, ic, v)),
            time.prop_map(|(op, v)| (op, false, v)),
            semver.prop_map(|(op, v)| (op, false, v)),
        ],
    )
        .prop_map(|(path, (op, ic, values))| compare(op, ic, values, path))
}

/// A leaf: a comparison, an existence test or a bare boolean path.
pub fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        6 => leaf_compare(),
        1 => path().prop_map(|p| Expr { kind: ExprKind::Exists(p), span: Span::default() }),
        1 => path().prop_map(|p| Expr { kind: ExprKind::Truthy(p), span: Span::default() }),
    ]
}

/// An expression that compiles, up to a few levels deep.
pub fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        let node = |kind| Expr {
            kind,
            span: Span::default(),
        };
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(move |xs| node(ExprKind::And(xs))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(move |xs| node(ExprKind::Or(xs))),
            inner.prop_map(move |x| node(ExprKind::Not(Box::new(x)))),
        ]
    })
}

fn scalar_json() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-3i64..4).prop_map(|i| json!(i)),
        prop::sample::select(&[-1.5f64, 0.5, 1.0, 2.5][..]).prop_map(|f| json!(f)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        prop::sample::select(VERSIONS).prop_map(|(v, _)| json!(v)),
        prop::sample::select(NOT_VERSIONS).prop_map(|v| json!(v)),
        prop::sample::select(TIMES).prop_map(|(t, _)| json!(t)),
        prop::sample::select(TIMES).prop_map(|(_, ms)| json!(ms)),
    ]
}

fn attr_json() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => scalar_json(),
        1 => prop::collection::vec(scalar_json(), 0..4).prop_map(Json::Array),
    ]
}

/// A context as JSON: a `user_id` (usually) and some of the attributes the
/// paths name.
pub fn context_json() -> impl Strategy<Value = Json> {
    const KEYS: &[&str] = &[
        "a",
        "b",
        "email",
        "tags",
        "n",
        "flag",
        "version",
        "when",
        "account.plan",
    ];
    (
        prop::option::weighted(0.9, "[a-zA-Z0-9_é日-]{0,12}"),
        prop::collection::vec((prop::sample::select(KEYS), attr_json()), 0..7),
        prop::option::of(attr_json()),
    )
        .prop_map(|(user, attrs, plan)| {
            let mut map = serde_json::Map::new();
            if let Some(user) = user {
                map.insert("user_id".into(), json!(user));
            }
            for (k, v) in attrs {
                map.insert(k.into(), v);
            }
            if let Some(plan) = plan {
                map.insert("account".into(), json!({ "plan": plan }));
            }
            Json::Object(map)
        })
}
