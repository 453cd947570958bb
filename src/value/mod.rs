//! Contexts and the values of their attributes.
//!
//! A [`Context`] is built per request, so building one is part of the hot
//! path: up to eight attributes with borrowed names and scalar or borrowed
//! string values live inline (no heap allocation, nothing to drop), strings
//! are borrowed where the caller can lend them, and deserializing from JSON
//! text borrows every string that has no escapes.

pub(crate) mod datetime;
pub(crate) mod semver;

use crate::error::{Error, ErrorKind};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::mem::ManuallyDrop;

/// A JSON number: whole numbers are kept exact, and comparisons between
/// whole and fractional numbers are exact too (`1 == 1.0`).
#[derive(Debug, Clone, Copy)]
pub enum Number {
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
}

impl Number {
    /// Compares two numbers exactly; `None` when either is NaN.
    ///
    /// ```
    /// use killswitch::Number;
    /// use std::cmp::Ordering;
    /// assert_eq!(Number::Int(1).compare(Number::Float(1.0)), Some(Ordering::Equal));
    /// // 2^53 + 1 is not 2^53, even though it has no exact f64.
    /// let big = Number::Int((1 << 53) + 1);
    /// assert_eq!(big.compare(Number::Float(9007199254740992.0)), Some(Ordering::Greater));
    /// ```
    pub fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (Number::Float(a), Number::Float(b)) => a.partial_cmp(&b),
            (Number::Int(a), Number::Float(b)) => cmp_int_float(a, b),
            (Number::Float(a), Number::Int(b)) => cmp_int_float(b, a).map(Ordering::reverse),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.compare(*other) == Some(Ordering::Equal)
    }
}

fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    // |whole| < 2^63, so the conversion is exact.
    match i.cmp(&(whole as i64)) {
        Ordering::Equal if f > whole => Some(Ordering::Less),
        Ordering::Equal if f < whole => Some(Ordering::Greater),
        other => Some(other),
    }
}

/// The value of an attribute: any JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `null`; tests treat it as a missing attribute.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string, borrowed when possible.
    String(Cow<'a, str>),
    /// A list; a test on a list matches when it matches any element.
    List(Vec<Value<'a>>),
    /// A nested object, reached by dotted paths (`account.plan`).
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl Value<'_> {
    /// The same value, owning all its strings.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(n) => Value::Number(n),
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::List(xs) => Value::List(xs.into_iter().map(Value::into_owned).collect()),
            Value::Object(xs) => Value::Object(
                xs.into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            ),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value<'_> {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }
}
impl From<i32> for Value<'_> {
    fn from(i: i32) -> Self {
        Value::Number(Number::Int(i64::from(i)))
    }
}
impl From<u32> for Value<'_> {
    fn from(i: u32) -> Self {
        Value::Number(Number::Int(i64::from(i)))
    }
}
impl From<f64> for Value<'_> {
    fn from(f: f64) -> Self {
        Value::Number(Number::Float(f))
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}
impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::String(Cow::Owned(s))
    }
}
impl<'a> From<Cow<'a, str>> for Value<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Value::String(s)
    }
}
impl<'a, T: Into<Value<'a>>> From<Vec<T>> for Value<'a> {
    fn from(xs: Vec<T>) -> Self {
        Value::List(xs.into_iter().map(Into::into).collect())
    }
}

/// Byte equality tuned for short attribute names: up to 16 bytes it
/// compares two overlapping 8-byte words (or bytes) inline, with no call
/// to `memcmp`. Lookups compare every key of a context, so this matters.
#[inline]
pub(crate) fn key_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if (8..=16).contains(&n) {
        return word_at(a, 0) == word_at(b, 0) && word_at(a, n - 8) == word_at(b, n - 8);
    }
    if (4..8).contains(&n) {
        let word = |s: &[u8], at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&s[at..at + 4]);
            u32::from_ne_bytes(w)
        };
        return word(a, 0) == word(b, 0) && word(a, n - 4) == word(b, n - 4);
    }
    if n < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

/// The eight bytes of `s` from `at`, as a little-endian word (the caller
/// guarantees `at + 8 <= s.len()`; past the end reads as zero bytes).
#[inline]
pub(crate) fn word_at(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(eight) = s.get(at..at + 8) {
        w.copy_from_slice(eight);
    }
    u64::from_le_bytes(w)
}

type Entry<'a> = (Cow<'a, str>, Value<'a>);

