//! [`FleetError`]: why a fleet operation failed.

use killswitch::ConfigError;
use std::fmt;

/// What kind of failure a [`FleetError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FleetErrorKind {
    /// The connection URL is not valid.
    Url,
    /// The database cannot be reached, or a query failed.
    Database,
    /// The config is invalid: nothing was written.
    Invalid,
    /// A compare-and-set publish found another version newest: nothing
    /// was written.
    Conflict,
    /// No such version, or no version at all.
    NotFound,
    /// The config cannot be edited as asked (no such flag, say).
    Edit,
    /// An HTTP source's server answered with an error or too much.
    Http,
}

/// Why a fleet operation failed. Its message never contains the
/// database password.
pub struct FleetError {
    kind: FleetErrorKind,
    message: String,
    config: Option<ConfigError>,
    conflict: Option<(u64, Option<u64>)>,
}

impl FleetError {
    pub(crate) fn new(kind: FleetErrorKind, message: impl Into<String>) -> FleetError {
        FleetError {
            kind,
            message: message.into(),
            config: None,
            conflict: None,
        }
    }

    pub(crate) fn invalid(what: &str, error: ConfigError) -> FleetError {
        let n = error.diagnostics().len();
        let mut e = FleetError::new(
            FleetErrorKind::Invalid,
            format!(
                "{what} is invalid ({n} error{}); nothing was written",
                if n == 1 { "" } else { "s" }
            ),
        );
        e.config = Some(error);
        e
    }

    pub(crate) fn conflict(expected: u64, newest: Option<u64>) -> FleetError {
        let now = match newest {
            Some(n) => format!("version {n} is"),
            None => "no version is".to_string(),
        };
        let mut e = FleetError::new(
            FleetErrorKind::Conflict,
            format!(
                "expected version {expected} to be the newest, but {now}: someone published \
                 meanwhile; nothing was written (look at `killswitch history`, then publish again)"
            ),
        );
        e.conflict = Some((expected, newest));
        e
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FleetErrorKind {
        self.kind
    }

    /// The config's problems, for [`FleetErrorKind::Invalid`].
    pub fn config_error(&self) -> Option<&ConfigError> {
        self.config.as_ref()
    }

    /// The version expected and the one newest, for
    /// [`FleetErrorKind::Conflict`].
    pub fn conflict_versions(&self) -> Option<(u64, Option<u64>)> {
        self.conflict
    }
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for FleetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.config
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
