//! `killswitch._killswitch`: the killswitch engine for Python.
//!
//! A thin layer over the Rust library, which stays the source of truth:
//! configs load through `FlagSet::load`/`from_text` (with the GIL
//! released), contexts are converted from a `dict` at the edge
//! (`context.rs`), decisions keep the engine's `Decision` and turn its
//! variant into a Python value only when asked (`value.rs`), and errors
//! carry the command line's rendering and positions (`errors.rs`). The
//! Python package (`python/killswitch/`) re-exports these and adds the
//! OpenFeature provider.

#![forbid(unsafe_code)]

mod context;
mod errors;
mod store;
mod value;

use context::{type_name, Items};
use errors::{bad_time, config_error, ConfigError, ContextError, Diagnostic, KillswitchError};
use killswitch::{CheckReport as EngineReport, Decision as EngineDecision};
use killswitch::{Flag, Format, Limits, Severity};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The flags a decision was made from, kept alive while the decision is:
/// its variant is looked up again only when `.value` or `.variant` is read.
#[derive(Clone)]
pub(crate) enum Source {
    Set(Arc<killswitch::FlagSet>),
    Snapshot(Arc<killswitch::store::Snapshot>),
}

impl Source {
    fn flags(&self) -> &killswitch::FlagSet {
        match self {
            Source::Set(set) => set,
            Source::Snapshot(snapshot) => snapshot.flags(),
        }
    }

    /// Evaluates one flag for a Python context at `now` (the clock when
    /// `None`).
    fn evaluate(
        &self,
        key: &Bound<'_, PyString>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        let now = time(now)?;
        let items = Items::new(context)?;
        let ctx = items.context()?;
        let flags = self.flags();
        let name = key.to_str()?;
        let decision = match now {
            Some(now) => flags.evaluate_at(name, &ctx, now),
            None => flags.evaluate(name, &ctx),
        };
        Ok(Decision {
            source: self.clone(),
            key: key.clone().unbind(),
            inner: decision,
        })
    }

    /// Evaluates every flag, in file order, into a dict by key.
    fn evaluate_all<'py>(
        &self,
        py: Python<'py>,
        context: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = time(now)?.unwrap_or_else(SystemTime::now);
        let items = Items::new(context)?;
        let ctx = items.context()?;
        let flags = self.flags();
        let mut out = Vec::with_capacity(flags.len());
        flags.evaluate_all_at_into(&ctx, now, &mut out);
        let dict = PyDict::new(py);
        for (flag, decision) in out {
            let key = PyString::new(py, flag.key());
            let decision = Decision {
                source: self.clone(),
                key: key.clone().unbind(),
                inner: decision,
            };
            dict.set_item(key, decision)?;
        }
        Ok(dict)
    }
}

/// `now` as a time: `None`, a `datetime` with a time zone, or RFC 3339
/// text with one.
fn time(now: Option<&Bound<'_, PyAny>>) -> PyResult<Option<SystemTime>> {
    let Some(now) = now.filter(|n| !n.is_none()) else {
        return Ok(None);
    };
    if let Ok(text) = now.cast::<PyString>() {
        let text = text.to_str()?;
        return killswitch::parse_time(text)
            .map(Some)
            .ok_or_else(|| bad_time(&format!("{text:?}")));
    }
    if !now.hasattr("utcoffset")? || !now.hasattr("timestamp")? {
        return Err(bad_time(&format!("a {}", type_name(now))));
    }
    if now.call_method0("utcoffset")?.is_none() {
        return Err(bad_time("a naive datetime"));
    }
    let seconds: f64 = now.call_method0("timestamp")?.extract()?;
    let at = if seconds >= 0.0 {
        Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|d| UNIX_EPOCH.checked_add(d))
    } else {
        Duration::try_from_secs_f64(-seconds)
            .ok()
            .and_then(|d| UNIX_EPOCH.checked_sub(d))
    };
    at.map(Some).ok_or_else(|| bad_time("a time out of range"))
}