/// How many attributes a context holds without allocating.
const INLINE: usize = 8;
/// An unused inline value.
const NULL: Value<'static> = Value::Null;
/// `Context::user_slot` when `user_id` is not an inline attribute.
const NO_SLOT: usize = usize::MAX;

/// Whether dropping the value frees memory.
#[inline(always)]
fn owns_heap(value: &Value<'_>) -> bool {
    matches!(
        value,
        Value::String(Cow::Owned(_)) | Value::List(_) | Value::Object(_)
    )
}

/// The attributes of one evaluation: `user_id` (the bucketing key) and any
/// others, of any JSON type.
///
/// ```
/// use killswitch::{Context, Value};
/// let email = String::from("user@example.com");
/// let ctx = Context::new()
///     .with("user_id", "user_123")
///     .with("email", email.as_str()) // borrowed, not copied
///     .with("segment", "beta")
///     .with("is_internal", true);
/// assert_eq!(ctx.user_id(), Some("user_123"));
/// assert_eq!(ctx.get("is_internal"), Some(&Value::Bool(true)));
///
/// // The same context from JSON text, borrowing its strings.
/// let json = r#"{"user_id": "user_123", "email": "user@example.com", "segment": "beta", "is_internal": true}"#;
/// let parsed = Context::from_json(json).unwrap();
/// assert_eq!(parsed, ctx);
/// ```
#[derive(Clone)]
pub struct Context<'a> {
    /// The names of the inline attributes: the first `len` are in use.
    /// Only borrowed names live here, so comparing one is a length and a
    /// few words, with no `Cow` to look through.
    keys: [&'a str; INLINE],
    /// Their values; unused slots hold `Null`. Only values that own no
    /// memory (scalars and borrowed strings) are stored here, so there is
    /// nothing to drop, and `ManuallyDrop` spares a context of borrowed
    /// attributes (what a service builds per request) the drop glue.
    /// (A `Drop` impl instead would make the borrow checker stricter for
    /// callers: a temporary context could no longer borrow a local.)
    values: ManuallyDrop<[Value<'a>; INLINE]>,
    len: usize,
    /// The inline slot holding `user_id`, or `NO_SLOT`: the bucketing key
    /// is read without a search.
    user_slot: usize,
    /// The attributes after the eighth, and every attribute from the first
    /// owned name or owning value on (which has allocated already), in
    /// insertion order: inline attributes were all inserted before these.
    ///
    /// Boxed, so that a context that never spilled drops with one test
    /// of a pointer and no call (a `Vec` of entries drops through a call).
    /// (Clippy's `box_collection` counts the extra allocation; it is paid
    /// only by contexts that spill, which allocate anyway.)
    #[allow(clippy::box_collection)]
    spill: Option<Box<Vec<Entry<'a>>>>,
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context::new()
    }
}

