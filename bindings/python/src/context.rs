//! A Python `dict` -> an engine [`Context`], as the OFREP service reads a
//! JSON context: `targetingKey` is the user id, `user_id` works too, and
//! both given with different values is an error.
//!
//! Top-level names and string values are borrowed from the Python objects
//! (no copy); nested lists and objects are copied, as they are rare.

use crate::errors::ContextError;
use killswitch::{Context, Number, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::borrow::Cow;

/// How deep lists and dicts may nest in a context (as the service's
/// default bound on request nesting): a self-referencing dict is an error,
/// not a hang.
const MAX_DEPTH: usize = 32;

/// How many attributes are held without allocating (as many as the
/// engine's `Context` holds inline).
const INLINE: usize = 8;

type Item<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// The items of a context dict, kept alive while a [`Context`] borrows
/// their strings: on the stack for up to eight attributes.
pub(crate) enum Items<'py> {
    Inline([Option<Item<'py>>; INLINE]),
    Heap(Vec<Item<'py>>),
}

impl<'py> Items<'py> {
    /// Reads `context` (a `dict`, or `None` for an empty context).
    pub(crate) fn new(context: Option<&Bound<'py, PyAny>>) -> PyResult<Items<'py>> {
        let Some(context) = context.filter(|c| !c.is_none()) else {
            return Ok(Items::Inline([const { None }; INLINE]));
        };
        let dict = context.cast::<PyDict>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "the context must be a dict of attributes, not {}",
                type_name(context)
            ))
        })?;
        if dict.len() <= INLINE {
            let mut inline = [const { None }; INLINE];
            for (slot, item) in inline.iter_mut().zip(dict.iter()) {
                *slot = Some(item);
            }
            Ok(Items::Inline(inline))
        } else {
            Ok(Items::Heap(dict.iter().collect()))
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Item<'py>> {
        let (inline, heap) = match self {
            Items::Inline(items) => (&items[..], &[][..]),
            Items::Heap(items) => (&[][..], &items[..]),
        };
        inline.iter().flatten().chain(heap)
    }

    /// The context, borrowing from the items.
    pub(crate) fn context(&self) -> PyResult<Context<'_>> {
        let mut ctx = Context::new();
        let mut targeting_key: Option<&str> = None;
        let mut user_id: Option<&str> = None;
        for (k, v) in self.iter() {
            let name = k
                .cast::<PyString>()
                .map_err(|_| {
                    ContextError::new_err(format!(
                        "context keys must be strings, not {}",
                        type_name(k)
                    ))
                })?
                .to_str()?;
            // Strings (most values) are borrowed, and read once.
            let (value, text) = match v.cast::<PyString>() {
                Ok(s) => {
                    let text = s.to_str()?;
                    (Value::String(Cow::Borrowed(text)), Some(text))
                }
                Err(_) => (owned(name, v, 0)?, None),
            };
            match name {
                "targetingKey" => match text {
                    Some(_) => targeting_key = text,
                    None => return Err(ContextError::new_err("`targetingKey` must be a string")),
                },
                "user_id" => match text {
                    Some(_) => user_id = text,
                    None => return Err(ContextError::new_err("`user_id` must be a string")),
                },
                _ => {}
            }
            ctx.set(name, value);
        }
        if let Some(key) = targeting_key {
            if user_id.is_some_and(|id| id != key) {
                return Err(ContextError::new_err(
                    "`targetingKey` and `user_id` are both given and differ; \
                     send one of them (they name the same user id)",
                ));
            }
            ctx.set("user_id", key);
        }
        Ok(ctx)
    }
}

/// Any value, copied.
fn owned(name: &str, v: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value<'static>> {
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(Cow::Owned(s.to_str()?.to_owned())));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        // Beyond 64 bits, as a JSON reader would: the nearest float.
        return Ok(Value::Number(match i.extract::<i64>() {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(i.extract::<f64>()?),
        }));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Number(Number::Float(f.value())));
    }
    if depth >= MAX_DEPTH {
        return Err(ContextError::new_err(format!(
            "context attribute `{name}` nests deeper than {MAX_DEPTH} levels"
        )));
    }
    if let Ok(list) = v.cast::<PyList>() {
        let items: PyResult<Vec<_>> = list.iter().map(|x| owned(name, &x, depth + 1)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(tuple) = v.cast::<PyTuple>() {
        let items: PyResult<Vec<_>> = tuple.iter().map(|x| owned(name, &x, depth + 1)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(dict) = v.cast::<PyDict>() {
        // Collected first: converting a value may run Python code
        // (`isoformat`), which must not find the dict being iterated.
        let items: Vec<_> = dict.iter().collect();
        let mut entries = Vec::with_capacity(items.len());
        for (k, x) in items {
            let key = k.cast::<PyString>().map_err(|_| {
                ContextError::new_err(format!(
                    "context attribute `{name}`: object keys must be strings, not {}",
                    type_name(&k)
                ))
            })?;
            entries.push((
                Cow::Owned(key.to_str()?.to_owned()),
                owned(name, &x, depth + 1)?,
            ));
        }
        return Ok(Value::Object(entries));
    }
    // A `datetime` with a time zone becomes its RFC 3339 text, which the
    // date operators (`before`, `after`) read.
    if v.hasattr("utcoffset")? && v.hasattr("isoformat")? && v.hasattr("hour")? {
        if v.call_method0("utcoffset")?.is_none() {
            return Err(ContextError::new_err(format!(
                "context attribute `{name}`: a datetime needs a time zone"
            )));
        }
        let text: String = v.call_method0("isoformat")?.extract()?;
        return Ok(Value::String(Cow::Owned(text)));
    }
    Err(ContextError::new_err(format!(
        "context attribute `{name}` has a value of type {}, which is not a JSON type \
         (str, int, float, bool, None, list, tuple, dict) nor a datetime",
        type_name(v)
    )))
}

/// The name of a value's type, for messages.
pub(crate) fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}