/// The config format named by `format` (`json`, `yaml`, `yml`, `toml`).
fn format(name: &str) -> PyResult<Format> {
    match name.to_ascii_lowercase().as_str() {
        "json" => Ok(Format::Json),
        "yaml" | "yml" => Ok(Format::Yaml),
        "toml" => Ok(Format::Toml),
        _ => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "unknown config format {name:?}: use \"json\", \"yaml\" or \"toml\""
        ))),
    }
}

/// A path argument (`str` or `os.PathLike`) as text.
fn path_text(path: &Bound<'_, PyAny>) -> PyResult<String> {
    let fspath = path.py().import("os")?.call_method1("fspath", (path,))?;
    fspath.extract::<String>()
}

/// An immutable set of compiled flags, loaded once and evaluated many times.
#[pyclass(frozen, module = "killswitch", name = "FlagSet")]
struct FlagSet {
    set: Arc<killswitch::FlagSet>,
}

#[pymethods]
impl FlagSet {
    /// Reads and compiles a config file, in the format its extension names
    /// (`.yaml`/`.yml`, `.toml`, else JSON). Raises `ConfigError` with every
    /// problem, `FileNotFoundError` or `OSError`.
    #[staticmethod]
    fn load(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<FlagSet> {
        let path = path_text(path)?;
        let loaded = py.detach(|| killswitch::FlagSet::load(&path));
        match loaded {
            Ok(set) => Ok(FlagSet { set: Arc::new(set) }),
            Err(e) => Err(config_error(py, &e)),
        }
    }

    /// Compiles config text in `format` (`json`, `yaml` or `toml`).
    #[staticmethod]
    #[pyo3(signature = (text, format = "json"))]
    fn from_text(py: Python<'_>, text: &str, format: &str) -> PyResult<FlagSet> {
        let format = self::format(format)?;
        let text = text.to_owned();
        let loaded =
            py.detach(move || killswitch::FlagSet::from_text(&text, format, &Limits::default()));
        match loaded {
            Ok(set) => Ok(FlagSet { set: Arc::new(set) }),
            Err(e) => Err(config_error(py, &e)),
        }
    }

    /// Evaluates one flag for a context (a dict; `targetingKey` or
    /// `user_id` is the user id). An unknown key gives a decision that is
    /// off with reason `unknown_flag`. `now` (a `datetime` with a zone, or
    /// RFC 3339 text) is the time rollout schedules read; the clock when
    /// not given.
    #[pyo3(signature = (key, context = None, *, now = None))]
    fn evaluate(
        &self,
        key: &Bound<'_, PyString>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        Source::Set(Arc::clone(&self.set)).evaluate(key, context, now)
    }

    /// Evaluates every flag for a context: a dict from flag key to
    /// decision, in file order.
    #[pyo3(signature = (context = None, *, now = None))]
    fn evaluate_all<'py>(
        &self,
        py: Python<'py>,
        context: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        Source::Set(Arc::clone(&self.set)).evaluate_all(py, context, now)
    }

    /// The flag keys, in file order.
    fn keys(&self) -> Vec<String> {
        self.set
            .flags()
            .iter()
            .map(|f| f.key().to_string())
            .collect()
    }

    fn __len__(&self) -> usize {
        self.set.len()
    }

    fn __contains__(&self, key: &str) -> bool {
        self.set.get(key).is_some()
    }

    fn __repr__(&self) -> String {
        format!("<FlagSet of {} flags>", self.set.len())
    }
}

/// The outcome of evaluating a flag for a context.
#[pyclass(frozen, module = "killswitch", name = "Decision")]
struct Decision {
    source: Source,
    key: Py<PyString>,
    inner: EngineDecision,
}

impl Decision {
    fn flag(&self, py: Python<'_>) -> Option<&Flag> {
        let key = self.key.bind(py).to_str().ok()?;
        self.source.flags().get(key)
    }
}

