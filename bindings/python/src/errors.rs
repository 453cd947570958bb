//! The package's exceptions, and the engine's errors turned into them with
//! the command line's messages and positions.

use killswitch::store::LoadError;
use killswitch::{ConfigError as EngineConfigError, Diagnostic as EngineDiagnostic};
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

pyo3::create_exception!(
    killswitch,
    KillswitchError,
    PyException,
    "The base of every error killswitch raises."
);
pyo3::create_exception!(
    killswitch,
    ConfigError,
    KillswitchError,
    "A config that cannot be loaded. `str()` renders every problem as `killswitch check` \
     does; `.diagnostics` lists them (line, column, code, message) and `.file` names the file."
);
pyo3::create_exception!(
    killswitch,
    ContextError,
    KillswitchError,
    "An evaluation context that cannot be used: not a dict, a value of no JSON type, a \
     `targetingKey` or `user_id` that is not a string, or both given and different."
);

/// One problem of a config file: where it is and what it is.
#[pyclass(frozen, module = "killswitch", name = "Diagnostic")]
pub(crate) struct Diagnostic {
    inner: EngineDiagnostic,
    file: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(inner: EngineDiagnostic, file: Option<String>) -> Diagnostic {
        Diagnostic { inner, file }
    }
}

#[pymethods]
impl Diagnostic {
    /// `error`, `warning` or `note`.
    #[getter]
    fn severity(&self) -> &'static str {
        self.inner.severity().as_str()
    }

    /// The code, such as `E0002` or `W0002`.
    #[getter]
    fn code(&self) -> &'static str {
        self.inner.kind().code()
    }

    /// The lint's name (`duplicate-rule`), for warnings and notes.
    #[getter]
    fn lint(&self) -> Option<&'static str> {
        self.inner.kind().lint_name()
    }

    /// The message, without location or help.
    #[getter]
    fn message(&self) -> &str {
        self.inner.message()
    }

    /// A suggested fix, when one is likely.
    #[getter]
    fn help(&self) -> Option<&str> {
        self.inner.help()
    }

    /// Where in the config: `flags[3] "new_search_ui" > targeting_rules.allow_list[0]`.
    #[getter]
    fn path(&self) -> &str {
        self.inner.path()
    }

    /// The key of the flag it is in, when known.
    #[getter]
    fn flag(&self) -> Option<&str> {
        self.inner.flag()
    }

    /// The file, when the config was read from one.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The 1-based line where it starts.
    #[getter]
    fn line(&self) -> Option<usize> {
        self.inner.line_column().map(|p| p.0)
    }

    /// The 1-based column (in characters) where it starts.
    #[getter]
    fn column(&self) -> Option<usize> {
        self.inner.line_column().map(|p| p.1)
    }

    /// The 1-based line just past its end.
    #[getter]
    fn end_line(&self) -> Option<usize> {
        self.inner.end_line_column().map(|p| p.0)
    }

    /// The 1-based column just past its end.
    #[getter]
    fn end_column(&self) -> Option<usize> {
        self.inner.end_line_column().map(|p| p.1)
    }

    fn __str__(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.inner.render(self.file.as_deref(), &mut out);
        out
    }

    fn __repr__(&self) -> String {
        let at = match self.inner.line_column() {
            Some((line, column)) => format!(" at {line}:{column}"),
            None => String::new(),
        };
        format!(
            "<Diagnostic {} {}{at}: {:?}>",
            self.inner.severity().as_str(),
            self.inner.kind().code(),
            self.inner.message()
        )
    }
}

/// The list of diagnostics as Python objects.
pub(crate) fn diagnostics<'py>(
    py: Python<'py>,
    list: &[EngineDiagnostic],
    file: Option<&str>,
) -> PyResult<Bound<'py, PyList>> {
    PyList::new(
        py,
        list.iter()
            .map(|d| Diagnostic::new(d.clone(), file.map(str::to_string))),
    )
}

/// A config error as `ConfigError` (a file that cannot be read at all as
/// `FileNotFoundError` or `OSError`, with the same message).
pub(crate) fn config_error(py: Python<'_>, e: &EngineConfigError) -> PyErr {
    config_error_named(py, e, e.file())
}

fn config_error_named(py: Python<'_>, e: &EngineConfigError, file: Option<&str>) -> PyErr {
    if e.is_io() {
        let message = e
            .diagnostics()
            .first()
            .map_or_else(|| e.to_string(), |d| d.message().to_string());
        let missing = file.is_some_and(|f| {
            std::fs::metadata(f).is_err_and(|m| m.kind() == std::io::ErrorKind::NotFound)
        });
        return if missing {
            PyFileNotFoundError::new_err(message)
        } else {
            PyOSError::new_err(message)
        };
    }
    let mut text = String::new();
    for d in e.diagnostics() {
        let _ = d.render(file, &mut text);
        text.push_str("\n\n");
    }
    let n = e.diagnostics().len();
    text.push_str(&format!("{n} error{}", if n == 1 { "" } else { "s" }));
    let err = ConfigError::new_err(text);
    let value = err.value(py);
    let attached = diagnostics(py, e.diagnostics(), file)
        .and_then(|list| value.setattr("diagnostics", list))
        .and_then(|()| value.setattr("file", file));
    match attached {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// A store's load error: an invalid config as `ConfigError` naming the
/// source, a missing file as `FileNotFoundError`, else `OSError`.
pub(crate) fn load_error(py: Python<'_>, e: &LoadError) -> PyErr {
    if let Some(config) = e.config_error() {
        return config_error_named(py, config, Some(e.source_name()));
    }
    if e.is_missing() {
        return PyFileNotFoundError::new_err(e.to_string());
    }
    PyOSError::new_err(e.to_string())
}

/// A bad `now`: not a time with a zone.
pub(crate) fn bad_time(what: &str) -> PyErr {
    PyValueError::new_err(format!(
        "`now` must be a datetime with a time zone or RFC 3339 text with one \
         (2026-12-01T09:00:00Z), not {what}"
    ))
}