impl<'a> Context<'a> {
    /// An empty context.
    #[inline(always)]
    pub fn new() -> Context<'a> {
        Context {
            keys: [""; INLINE],
            values: ManuallyDrop::new([NULL; INLINE]),
            len: 0,
            user_slot: NO_SLOT,
            spill: None,
        }
    }

    /// A context with only a `user_id`.
    pub fn for_user(user_id: impl Into<Cow<'a, str>>) -> Context<'a> {
        let mut ctx = Context::new();
        ctx.set("user_id", Value::String(user_id.into()));
        ctx
    }

    /// Sets an attribute, replacing any earlier value of the same key.
    ///
    /// A key containing dots (`"account.plan"`) is found by the rule path
    /// `account.plan` as well, so services can set nested attributes flat,
    /// without building objects.
    #[inline(always)]
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Value<'a>>) -> &mut Self {
        self.insert(key.into(), value.into());
        self
    }

    /// Stores an attribute: [`Context::insert_inline`], else
    /// [`Context::insert_rest`].
    #[inline(always)]
    fn insert(&mut self, key: Cow<'a, str>, value: Value<'a>) {
        if let Some((key, value)) = self.insert_inline(key, value) {
            self.insert_rest(key, value);
        }
    }

    /// The common case of storing an attribute, inline: a borrowed name
    /// and a value that owns no memory, in a context that has not spilled,
    /// with this name already inline or a free inline slot. Gives the
    /// attribute back otherwise. It takes no address of the context
    /// outside it, so that the compiler can build a `with` chain in place.
    #[inline(always)]
    fn insert_inline(
        &mut self,
        key: Cow<'a, str>,
        value: Value<'a>,
    ) -> Option<(Cow<'a, str>, Value<'a>)> {
        let Cow::Borrowed(name) = key else {
            return Some((key, value));
        };
        if self.spill.is_some() || owns_heap(&value) {
            return Some((key, value));
        }
        let len = self.len.min(INLINE);
        if let Some(i) = self.position(name) {
            if let Some(slot) = self.values.get_mut(i) {
                // Inline values own nothing: forgetting the old one skips
                // a call to its drop glue.
                std::mem::forget(std::mem::replace(slot, value));
            }
            return None;
        }
        match (self.keys.get_mut(len), self.values.get_mut(len)) {
            (Some(k), Some(v)) => {
                *k = name;
                // The slot holds `Null`: nothing to drop.
                std::mem::forget(std::mem::replace(v, value));
                if key_eq(name.as_bytes(), b"user_id") {
                    self.user_slot = self.len;
                }
                self.len += 1;
                None
            }
            _ => Some((key, value)),
        }
    }

    /// [`Context::insert`] past the fast path: owned names, owning values,
    /// a full inline array, or a context that has spilled already.
    #[cold]
    #[inline(never)]
    fn insert_rest(&mut self, key: Cow<'a, str>, value: Value<'a>) {
        if let Some(i) = self.position(&key) {
            if owns_heap(&value) {
                // Owning values live in the spill: move everything there,
                // in order, then replace it there.
                self.spill_inline();
            } else {
                if let Some(slot) = self.values.get_mut(i) {
                    std::mem::forget(std::mem::replace(slot, value));
                }
                return;
            }
        }
        if let Some(slot) = self
            .spill
            .iter_mut()
            .flat_map(|spill| spill.iter_mut())
            .find(|(k, _)| key_eq(k.as_bytes(), key.as_bytes()))
        {
            slot.1 = value;
            return;
        }
        let len = self.len;
        match key {
            Cow::Borrowed(name) if len < INLINE && self.spill.is_none() && !owns_heap(&value) => {
                if key_eq(name.as_bytes(), b"user_id") {
                    self.user_slot = self.len;
                }
                if let (Some(k), Some(v)) = (self.keys.get_mut(len), self.values.get_mut(len)) {
                    *k = name;
                    std::mem::forget(std::mem::replace(v, value));
                }
                self.len += 1;
            }
            key => {
                // One allocation for the common sizes, not one per doubling.
                self.spill
                    .get_or_insert_with(|| Box::new(Vec::with_capacity(INLINE)))
                    .push((key, value));
            }
        }
    }

    /// Moves the inline attributes to the front of the spill, keeping the
    /// insertion order.
    #[cold]
    fn spill_inline(&mut self) {
        let len = self.len;
        let values = std::mem::replace(&mut *self.values, [NULL; INLINE]);
        let mut spill: Vec<Entry<'a>> = self
            .keys
            .iter()
            .map(|k| Cow::Borrowed(*k))
            .zip(values)
            .take(len)
            .collect();
        if let Some(rest) = self.spill.take() {
            spill.extend(*rest);
        }
        self.spill = Some(Box::new(spill));
        self.len = 0;
        self.user_slot = NO_SLOT;
    }

    /// The inline slot of a key.
    #[inline(always)]
    fn position(&self, key: &str) -> Option<usize> {
        let len = self.len.min(INLINE);
        self.keys[..len]
            .iter()
            .position(|k| key_eq(k.as_bytes(), key.as_bytes()))
    }

    /// Sets an attribute and returns the context, for building in one
    /// expression.
    ///
    /// A convenience: each call moves the context (eight inline
    /// attributes, about 400 bytes), which a chain of four pays for in
    /// time. Where a context is built per request, [`Context::set`] builds
    /// the same context in place, for less.
    #[inline(always)]
    pub fn with(mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Value<'a>>) -> Self {
        match self.insert_inline(key.into(), value.into()) {
            None => self,
            Some((key, value)) => self.with_rest(key, value),
        }
    }

    /// [`Context::with`] past the inline case, out of line and by value.
    #[cold]
    #[inline(never)]
    fn with_rest(mut self, key: Cow<'a, str>, value: Value<'a>) -> Self {
        self.insert_rest(key, value);
        self
    }

    /// The value of a top-level attribute.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        if let Some(i) = self.position(key) {
            return self.values.get(i);
        }
        let spill = self.spill.as_deref()?;
        spill
            .iter()
            .find(|(k, _)| key_eq(k.as_bytes(), key.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The bucketing key: the `user_id` attribute when it is a string.
    #[inline]
    pub fn user_id(&self) -> Option<&str> {
        if let Some(v) = self.values.get(self.user_slot) {
            return v.as_str();
        }
        self.spill.as_ref()?;
        self.get("user_id").and_then(Value::as_str)
    }

    /// How many top-level attributes there are.
    pub fn len(&self) -> usize {
        self.len + self.spill.as_deref().map_or(0, Vec::len)
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The top-level attributes, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value<'a>)> {
        self.keys
            .iter()
            .copied()
            .zip(self.values.iter())
            .take(self.len)
            .chain(
                self.spill
                    .iter()
                    .flat_map(|spill| spill.iter())
                    .map(|(k, v)| (k.as_ref(), v)),
            )
    }

    /// Finds the value at a path: first a top-level key equal to the whole
    /// dotted name, then the nested objects segment by segment.
    pub(crate) fn lookup(&self, dotted: &str, segments: &[Box<str>]) -> Option<&Value<'a>> {
        if let Some(v) = self.get(dotted) {
            return Some(v);
        }
        let (first, rest) = segments.split_first()?;
        if rest.is_empty() {
            return None;
        }
        let mut value = self.get(first)?;
        for segment in rest {
            let Value::Object(entries) = value else {
                return None;
            };
            value = entries
                .iter()
                .find(|(k, _)| k.as_ref() == segment.as_ref())
                .map(|(_, v)| v)?;
        }
        Some(value)
    }

    /// Parses a context from a JSON object, borrowing strings from `json`.
    ///
    /// Duplicate keys are errors, and `user_id`, when present, must be a
    /// string.
    pub fn from_json(json: &'a str) -> Result<Context<'a>, Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        let ctx = Context::deserialize(&mut de).and_then(|ctx| de.end().map(|()| ctx));
        ctx.map_err(|e| {
            let kind = if e.is_data() {
                ErrorKind::InvalidContext
            } else {
                ErrorKind::InvalidJson
            };
            Error::new(kind, format!("invalid context: {e}"))
        })
    }

    /// The same context, owning all its strings.
    pub fn into_owned(mut self) -> Context<'static> {
        let values = std::mem::replace(&mut *self.values, [NULL; INLINE]);
        let spill = self.spill.take().map_or_else(Vec::new, |spill| *spill);
        let inline = self.keys.into_iter().zip(values).take(self.len);
        let mut owned = Context::new();
        for (k, v) in inline.map(|(k, v)| (Cow::Borrowed(k), v)).chain(spill) {
            owned.set(Cow::Owned(k.into_owned()), v.into_owned());
        }
        owned
    }
}

