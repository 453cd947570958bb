//! The live store: a config file followed (OS notifications and polling),
//! the last good version serving while a bad change is rejected.

use crate::errors::load_error;
use crate::{Decision, Source};
use killswitch::store::{FileSource, IfMissing, Store as EngineStore};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Flags that follow a config file: each good write becomes a new version;
/// a bad one is rejected, reported in `status`, and the last good version
/// keeps serving.
#[pyclass(frozen, module = "killswitch", name = "Store")]
pub(crate) struct Store {
    inner: EngineStore,
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[pymethods]
impl Store {
    /// Loads `path` and follows it from a background thread. A missing or
    /// invalid file at startup raises (`FileNotFoundError`, `ConfigError`),
    /// unless `allow_missing`, which starts with no flags (version 0).
    /// `poll_interval` (seconds) is the fallback to file notifications.
    #[staticmethod]
    #[pyo3(signature = (path, *, poll_interval = 2.0, allow_missing = false))]
    fn watch(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        poll_interval: f64,
        allow_missing: bool,
    ) -> PyResult<Store> {
        let path = crate::path_text(path)?;
        let interval = Duration::try_from_secs_f64(poll_interval).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "poll_interval must be a positive number of seconds, not {poll_interval}"
            ))
        })?;
        let policy = if allow_missing {
            IfMissing::StartEmpty
        } else {
            IfMissing::Fail
        };
        let started = py.detach(|| {
            EngineStore::builder(FileSource::new(path))
                .poll_interval(interval)
                .if_missing(policy)
                .thread_name("killswitch-store")
                .start()
        });
        match started {
            Ok(inner) => Ok(Store { inner }),
            Err(e) => Err(load_error(py, &e)),
        }
    }

    /// Evaluates one flag of the version serving (see `FlagSet.evaluate`).
    #[pyo3(signature = (key, context = None, *, now = None))]
    fn evaluate(
        &self,
        key: &Bound<'_, PyString>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        Source::Snapshot(self.inner.snapshot()).evaluate(key, context, now)
    }

    /// Evaluates every flag of the version serving.
    #[pyo3(signature = (context = None, *, now = None))]
    fn evaluate_all<'py>(
        &self,
        py: Python<'py>,
        context: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        Source::Snapshot(self.inner.snapshot()).evaluate_all(py, context, now)
    }

    /// Whether a flag of this key exists in the version serving.
    fn __contains__(&self, key: &str) -> bool {
        self.inner.snapshot().flags().get(key).is_some()
    }

    /// The version serving: 1 for the config loaded at startup, one more
    /// for each accepted change (0 while started empty).
    #[getter]
    fn version(&self) -> u64 {
        self.inner.version()
    }

    /// The store's health: version, flags, last error, watching.
    #[getter]
    fn status(&self) -> StoreStatus {
        let s = self.inner.status();
        StoreStatus {
            source: s.source,
            version: s.version,
            loaded_at: seconds(s.loaded_at),
            flags: s.flags,
            last_error: s.last_error.as_ref().map(ToString::to_string),
            last_error_at: s.last_error_at.map(seconds),
            watching: s.watching,
        }
    }

    /// Reads the file now; returns the version serving afterwards. A bad
    /// config raises (`ConfigError`, ...) and the last good version keeps
    /// serving.
    fn reload(&self, py: Python<'_>) -> PyResult<u64> {
        match py.detach(|| self.inner.reload()) {
            Ok(reload) => Ok(reload.version()),
            Err(e) => Err(load_error(py, &e)),
        }
    }

    /// Stops following the file (evaluations keep answering from the last
    /// version).
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.shutdown());
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        let s = self.inner.status();
        format!("<Store {:?} version {}>", s.source, s.version)
    }
}

/// A store's health, for a status page or a metrics exporter.
#[pyclass(frozen, get_all, module = "killswitch", name = "StoreStatus")]
pub(crate) struct StoreStatus {
    /// The file followed.
    source: String,
    /// The version serving.
    version: u64,
    /// When it was loaded (seconds since the epoch).
    loaded_at: f64,
    /// How many flags it has.
    flags: usize,
    /// Why the latest change was rejected, rendered as `killswitch check`
    /// does; `None` once the file is good again.
    last_error: Option<String>,
    /// When that happened (seconds since the epoch).
    last_error_at: Option<f64>,
    /// Whether the background thread is running.
    watching: bool,
}

#[pymethods]
impl StoreStatus {
    fn __repr__(&self) -> String {
        format!(
            "<StoreStatus version={} flags={} error={}>",
            self.version,
            self.flags,
            if self.last_error.is_some() {
                "yes"
            } else {
                "no"
            }
        )
    }
}