#[pymethods]
impl Decision {
    /// The flag's key.
    #[getter]
    fn flag_key(&self, py: Python<'_>) -> Py<PyString> {
        self.key.clone_ref(py)
    }

    /// Whether the feature is on.
    #[getter]
    fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// The variant served: its name for a flag with variants, `"on"` or
    /// `"off"` for a boolean flag, `None` for an unknown flag.
    #[getter]
    fn variant(&self, py: Python<'_>) -> Option<String> {
        let flag = self.flag(py)?;
        Some(match self.inner.variant.and_then(|i| flag.variant(i)) {
            Some(v) => v.name().to_string(),
            None if self.inner.enabled => "on".to_string(),
            None => "off".to_string(),
        })
    }

    /// The value served, as a plain Python value of its JSON type: the
    /// variant's value for a flag with variants (its off value whenever the
    /// flag is off), `True`/`False` for a boolean flag, `None` for an
    /// unknown flag.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        use pyo3::IntoPyObjectExt;
        let Some(flag) = self.flag(py) else {
            return Ok(py.None());
        };
        match self.inner.variant.and_then(|i| flag.variant(i)) {
            Some(v) => value::variant_value(py, v),
            None => self.inner.enabled.into_py_any(py),
        }
    }

    /// Which step decided: `kill_switch`, `disabled`, `prerequisite_off`,
    /// `allow_rule`, `deny_rule`, `in_rollout`, `out_of_rollout`,
    /// `missing_user_id`, `no_rollout` or `unknown_flag`.
    #[getter]
    fn reason(&self) -> &'static str {
        self.inner.reason.as_str()
    }

    /// The OpenFeature reason: `DISABLED`, `TARGETING_MATCH`, `SPLIT`,
    /// `DEFAULT` (`ERROR` for an unknown flag).
    #[getter]
    fn openfeature_reason(&self) -> &'static str {
        self.inner.reason.openfeature_reason()
    }

    /// The 0-based index of the allow or deny rule that decided.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.inner.reason.rule()
    }

    /// The key of the prerequisite that was off.
    #[getter]
    fn prerequisite(&self, py: Python<'_>) -> Option<String> {
        let i = self.inner.reason.prerequisite()?;
        let flag = self.flag(py)?;
        flag.prerequisites().get(i).map(|p| p.key().to_string())
    }

    /// The user's bucket (0-99), whenever bucketing ran.
    #[getter]
    fn bucket(&self) -> Option<u8> {
        self.inner.bucket
    }

    /// The rollout percentage the bucket was compared with.
    #[getter]
    fn percentage(&self) -> Option<u8> {
        self.inner.percentage
    }

    /// The index of the rollout schedule entry that set the percentage.
    #[getter]
    fn schedule_step(&self) -> Option<usize> {
        self.inner.schedule_step
    }

    /// The split bucket (0-9999), when a weighted split chose the variant.
    #[getter]
    fn split_bucket(&self) -> Option<u16> {
        self.inner.split_bucket
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let rule = self
            .inner
            .reason
            .rule()
            .map_or_else(String::new, |r| format!(" {r}"));
        format!(
            "<Decision {} enabled={} reason={}{rule} variant={:?}>",
            self.key.bind(py),
            if self.inner.enabled { "True" } else { "False" },
            self.inner.reason.as_str(),
            self.variant(py).unwrap_or_default(),
        )
    }
}

/// The result of checking a config: every diagnostic (errors, lint
/// warnings, notes) in file order, and the flags when it has no error.
#[pyclass(frozen, module = "killswitch", name = "CheckReport")]
struct CheckReport {
    file: Option<String>,
    report: EngineReport,
}

#[pymethods]
impl CheckReport {
    /// Whether the config has no error (warnings allowed).
    #[getter]
    fn ok(&self) -> bool {
        self.report.count(Severity::Error) == 0
    }

