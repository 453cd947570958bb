//! A flag's variants: `variants`, `off_variant`, `on_variant`, `split` and
//! the variants allow-list entries pin, read field by field and then built
//! into the compiled [`Variants`] when they fit together; and their lints.

use super::lint::{At, Finding};
use super::{Loader, Place};
use crate::document::{Member, Node, NodeKind};
use crate::error::{ErrorKind, Span};
use crate::eval::flag::Flag;
use crate::eval::variant::{Arm, Scalar, Serve, Variant, Variants, SPLIT_BUCKETS};
use crate::suggest::{closest, did_you_mean, Quote};
use std::collections::HashMap;

/// The most variants one flag may declare: far more than any experiment
/// has, and it keeps every index in a `u16`.
pub(super) const MAX_VARIANTS: usize = 1000;

/// The fields of a split entry.
const ARM_FIELDS: &[&str] = &["variant", "weight"];

/// A variant name as written somewhere, with its span.
#[derive(Debug, Clone)]
pub(super) struct Named {
    pub(super) name: String,
    pub(super) span: Span,
}

/// One declared variant.
pub(super) struct RawVariant {
    name: String,
    json: String,
    scalar: Scalar,
}

/// One split entry as read: the variant named and its weight in basis
/// points.
pub(super) struct RawArm {
    variant: Named,
    basis_points: u16,
}

/// The variant fields of a flag as read; each is `None` where absent (or
/// wrong, and reported).
#[derive(Default)]
pub(super) struct RawVariants {
    /// The declared variants and the span of the `variants` key.
    pub(super) variants: Option<(Vec<RawVariant>, Span)>,
    pub(super) off: Option<Named>,
    pub(super) on: Option<Named>,
    /// The split's entries and the span of its array.
    pub(super) split: Option<(Vec<RawArm>, Span)>,
    /// The variant each allow-list entry pins, by entry.
    pub(super) allow_pins: Vec<Option<Named>>,
}

