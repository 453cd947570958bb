//! The operator names shared by the text and structured forms.

use super::ast::Op;

/// What an operator name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpName {
    /// A comparison, and whether it ignores case.
    Compare(Op, bool),
    /// The existence test.
    Exists,
}

/// Every word operator, with its meaning. Symbols are handled apart.
pub(crate) const WORDS: &[(&str, OpName)] = &[
    ("equals", OpName::Compare(Op::Eq, false)),
    ("notEquals", OpName::Compare(Op::Ne, false)),
    ("in", OpName::Compare(Op::Eq, false)),
    ("notIn", OpName::Compare(Op::Ne, false)),
    ("lessThan", OpName::Compare(Op::Lt, false)),
    ("lessThanOrEqual", OpName::Compare(Op::Le, false)),
    ("greaterThan", OpName::Compare(Op::Gt, false)),
    ("greaterThanOrEqual", OpName::Compare(Op::Ge, false)),
    ("startsWith", OpName::Compare(Op::StartsWith, false)),
    ("endsWith", OpName::Compare(Op::EndsWith, false)),
    ("contains", OpName::Compare(Op::Contains, false)),
    ("matches", OpName::Compare(Op::Matches, false)),
    ("before", OpName::Compare(Op::Before, false)),
    ("after", OpName::Compare(Op::After, false)),
    ("semVerEqual", OpName::Compare(Op::SemVerEq, false)),
    ("semVerLessThan", OpName::Compare(Op::SemVerLt, false)),
    (
        "semVerLessThanOrEqual",
        OpName::Compare(Op::SemVerLe, false),
    ),
    ("semVerGreaterThan", OpName::Compare(Op::SemVerGt, false)),
    (
        "semVerGreaterThanOrEqual",
        OpName::Compare(Op::SemVerGe, false),
    ),
    ("exists", OpName::Exists),
    ("equalsIgnoreCase", OpName::Compare(Op::Eq, true)),
    ("notEqualsIgnoreCase", OpName::Compare(Op::Ne, true)),
    ("inIgnoreCase", OpName::Compare(Op::Eq, true)),
    ("notInIgnoreCase", OpName::Compare(Op::Ne, true)),
    (
        "startsWithIgnoreCase",
        OpName::Compare(Op::StartsWith, true),
    ),
    ("endsWithIgnoreCase", OpName::Compare(Op::EndsWith, true)),
    ("containsIgnoreCase", OpName::Compare(Op::Contains, true)),
    ("matchesIgnoreCase", OpName::Compare(Op::Matches, true)),
];

/// The comparison symbols of the text form.
pub(crate) const SYMBOLS: &[(&str, Op)] = &[
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<", Op::Lt),
    ("<=", Op::Le),
    (">", Op::Gt),
    (">=", Op::Ge),
];

/// Looks up a word operator (case-sensitive, as the language is).
pub(crate) fn word(name: &str) -> Option<OpName> {
    WORDS.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
}

/// Looks up a symbol operator.
pub(crate) fn symbol(text: &str) -> Option<Op> {
    SYMBOLS.iter().find(|(s, _)| *s == text).map(|(_, op)| *op)
}

/// A hint for an unknown operator: a likely intended name.
pub(crate) fn suggest(name: &str) -> Option<String> {
    let alias = match name {
        "=" | "===" | "eq" | "is" => Some("=="),
        "!==" | "<>" | "ne" | "neq" | "isNot" => Some("!="),
        "=<" | "lte" | "le" => Some("<="),
        "=>" | "gte" | "ge" => Some(">="),
        "lt" => Some("<"),
        "gt" => Some(">"),
        "=~" | "~=" | "~" | "regex" | "like" => Some("matches"),
        "notContains" => {
            return Some(
                "there is no `notContains`; write `not (attr contains \"...\")`".to_string(),
            )
        }
        _ => None,
    };
    let best = alias.or_else(|| crate::suggest::closest(name, WORDS.iter().map(|(n, _)| *n)))?;
    Some(crate::suggest::did_you_mean(
        best,
        crate::suggest::Quote::Rule,
    ))
}

/// The canonical text spelling of an operator, as the printer writes it.
pub(crate) fn canonical(op: Op, ignore_case: bool, several: bool) -> &'static str {
    match (op, ignore_case, several) {
        (Op::Eq, false, false) => "==",
        (Op::Eq, false, true) => "in",
        (Op::Ne, false, false) => "!=",
        (Op::Ne, false, true) => "not in",
        (Op::Eq, true, false) => "equalsIgnoreCase",
        (Op::Eq, true, true) => "inIgnoreCase",
        (Op::Ne, true, false) => "notEqualsIgnoreCase",
        (Op::Ne, true, true) => "notInIgnoreCase",
        (Op::Lt, _, _) => "<",
        (Op::Le, _, _) => "<=",
        (Op::Gt, _, _) => ">",
        (Op::Ge, _, _) => ">=",
        (Op::StartsWith, false, _) => "startsWith",
        (Op::StartsWith, true, _) => "startsWithIgnoreCase",
        (Op::EndsWith, false, _) => "endsWith",
        (Op::EndsWith, true, _) => "endsWithIgnoreCase",
        (Op::Contains, false, _) => "contains",
        (Op::Contains, true, _) => "containsIgnoreCase",
        (Op::Matches, false, _) => "matches",
        (Op::Matches, true, _) => "matchesIgnoreCase",
        (Op::Before, _, _) => "before",
        (Op::After, _, _) => "after",
        (Op::SemVerEq, _, _) => "semVerEqual",
        (Op::SemVerLt, _, _) => "semVerLessThan",
        (Op::SemVerLe, _, _) => "semVerLessThanOrEqual",
        (Op::SemVerGt, _, _) => "semVerGreaterThan",
        (Op::SemVerGe, _, _) => "semVerGreaterThanOrEqual",
    }
}