impl PartialEq for Context<'_> {
    /// Two contexts are equal when they hold the same attributes, in any
    /// order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Deserializes a string, borrowing it from the input when possible.
struct CowStr;

impl<'de> DeserializeSeed<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number::Int(i)))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(match i64::try_from(u) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(u as f64),
        }))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number::Float(f)))
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut entries: Vec<Entry<'de>> = Vec::new();
        while let Some(key) = map.next_key_seed(CowStr)? {
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Value::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value<'de>, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ContextVisitor;

impl<'de> Visitor<'de> for ContextVisitor {
    type Value = Context<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of attributes")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context<'de>, A::Error> {
        let mut ctx = Context::new();
        while let Some(key) = map.next_key_seed(CowStr)? {
            if ctx.get(&key).is_some() {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let value: Value<'de> = map.next_value()?;
            if key == "user_id" && !matches!(value, Value::String(_)) {
                return Err(de::Error::custom("`user_id` must be a string"));
            }
            ctx.set(key, value);
        }
        Ok(ctx)
    }
}

impl<'de> Deserialize<'de> for Context<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Context<'de>, D::Error> {
        d.deserialize_map(ContextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_eq_agrees_with_slice_equality() {
        let words: Vec<String> = (0..40)
            .flat_map(|n| ["a", "b", "é"].map(|c| c.repeat(n)))
            .chain([
                "emaiL".into(),
                "email".into(),
                "segment_".into(),
                "segment".into(),
            ])
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(key_eq(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
            let mut flipped = a.clone().into_bytes();
            if let Some(last) = flipped.last_mut() {
                *last ^= 1;
                assert!(!key_eq(a.as_bytes(), &flipped));
            }
        }
    }

    #[test]
    fn spills_past_the_inline_capacity() {
        let mut ctx = Context::new();
        for i in 0..20 {
            ctx.set(format!("k{i}"), i64::from(i));
        }
        assert_eq!(ctx.len(), 20);
        assert_eq!(ctx.get("k19"), Some(&Value::from(19)));
        ctx.set("k19", "x");
        assert_eq!(ctx.len(), 20);
        assert_eq!(ctx.get("k19"), Some(&Value::from("x")));
    }

    /// Owned names and owning values go to the spill, and so does every
    /// attribute after them, so the insertion order holds.
    #[test]
    fn owned_attributes_keep_the_insertion_order() {
        let mut ctx = Context::new();
        ctx.set("a", "x").set("user_id", "u1").set("b", 2);
        ctx.set(String::from("c"), true).set("d", "y");
        ctx.set("e", Value::from(vec!["l"])).set("f", 1.5);
        // Replacing an inline value with an owned one.
        ctx.set("user_id", String::from("u2"));
        ctx.set("a", "z");
        let keys: Vec<&str> = ctx.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "user_id", "b", "c", "d", "e", "f"]);
        assert_eq!(ctx.user_id(), Some("u2"));
        assert_eq!(ctx.get("a"), Some(&Value::from("z")));
        assert_eq!(ctx.get("e"), Some(&Value::from(vec!["l"])));
        assert_eq!(ctx.len(), 7);
        let owned = ctx.clone().into_owned();
        assert_eq!(owned, ctx);
        assert_eq!(owned.user_id(), Some("u2"));

        let mut inline = Context::for_user("u3");
        inline.set("user_id", "u4").set("x", 1);
        assert_eq!(inline.user_id(), Some("u4"));
        inline.set("user_id", 7);
        assert_eq!(inline.user_id(), None);
        assert_eq!(Context::new().with("x", 1).user_id(), None);
    }

    /// `with` takes the inline case in place and the rest out of line:
    /// both give what `set` gives, in the same order.
    #[test]
    fn with_agrees_with_set_past_the_inline_case() {
        let built = Context::new()
            .with("a", "x")
            .with("user_id", "u1")
            .with("a", 2)
            .with(String::from("b"), true)
            .with("c", Value::from(vec!["l"]))
            .with("user_id", "u2");
        let mut set = Context::new();
        set.set("a", "x")
            .set("user_id", "u1")
            .set("a", 2)
            .set(String::from("b"), true)
            .set("c", Value::from(vec!["l"]))
            .set("user_id", "u2");
        let keys: Vec<&str> = built.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "user_id", "b", "c"]);
        assert_eq!(built, set);
        assert_eq!(built.user_id(), Some("u2"));
        assert_eq!(built.get("a"), Some(&Value::from(2)));
        let nine = (0..9).fold(Context::new(), |ctx, i| {
            ctx.with(
                ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"][i],
                i as i64,
            )
        });
        assert_eq!(nine.len(), 9);
        assert_eq!(nine.get("k8"), Some(&Value::from(8)));
    }

    #[test]
    fn json_borrows_plain_strings_and_rejects_duplicates() {
        let json = r#"{"user_id": "u1", "name": "a\"b", "account": {"plan": "pro"}}"#;
        let ctx = Context::from_json(json).unwrap();
        assert!(matches!(
            ctx.get("user_id"),
            Some(Value::String(Cow::Borrowed("u1")))
        ));
        assert!(matches!(
            ctx.get("name"),
            Some(Value::String(Cow::Owned(_)))
        ));
        let plan = ctx.lookup("account.plan", &["account".into(), "plan".into()]);
        assert_eq!(plan, Some(&Value::from("pro")));
        let dup = Context::from_json(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(dup.message().contains("duplicate key `a`"), "{dup}");
        let bad = Context::from_json(r#"{"user_id": 7}"#).unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidContext);
        assert!(Context::from_json("[1]").is_err());
        assert!(Context::from_json("{} x").is_err());
    }

    #[test]
    fn compares_numbers_exactly() {
        let n = |i| Number::Int(i);
        assert_eq!(n(1), Number::Float(1.0));
        assert!(n(1) != Number::Float(1.5));
        assert_eq!(n(2).compare(Number::Float(1.5)), Some(Ordering::Greater));
        assert_eq!(n(-2).compare(Number::Float(-1.5)), Some(Ordering::Less));
        assert_eq!(
            n(i64::MAX).compare(Number::Float(9.3e18)),
            Some(Ordering::Less)
        );
        assert_eq!(
            n(i64::MIN).compare(Number::Float(-1e19)),
            Some(Ordering::Greater)
        );
        assert_eq!(n(0).compare(Number::Float(f64::NAN)), None);
    }
}