impl Loader<'_> {
    /// `variants`: an object from variant name to any JSON value.
    pub(super) fn variants_field(
        &mut self,
        place: &Place<'_>,
        member: &Member,
    ) -> Option<(Vec<RawVariant>, Span)> {
        let NodeKind::Object(members) = &member.value.value else {
            self.report(
                place,
                "variants",
                ErrorKind::WrongType,
                member.value.span,
                format!(
                    "variants must be an object from variant name to value, not {}",
                    member.value.value.type_name()
                ),
                Some("write {\"blue\": \"#1f6feb\", \"grey\": \"#8c959f\"}".into()),
            );
            return None;
        };
        if members.is_empty() {
            self.report(
                place,
                "variants",
                ErrorKind::MissingField,
                member.value.span,
                "variants declares no variant".into(),
                Some("declare at least the variant served when the flag is off".into()),
            );
            return None;
        }
        if members.len() > MAX_VARIANTS {
            self.report(
                place,
                "variants",
                ErrorKind::TooLong,
                member.key_span,
                format!(
                    "{} variants; a flag may declare at most {MAX_VARIANTS}",
                    members.len()
                ),
                None,
            );
            return None;
        }
        let mut ok = true;
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            if let Some(problem) = bad_variant_name(&m.key) {
                ok = false;
                self.report(
                    place,
                    format_args!("variants.{}", m.key.escape_debug()),
                    ErrorKind::InvalidName,
                    m.key_span,
                    format!("variant name \"{}\" {problem}", m.key.escape_debug()),
                    Some(
                        "a variant name is an identifier: a letter or `_`, then letters, digits, `_` or `-`"
                            .into(),
                    ),
                );
                continue;
            }
            let mut json = String::new();
            if let Err(span) = write_json(&mut json, &m.value) {
                ok = false;
                self.report(
                    place,
                    format_args!("variants.{}", m.key),
                    ErrorKind::OutOfRange,
                    span,
                    "a variant's value must be JSON: infinity and NaN are not".into(),
                    None,
                );
                continue;
            }
            let scalar = match &m.value.value {
                NodeKind::Null => Scalar::Null,
                NodeKind::Bool(b) => Scalar::Bool(*b),
                NodeKind::Int(i) => Scalar::Int(*i),
                NodeKind::Float(f) => Scalar::Float(*f),
                NodeKind::String(s) => Scalar::String(s.as_ref().into()),
                NodeKind::Array(_) | NodeKind::Object(_) => Scalar::Composite,
            };
            out.push(RawVariant {
                name: m.key.to_string(),
                json,
                scalar,
            });
        }
        ok.then_some((out, member.key_span))
    }

    /// `off_variant`, `on_variant`, or a pinned `variant`: a variant name.
    pub(super) fn variant_ref(
        &mut self,
        place: &Place<'_>,
        field: &str,
        node: &Node,
    ) -> Option<Named> {
        match &node.value {
            NodeKind::String(name) => Some(Named {
                name: name.to_string(),
                span: node.span,
            }),
            other => {
                self.report(
                    place,
                    field,
                    ErrorKind::WrongType,
                    node.span,
                    format!(
                        "{field} must be a variant name (a string), not {}",
                        other.type_name()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// `split`: a list of `{"variant", "weight"}` with weights in percent,
    /// at most two decimals, read exactly into basis points.
    pub(super) fn split_field(
        &mut self,
        place: &Place<'_>,
        member: &Member,
    ) -> Option<(Vec<RawArm>, Span)> {
        let NodeKind::Array(items) = &member.value.value else {
            self.report(
                place,
                "split",
                ErrorKind::WrongType,
                member.value.span,
                format!(
                    "split must be an array of {{\"variant\", \"weight\"}}, not {}",
                    member.value.value.type_name()
                ),
                Some("write [{\"variant\": \"blue\", \"weight\": 50}, {\"variant\": \"green\", \"weight\": 50}]".into()),
            );
            return None;
        };
        if items.is_empty() {
            self.report(
                place,
                "split",
                ErrorKind::InvalidWeight,
                member.value.span,
                "split is empty: its weights must sum to 100".into(),
                None,
            );
            return None;
        }
        if items.len() > MAX_VARIANTS {
            self.report(
                place,
                "split",
                ErrorKind::TooLong,
                member.key_span,
                format!(
                    "the split has {} entries; a flag has at most {MAX_VARIANTS} variants",
                    items.len()
                ),
                None,
            );
            return None;
        }
        let mut ok = true;
        let mut arms = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("split[{i}]");
            match self.arm(place, &field, item) {
                Some(arm) => arms.push(arm),
                None => ok = false,
            }
        }
        ok.then_some((arms, member.value.span))
    }

    fn arm(&mut self, place: &Place<'_>, field: &str, item: &Node) -> Option<RawArm> {
        let NodeKind::Object(members) = &item.value else {
            self.report(
                place,
                field,
                ErrorKind::WrongType,
                item.span,
                format!(
                    "a split entry is an object {{\"variant\", \"weight\"}}, not {}",
                    item.value.type_name()
                ),
                None,
            );
            return None;
        };
        let mut ok = true;
        let (mut variant, mut weight) = (None, None);
        for m in members {
            match &*m.key {
                "variant" => {
                    variant = self.variant_ref(place, &format!("{field}.variant"), &m.value)
                }
                "weight" => weight = self.weight(place, &format!("{field}.weight"), &m.value),
                other => {
                    ok = false;
                    let help = closest(other, ARM_FIELDS.iter().copied()).map_or_else(
                        || "a split entry has the fields \"variant\" and \"weight\"".to_string(),
                        |g| did_you_mean(g, Quote::Config),
                    );
                    self.report(
                        place,
                        format_args!("{field}.{other}"),
                        ErrorKind::UnknownField,
                        m.key_span,
                        format!("unknown field \"{other}\" in a split entry"),
                        Some(help),
                    );
                }
            }
        }
        for (name, found) in [("variant", variant.is_some()), ("weight", weight.is_some())] {
            if !found && !members.iter().any(|m| m.key == name) {
                ok = false;
                self.report(
                    place,
                    field,
                    ErrorKind::MissingField,
                    self.opening(item.span),
                    format!("this split entry has no \"{name}\""),
                    None,
                );
            }
        }
        match (variant, weight, ok) {
            (Some(variant), Some(basis_points), true) => Some(RawArm {
                variant,
                basis_points,
            }),
            _ => None,
        }
    }

    /// A weight: a percentage from 0 to 100 with at most two decimals, in
    /// basis points. The number is read from its text in the file, so that
    /// `4.35` is exactly 435 (no binary floating point on the way).
    fn weight(&mut self, place: &Place<'_>, field: &str, node: &Node) -> Option<u16> {
        let exact = match &node.value {
            NodeKind::Int(i) => Ok(i128::from(*i) * 100),
            NodeKind::Float(f) => {
                // The raw text when it is a plain decimal that reads back
                // as the same number (JSON, YAML and TOML numbers are);
                // else the shortest text that does.
                let raw = self.src.get(node.span.range()).unwrap_or_default();
                match basis_points(raw) {
                    Ok(bp) if raw.replace('_', "").parse::<f64>().ok() == Some(*f) => Ok(bp),
                    _ => basis_points(&f.to_string()),
                }
            }
            other => {
                self.report(
                    place,
                    field,
                    ErrorKind::WrongType,
                    node.span,
                    format!("a weight is a number, not {}", other.type_name()),
                    None,
                );
                return None;
            }
        };
        let (message, help) = match exact {
            Ok(bp) if bp < 0 => (
                "a weight cannot be negative".to_string(),
                "weights are percentages from 0 to 100".to_string(),
            ),
            Ok(bp) => match u16::try_from(bp) {
                Ok(bp) if bp <= SPLIT_BUCKETS => return Some(bp),
                _ => (
                    "a weight is at most 100".to_string(),
                    "weights are percentages that sum to 100".to_string(),
                ),
            },
            Err(()) => (
                "a weight has at most two decimals".to_string(),
                "weights are counted in hundredths of a percent, such as 33.33 or 0.05".to_string(),
            ),
        };
        self.report(
            place,
            field,
            ErrorKind::InvalidWeight,
            node.span,
            message,
            Some(help),
        );
        None
    }

    /// The `variant` an allow- or deny-list entry pins, if it pins one; a
    /// pin on a deny entry is reported (deny always serves `off_variant`).
    pub(super) fn pin(
        &mut self,
        place: &Place<'_>,
        field: super::Field<'_>,
        deny: bool,
        item: &Node,
    ) -> Option<Named> {
        let NodeKind::Object(members) = &item.value else {
            return None;
        };
        let member = members.iter().find(|m| m.key == "variant")?;
        if deny {
            self.report(
                place,
                field,
                ErrorKind::ConflictingFields,
                member.key_span,
                "a deny-list entry cannot pin a variant: a deny rule always serves off_variant"
                    .into(),
                Some("remove \"variant\", or move the rule to allow_list".into()),
            );
            return None;
        }
        self.variant_ref(place, &format!("{field}.variant"), &member.value)
    }

    /// Builds a flag's variants from their fields: `Ok(None)` for a
    /// boolean flag, `Err` when something is wrong (reported).
    pub(super) fn build_variants(
        &mut self,
        place: &Place<'_>,
        raw: RawVariants,
        allow_rules: usize,
    ) -> Result<Option<Variants>, ()> {
        let Some((declared, variants_span)) = raw.variants else {
            let mut stray = Vec::new();
            stray.extend(raw.off.as_ref().map(|n| ("off_variant", n.span)));
            stray.extend(raw.on.as_ref().map(|n| ("on_variant", n.span)));
            stray.extend(raw.split.as_ref().map(|(_, s)| ("split", *s)));
            stray.extend(
                raw.allow_pins
                    .iter()
                    .flatten()
                    .map(|n| ("a pinned variant", n.span)),
            );
            for (what, span) in &stray {
                self.report(
                    place,
                    "",
                    ErrorKind::ConflictingFields,
                    *span,
                    format!("{what} needs \"variants\", which this flag does not declare"),
                    Some(
                        "declare the flag's variants: \"variants\": {\"name\": value, ...}".into(),
                    ),
                );
            }
            return if stray.is_empty() { Ok(None) } else { Err(()) };
        };
        let names: HashMap<&str, u16> = declared
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.as_str(), u16::try_from(i).unwrap_or(u16::MAX)))
            .collect();
        let mut ok = true;
        let mut resolve = |loader: &mut Self, field: &str, named: &Named| -> Option<u16> {
            let found = loader.resolve_variant(place, field, named, &names, &declared);
            ok &= found.is_some();
            found
        };
        let off = match &raw.off {
            Some(named) => {
                let off = resolve(self, "off_variant", named);
                let value = off.and_then(|i| declared.get(usize::from(i)));
                if value.is_some_and(|v| matches!(v.scalar, Scalar::Null)) {
                    // A killed flag must answer a value: `null` has no type,
                    // so every OpenFeature client would fall back to its
                    // caller's default, which may turn the feature on.
                    // (No `off`: the flag is not built.)
                    self.report(
                        place,
                        "off_variant",
                        ErrorKind::WrongType,
                        named.span,
                        format!(
                            "off_variant \"{}\" has the value null: a killed or disabled flag must answer a value",
                            named.name.escape_debug()
                        ),
                        Some(
                            "null lets each caller's default decide, and a default of true would turn a killed feature on; give the off variant a value such as false, \"\", 0 or {}"
                                .into(),
                        ),
                    );
                    None
                } else {
                    off
                }
            }
            None => {
                self.report(
                    place,
                    "variants",
                    ErrorKind::MissingField,
                    variants_span,
                    "a flag with variants needs \"off_variant\"".into(),
                    Some(
                        "name the variant served whenever the flag is off: \"off_variant\": \"...\""
                            .into(),
                    ),
                );
                None
            }
        };
        let on = raw.on.as_ref().and_then(|n| resolve(self, "on_variant", n));
        let mut arms = Vec::new();
        let mut split_ok_all = true;
        if let Some((entries, split_span)) = &raw.split {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            let mut total: u32 = 0;
            let mut split_ok = true;
            for (i, entry) in entries.iter().enumerate() {
                let field = format!("split[{i}].variant");
                if let Some(first) = seen.get(entry.variant.name.as_str()) {
                    let (line, column) = crate::error::line_column(self.src, first.start);
                    self.report(
                        place,
                        &field,
                        ErrorKind::DuplicateVariant,
                        entry.variant.span,
                        format!(
                            "variant \"{}\" is in the split twice",
                            entry.variant.name.escape_debug()
                        ),
                        Some(format!(
                            "it is first at {line}:{column}; give each variant one entry with its whole weight"
                        )),
                    );
                    split_ok = false;
                    continue;
                }
                seen.insert(&entry.variant.name, entry.variant.span);
                total += u32::from(entry.basis_points);
                if let Some(v) = resolve(self, &field, &entry.variant) {
                    // Cumulative bounds never pass 10 000 when the weights
                    // sum to 100 (checked below).
                    let upper = u16::try_from(total).unwrap_or(u16::MAX);
                    arms.push(Arm { variant: v, upper });
                }
            }
            if total != u32::from(SPLIT_BUCKETS) && split_ok {
                self.report(
                    place,
                    "split",
                    ErrorKind::InvalidWeight,
                    *split_span,
                    format!("the split's weights sum to {}, not 100", percent(total)),
                    Some("weights are percentages of the users who are on: make them sum to exactly 100".into()),
                );
            }
            split_ok &= total == u32::from(SPLIT_BUCKETS);
            split_ok_all = split_ok;
        }
        let serve = match (on, &raw.on, &raw.split) {
            (_, Some(n), Some(_)) => {
                self.report(
                    place,
                    "on_variant",
                    ErrorKind::ConflictingFields,
                    n.span,
                    "a flag has either \"on_variant\" or \"split\", not both".into(),
                    Some("on_variant serves one variant to everyone on; split divides them: keep one".into()),
                );
                None
            }
            (Some(v), _, None) => Some(Serve::On(v)),
            (None, None, Some(_)) => Some(Serve::Split(arms.into_boxed_slice())),
            (None, None, None) => {
                self.report(
                    place,
                    "variants",
                    ErrorKind::MissingField,
                    variants_span,
                    "a flag with variants needs \"on_variant\" or \"split\"".into(),
                    Some("say what is served when the flag is on: \"on_variant\": \"...\", or a weighted \"split\"".into()),
                );
                None
            }
            // An unknown on_variant: reported.
            _ => None,
        };
        let mut pins = Vec::with_capacity(allow_rules);
        for (i, pin) in raw.allow_pins.iter().enumerate() {
            let field = format!("targeting_rules.allow_list[{i}].variant");
            pins.push(pin.as_ref().and_then(|n| resolve(self, &field, n)));
        }
        pins.resize(allow_rules, None);
        let ok = ok && split_ok_all;
        let (Some(off), Some(serve), true) = (off, serve, ok) else {
            return Err(());
        };
        let all = declared
            .into_iter()
            .map(|v| Variant {
                name: v.name.into(),
                json: v.json.into(),
                scalar: v.scalar,
            })
            .collect();
        Ok(Some(Variants {
            all,
            off,
            serve,
            pins: pins.into_boxed_slice(),
        }))
    }
}

impl Loader<'_> {
    /// The index of the variant `named` names, or `None` (reported, with
    /// the closest name as a hint).
    fn resolve_variant(
        &mut self,
        place: &Place<'_>,
        field: &str,
        named: &Named,
        names: &HashMap<&str, u16>,
        declared: &[RawVariant],
    ) -> Option<u16> {
        if let Some(i) = names.get(named.name.as_str()) {
            return Some(*i);
        }
        // Past the diagnostics shown, skip the suggestion: a hostile file
        // names thousands of unknown variants.
        if self.diagnostics.len() >= super::MAX_DIAGNOSTICS {
            self.report(
                place,
                field,
                ErrorKind::UnknownVariant,
                named.span,
                String::new(),
                None,
            );
            return None;
        }
        let help = closest(&named.name, declared.iter().map(|v| v.name.as_str())).map_or_else(
            || {
                let all: Vec<&str> = declared.iter().map(|v| v.name.as_str()).collect();
                format!("the variants are {}", all.join(", "))
            },
            |g| did_you_mean(g, Quote::Config),
        );
        self.report(
            place,
            field,
            ErrorKind::UnknownVariant,
            named.span,
            format!("unknown variant \"{}\"", named.name.escape_debug()),
            Some(help),
        );
        None
    }
}

