//! [`LoadError`]: why a config was not loaded into a store.

use crate::config::diagnostic::ConfigError;
use std::fmt;
use std::sync::Arc;

/// Why a config could not be loaded into a [`Store`](super::Store): the
/// source had none, could not be read, or held an invalid config.
///
/// Cheap to clone (it is shared), so the same error can be kept in the
/// store's [`Status`](super::Status) and sent to every listener. `Display`
/// renders the config's diagnostics rustc-style, naming the source.
#[derive(Clone)]
pub struct LoadError {
    inner: Arc<Inner>,
}

struct Inner {
    source_name: String,
    kind: Kind,
}

enum Kind {
    Missing,
    Source(super::SourceError),
    Config(ConfigError),
}

impl LoadError {
    pub(crate) fn missing(source_name: String) -> LoadError {
        LoadError::new(source_name, Kind::Missing)
    }

    /// A source's error. A source that read text and found it invalid
    /// before it could hand it over (bytes that are not UTF-8, say) returns
    /// a [`ConfigError`]: that is reported as the config's problem, with
    /// its place, not as a failure to read.
    pub(crate) fn source(source_name: String, err: super::SourceError) -> LoadError {
        match err.downcast::<ConfigError>() {
            Ok(config) => LoadError::new(source_name, Kind::Config(*config)),
            Err(err) => LoadError::new(source_name, Kind::Source(err)),
        }
    }

    pub(crate) fn config(source_name: String, err: ConfigError) -> LoadError {
        LoadError::new(source_name, Kind::Config(err))
    }

    fn new(source_name: String, kind: Kind) -> LoadError {
        LoadError {
            inner: Arc::new(Inner { source_name, kind }),
        }
    }

    /// The name of the source (for a file, its path).
    pub fn source_name(&self) -> &str {
        &self.inner.source_name
    }

    /// Whether the source had no config at all (the file does not exist).
    pub fn is_missing(&self) -> bool {
        matches!(self.inner.kind, Kind::Missing)
    }

    /// The config's problems, when the text was read but is invalid
    /// (including text caught mid-write).
    pub fn config_error(&self) -> Option<&ConfigError> {
        match &self.inner.kind {
            Kind::Config(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.source_name();
        match &self.inner.kind {
            Kind::Missing => write!(f, "`{name}` does not exist"),
            Kind::Source(e) => write!(f, "cannot read `{name}`: {e}"),
            Kind::Config(e) => {
                for d in e.diagnostics() {
                    d.render(Some(name), f)?;
                    f.write_str("\n\n")?;
                }
                let n = e.diagnostics().len();
                write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
            }
        }
    }
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner.kind {
            Kind::Missing => "Missing",
            Kind::Source(_) => "Source",
            Kind::Config(_) => "Config",
        };
        f.debug_struct("LoadError")
            .field("source_name", &self.source_name())
            .field("kind", &kind)
            .field("message", &self.to_string())
            .finish()
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            Kind::Missing => None,
            Kind::Source(e) => Some(e.as_ref()),
            Kind::Config(e) => Some(e),
        }
    }
}
