//! A variant's value as a plain Python value of the same JSON type: `str`,
//! `int`, `float`, `bool`, `None`, and for arrays and objects `list` and
//! `dict` (key order kept), streamed from the variant's JSON text.

use killswitch::Variant;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The variant's value as a new Python object (a fresh `dict` or `list`
/// each time, so a caller may change it).
pub(crate) fn variant_value(py: Python<'_>, v: &Variant) -> PyResult<Py<PyAny>> {
    if v.is_null() {
        return Ok(py.None());
    }
    if let Some(b) = v.as_bool() {
        return b.into_py_any(py);
    }
    if let Some(i) = v.as_i64() {
        return i.into_py_any(py);
    }
    if let Some(f) = v.as_f64() {
        return f.into_py_any(py);
    }
    if let Some(s) = v.as_str() {
        return s.into_py_any(py);
    }
    json_value(py, v.json())
}

/// Parses JSON text into Python objects.
pub(crate) fn json_value(py: Python<'_>, json: &str) -> PyResult<Py<PyAny>> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = Seed(py)
        .deserialize(&mut de)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(value.unbind())
}

#[derive(Clone, Copy)]
struct Seed<'py>(Python<'py>);

fn py_err<E: de::Error>(e: PyErr) -> E {
    E::custom(e)
}

impl<'de, 'py> DeserializeSeed<'de> for Seed<'py> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for Seed<'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        b.into_bound_py_any(self.0).map_err(py_err)
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        i.into_bound_py_any(self.0).map_err(py_err)
    }
    fn visit_u64<E: de::Error>(self, i: u64) -> Result<Self::Value, E> {
        i.into_bound_py_any(self.0).map_err(py_err)
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        f.into_bound_py_any(self.0).map_err(py_err)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        s.into_bound_py_any(self.0).map_err(py_err)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(x) = seq.next_element_seed(self)? {
            list.append(x).map_err(py_err)?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let v = map.next_value_seed(self)?;
            dict.set_item(k.as_ref(), v).map_err(py_err)?;
        }
        Ok(dict.into_any())
    }
}