/// Basis points as a percentage (`3333` -> `33.33`), for messages.
fn percent(bp: u32) -> String {
    match bp % 100 {
        0 => format!("{}", bp / 100),
        r if r % 10 == 0 => format!("{}.{}", bp / 100, r / 10),
        r => format!("{}.{r:02}", bp / 100),
    }
}

/// What is wrong with a variant name, if anything: it must be an
/// identifier (a letter or `_`, then letters, digits, `_` or `-`).
fn bad_variant_name(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Some("is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            Some("must start with a letter or `_`")
        }
        _ if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) => {
            Some("may hold only letters, digits, `_` and `-`")
        }
        _ => None,
    }
}

/// A decimal number's text (`33.33`, `-1`, `1e1`, `50.0`, TOML's `5_0`)
/// as an exact count of hundredths; `Err` when it has more than two
/// decimals that are not zero, or is not a plain decimal.
pub(crate) fn basis_points(text: &str) -> Result<i128, ()> {
    let text: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i32>().map_err(|_| ())?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    // The value is digits x 10^scale; hundredths are digits x 10^(scale + 2).
    let digits = digits.trim_start_matches('0');
    let mut scale = i64::from(exponent) - fraction.len() as i64 + 2;
    let mut digits = digits.to_string();
    while scale < 0 && digits.ends_with('0') {
        digits.pop();
        scale += 1;
    }
    if digits.is_empty() {
        return Ok(0);
    }
    if scale < 0 {
        return Err(());
    }
    // Past 39 digits nothing fits in an i128; such weights are out of
    // range anyway.
    if digits.len() as i64 + scale > 30 {
        return Ok(i128::MAX);
    }
    let mut value: i128 = digits.parse().map_err(|_| ())?;
    for _ in 0..scale {
        value *= 10;
    }
    Ok(if negative { -value } else { value })
}

