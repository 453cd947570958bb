//! Loading a config into a [`FlagSet`]: from text in any [`Format`], or
//! from a file.

use super::diagnostic::ConfigError;
use crate::document::Format;
use crate::eval::flag_set::FlagSet;
use crate::limits::Limits;

impl FlagSet {
    /// Compiles a JSON config with the default [`Limits`]; see the README
    /// for the format. All problems are reported at once.
    pub fn from_json(text: &str) -> Result<FlagSet, ConfigError> {
        FlagSet::from_json_with(text, &Limits::default())
    }

    /// Compiles a JSON config within `limits`.
    pub fn from_json_with(text: &str, limits: &Limits) -> Result<FlagSet, ConfigError> {
        FlagSet::from_text(text, Format::Json, limits)
    }

    /// Compiles a config in any [`Format`] within `limits`. Every problem
    /// is reported at its line and column in `text`.
    ///
    /// ```
    /// use killswitch::{Context, FlagSet, Format, Limits, Reason};
    /// let toml = r#"
    /// [[flags]]
    /// flag_key = "new_search_ui"
    /// enabled = true
    /// targeting_rules.allow_list = ['email endsWith "@internal.com"']
    /// "#;
    /// let flags = FlagSet::from_text(toml, Format::Toml, &Limits::default())?;
    /// let staff = Context::new().with("user_id", "u1").with("email", "ana@internal.com");
    /// assert_eq!(flags.evaluate("new_search_ui", &staff).reason, Reason::AllowRule(0));
    ///
    /// let yaml = "flag_key: f\nenabled: true\ntargeting_rules:\n  allow_list: [email endswith 'x']\n";
    /// let err = FlagSet::from_text(yaml, Format::Yaml, &Limits::default()).unwrap_err();
    /// let (line, column) = err.diagnostics()[0].line_column().unwrap();
    /// assert_eq!((line, column), (4, 22)); // at `endswith`
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn from_text(text: &str, format: Format, limits: &Limits) -> Result<FlagSet, ConfigError> {
        super::load(text, format, limits).map_err(|d| ConfigError::new(None, d))
    }

    /// Reads and compiles a config file, in the [`Format`] its extension
    /// names ([`Format::from_path`]: `.yaml`/`.yml`, `.toml`, else JSON).
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<FlagSet, ConfigError> {
        FlagSet::load_with(path, &Limits::default())
    }

    /// Reads and compiles a config file within `limits`, in the [`Format`]
    /// its extension names. A file over [`Limits::max_config_bytes`], or one
    /// that is not a regular file (a FIFO, a device such as `/dev/zero`, a
    /// directory), is refused before it is parsed.
    pub fn load_with(
        path: impl AsRef<std::path::Path>,
        limits: &Limits,
    ) -> Result<FlagSet, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = crate::document::input::read_config_bytes(path, limits)
            .map_err(|e| ConfigError::io(name.clone(), &e))?;
        let text =
            super::decode(&bytes).map_err(|d| ConfigError::new(Some(name.clone()), vec![*d]))?;
        super::load(text, Format::from_path(path), limits)
            .map_err(|d| ConfigError::new(Some(name), d))
    }
}