    /// Every diagnostic, in file order.
    #[getter]
    fn diagnostics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        errors::diagnostics(py, self.report.diagnostics(), self.file.as_deref())
    }

    /// How many errors.
    #[getter]
    fn errors(&self) -> usize {
        self.report.count(Severity::Error)
    }

    /// How many warnings.
    #[getter]
    fn warnings(&self) -> usize {
        self.report.count(Severity::Warning)
    }

    /// How many flags the config defines, when it has no error (else 0).
    #[getter]
    fn flag_count(&self) -> usize {
        self.report.flags().map_or(0, killswitch::FlagSet::len)
    }

    /// The file checked, when it was one.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// What `killswitch check FILE` prints: each diagnostic rustc-style,
    /// then the summary line.
    fn __str__(&self) -> String {
        let mut out = String::new();
        for d in self.report.diagnostics() {
            let _ = d.render(self.file.as_deref(), &mut out);
            out.push_str("\n\n");
        }
        let count = |s, word: &str| match self.report.count(s) {
            0 => None,
            1 => Some(format!("1 {word}")),
            n => Some(format!("{n} {word}s")),
        };
        let parts: Vec<String> = [
            count(Severity::Error, "error"),
            count(Severity::Warning, "warning"),
            count(Severity::Note, "note"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let flags = self.flag_count();
        let flags = if flags == 1 {
            "1 flag".to_string()
        } else {
            format!("{flags} flags")
        };
        if !self.ok() {
            out.push_str(&format!("{} in 1 of 1 file", parts.join(", ")));
        } else if parts.is_empty() {
            out.push_str(&format!("ok: 1 file, {flags}"));
        } else {
            out.push_str(&format!("ok with {}: 1 file, {flags}", parts.join(", ")));
        }
        out
    }

    fn __repr__(&self) -> String {
        format!(
            "<CheckReport {} errors, {} warnings>",
            self.errors(),
            self.warnings()
        )
    }
}

/// Checks a config as `killswitch check` does: a file (`path`, format by
/// extension) or `text` in `format`. Every problem is reported, never
/// raised; only a file that cannot be read raises `OSError`.
#[pyfunction]
#[pyo3(signature = (path = None, *, text = None, format = None))]
fn check(
    py: Python<'_>,
    path: Option<&Bound<'_, PyAny>>,
    text: Option<String>,
    format: Option<&str>,
) -> PyResult<CheckReport> {
    let limits = Limits::default();
    let (file, report) = match (path, text) {
        (Some(path), None) => {
            let path = path_text(path)?;
            let report = py.detach(|| EngineReport::from_file(&path, &limits, None));
            match report {
                Ok(report) => (Some(path), report),
                Err(e) => {
                    let e = killswitch::ConfigError::io(path, &e);
                    return Err(config_error(py, &e));
                }
            }
        }
        (None, Some(text)) => {
            let format = self::format(format.unwrap_or("json"))?;
            let report = py.detach(move || EngineReport::from_text(&text, format, &limits, None));
            (None, report)
        }
        _ => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "check() takes a path or text=..., one of them",
            ))
        }
    };
    Ok(CheckReport { file, report })
}

/// The bucket (0-99) of a user for a flag:
/// `u32(sha256(user_id + flag_key)[0:4]) % 100`.
#[pyfunction]
fn bucket(user_id: &str, flag_key: &str) -> u8 {
    killswitch::bucket(user_id, flag_key)
}

/// The native module.
#[pymodule]
#[pyo3(name = "_killswitch")]
fn killswitch_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<FlagSet>()?;
    m.add_class::<Decision>()?;
    m.add_class::<CheckReport>()?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<store::Store>()?;
    m.add_class::<store::StoreStatus>()?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(bucket, m)?)?;
    m.add("KillswitchError", py.get_type::<KillswitchError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("ContextError", py.get_type::<ContextError>())?;
    Ok(())
}