/// Writes a node as compact JSON: integers as integers, object members
/// in order. `Err` with the span of a number JSON cannot write (YAML's
/// and TOML's infinities and NaN).
fn write_json(out: &mut String, node: &Node) -> Result<(), Span> {
    match &node.value {
        NodeKind::Null => out.push_str("null"),
        NodeKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        NodeKind::Int(i) => out.push_str(&i.to_string()),
        NodeKind::Float(f) if f.is_finite() => out.push_str(&format!("{f:?}")),
        NodeKind::Float(_) => return Err(node.span),
        NodeKind::String(s) => write_string(out, s),
        NodeKind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item)?;
            }
            out.push(']');
        }
        NodeKind::Object(members) => {
            out.push('{');
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, &m.key);
                out.push(':');
                write_json(out, &m.value)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON string literal.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The lints of a flag's variants: a variant never served, a split that
/// gives one variant everything, variants that all hold the same value.
pub(super) fn lint(flag: &Flag) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(v) = &flag.variants else {
        return out;
    };
    let mut served = vec![false; v.all.len()];
    let mut mark = |i: u16| {
        if let Some(s) = served.get_mut(usize::from(i)) {
            *s = true;
        }
    };
    mark(v.off);
    v.pins.iter().flatten().for_each(|i| mark(*i));
    match &v.serve {
        Serve::On(i) => mark(*i),
        Serve::Split(arms) => {
            let mut lower = 0;
            for arm in arms.iter() {
                if arm.upper > lower {
                    mark(arm.variant);
                }
                if arm.upper - lower == SPLIT_BUCKETS {
                    let name = v.all.get(usize::from(arm.variant)).map_or("", |x| x.name());
                    out.push(Finding {
                        kind: ErrorKind::SingleVariantSplit,
                        at: At::Field("split"),
                        message: format!(
                            "the split gives all its weight to \"{name}\": it splits nothing"
                        ),
                        help: Some(format!("write \"on_variant\": \"{name}\" instead")),
                    });
                }
                lower = arm.upper;
            }
        }
    }
    for (variant, served) in v.all.iter().zip(&served) {
        if !served {
            out.push(Finding {
                kind: ErrorKind::UnservedVariant,
                at: At::Field("variants"),
                message: format!(
                    "variant \"{}\" is never served: it is not off_variant, on_variant, in the split with a weight, nor pinned",
                    variant.name()
                ),
                help: Some("serve it somewhere, or remove it".into()),
            });
        }
    }
    if v.all.len() > 1 && v.all.iter().all(|x| x.json() == v.all[0].json()) {
        out.push(Finding {
            kind: ErrorKind::SameVariantValues,
            at: At::Field("variants"),
            message: format!(
                "every variant holds the same value ({}): the flag serves it whatever it decides",
                v.all[0].json()
            ),
            help: Some("give the variants different values".into()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_read_exactly_from_their_text() {
        assert_eq!(basis_points("4.35"), Ok(435));
        assert_eq!(basis_points("33.33"), Ok(3333));
        assert_eq!(basis_points("33.34"), Ok(3334));
        assert_eq!(basis_points("50"), Ok(5000));
        assert_eq!(basis_points("50.0"), Ok(5000));
        assert_eq!(basis_points("50.000"), Ok(5000));
        assert_eq!(basis_points("0.01"), Ok(1));
        assert_eq!(basis_points("1e1"), Ok(1000));
        assert_eq!(basis_points("1.5E1"), Ok(1500));
        assert_eq!(basis_points("1234e-2"), Ok(1234));
        assert_eq!(basis_points("-2.5"), Ok(-250));
        assert_eq!(basis_points("5_0.5"), Ok(5050));
        assert_eq!(basis_points("0"), Ok(0));
        assert_eq!(basis_points("33.333"), Err(()));
        assert_eq!(basis_points("0.001"), Err(()));
        assert_eq!(basis_points("1e-3"), Err(()));
        assert_eq!(basis_points("abc"), Err(()));
        assert_eq!(basis_points(""), Err(()));
        assert_eq!(basis_points("1e999999"), Ok(i128::MAX));
    }

    #[test]
    fn percentages_print_without_trailing_zeros() {
        assert_eq!(percent(10000), "100");
        assert_eq!(percent(9950), "99.5");
        assert_eq!(percent(3333), "33.33");
        assert_eq!(percent(5), "0.05");
    }

    #[test]
    fn variant_names_are_identifiers() {
        assert_eq!(bad_variant_name("blue"), None);
        assert_eq!(bad_variant_name("_arm-2"), None);
        assert!(bad_variant_name("").is_some());
        assert!(bad_variant_name("2fast").is_some());
        assert!(bad_variant_name("dark blue").is_some());
        assert!(bad_variant_name("bleu\u{301}").is_some());
    }
}
