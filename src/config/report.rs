//! `CheckReport`: what `check` gives back, the flags when the config has
//! no error and every diagnostic in file order. Above the loader (it runs
//! it), so that the diagnostics themselves stay below the schema and the
//! loader that produce them.

use crate::config::diagnostic::Diagnostic;
use crate::config::schema::Schema;
use crate::document::Format;
use crate::error::Severity;
use crate::eval::flag_set::FlagSet;
use crate::eval::schedule::instant_of;
use crate::limits::Limits;
use std::time::SystemTime;

/// The result of checking a config: the flags when it has no error, and
/// every diagnostic (errors, lint warnings and notes) in file order.
///
/// ```
/// use killswitch::{CheckReport, Limits, Severity};
/// let report = CheckReport::from_json(r#"{"flag_key": "f", "enabled": true,
///     "targeting_rules": {"allow_list": ["beta", "beta"]}}"#, &Limits::default());
/// assert!(report.flags().is_some()); // warnings do not stop loading
/// let d = &report.diagnostics()[0];
/// assert_eq!(d.severity(), Severity::Warning);
/// assert_eq!(d.kind().code(), "W0002");
/// assert_eq!(d.kind().lint_name(), Some("duplicate-rule"));
/// ```
#[derive(Debug)]
pub struct CheckReport {
    flags: Option<FlagSet>,
    diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// Loads and lints a JSON config.
    pub fn from_json(text: &str, limits: &Limits) -> CheckReport {
        CheckReport::from_json_with_schema(text, limits, None)
    }

    /// Loads and lints a JSON config, checking every rule against a
    /// context schema when one is given.
    pub fn from_json_with_schema(
        text: &str,
        limits: &Limits,
        schema: Option<&Schema>,
    ) -> CheckReport {
        CheckReport::from_text(text, Format::Json, limits, schema)
    }

    /// Loads and lints a config in any [`Format`](crate::Format), checking
    /// every rule against a context schema when one is given.
    ///
    /// ```
    /// use killswitch::{CheckReport, Format, Limits};
    /// let yaml = "flag_key: f\nflag_key: g\nenabled: true\n";
    /// let report = CheckReport::from_text(yaml, Format::Yaml, &Limits::default(), None);
    /// let d = &report.diagnostics()[0];
    /// assert_eq!(d.message(), "duplicate key \"flag_key\"");
    /// assert_eq!(d.line_column(), Some((2, 1)));
    /// ```
    ///
    /// Flags past their `expires` are linted against the system clock; see
    /// [`CheckReport::from_text_at`] to give the time.
    pub fn from_text(
        text: &str,
        format: Format,
        limits: &Limits,
        schema: Option<&Schema>,
    ) -> CheckReport {
        CheckReport::from_text_at(text, format, limits, schema, SystemTime::now())
    }

    /// Loads and lints a config like [`CheckReport::from_text`], linting
    /// the flags past their `expires` at `now` (`expired-flag`).
    ///
    /// ```
    /// use killswitch::{CheckReport, Format, Limits};
    /// let yaml = "flag_key: f\nenabled: true\nexpires: 2026-01-31\n";
    /// let at = |t| killswitch::parse_time(t).unwrap();
    /// let check = |now| CheckReport::from_text_at(yaml, Format::Yaml, &Limits::default(), None, now);
    /// assert!(check(at("2026-01-31T23:59:59Z")).diagnostics().is_empty());
    /// let late = check(at("2026-02-01T00:00:00Z"));
    /// assert_eq!(late.diagnostics()[0].kind().lint_name(), Some("expired-flag"));
    /// assert_eq!(late.diagnostics()[0].line_column(), Some((3, 1)));
    /// ```
    pub fn from_text_at(
        text: &str,
        format: Format,
        limits: &Limits,
        schema: Option<&Schema>,
        now: SystemTime,
    ) -> CheckReport {
        let now = Some(instant_of(now));
        let (flags, mut diagnostics) = crate::config::check(text, format, limits, schema, now);
        diagnostics.sort_by_key(|d| {
            d.span()
                .map_or((usize::MAX, usize::MAX), |s| (s.start, s.end))
        });
        CheckReport { flags, diagnostics }
    }

    /// Reads a config file (within [`Limits::max_config_bytes`], a regular
    /// file only) and checks it like [`CheckReport::from_text`], in the
    /// [`Format`](crate::Format) its extension names. Bytes that are not
    /// UTF-8 (a UTF-16 file, say) are a diagnostic at the first bad byte;
    /// only a file that cannot be read at all is an error.
    ///
    /// [`Limits::max_config_bytes`]: crate::Limits::max_config_bytes
    ///
    /// ```
    /// use killswitch::{CheckReport, ErrorKind, Limits};
    /// let path = std::env::temp_dir().join("killswitch-doc-utf16.json");
    /// std::fs::write(&path, b"\xff\xfe{\x00}\x00")?;
    /// let report = CheckReport::from_file(&path, &Limits::default(), None)?;
    /// assert_eq!(report.diagnostics()[0].kind(), ErrorKind::InvalidEncoding);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_file(
        path: impl AsRef<std::path::Path>,
        limits: &Limits,
        schema: Option<&Schema>,
    ) -> std::io::Result<CheckReport> {
        CheckReport::from_file_at(path, limits, schema, SystemTime::now())
    }

    /// Reads and checks a config file like [`CheckReport::from_file`],
    /// linting the flags past their `expires` at `now`.
    pub fn from_file_at(
        path: impl AsRef<std::path::Path>,
        limits: &Limits,
        schema: Option<&Schema>,
        now: SystemTime,
    ) -> std::io::Result<CheckReport> {
        let path = path.as_ref();
        let bytes = crate::document::input::read_config_bytes(path, limits)?;
        Ok(match crate::config::decode(&bytes) {
            Ok(text) => {
                CheckReport::from_text_at(text, Format::from_path(path), limits, schema, now)
            }
            Err(d) => CheckReport {
                flags: None,
                diagnostics: vec![*d],
            },
        })
    }

    /// The flags, when the config has no error.
    pub fn flags(&self) -> Option<&FlagSet> {
        self.flags.as_ref()
    }

    /// Every diagnostic, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// How many diagnostics have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == severity)
            .count()
    }
}
