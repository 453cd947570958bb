//! The config file formats, and choosing one by file name.

use std::path::Path;

/// The language a config file is written in. All three describe the same
/// flags (see the README) and report every problem at its place in the
/// file.
///
/// ```
/// use killswitch::{Format, FlagSet, Limits};
///
/// assert_eq!(Format::from_path("flags.yaml"), Format::Yaml);
/// let flags = FlagSet::from_text(
///     "flag_key: beta\nenabled: true\nrollout_percentage: 100\n",
///     Format::Yaml,
///     &Limits::default(),
/// )?;
/// assert_eq!(flags.get("beta").and_then(|f| f.rollout_percentage()), Some(100));
/// # Ok::<(), killswitch::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// JSON (RFC 8259): duplicate keys are errors.
    #[default]
    Json,
    /// YAML 1.2, one document, core schema: only `true`/`false` are
    /// booleans (`yes` is a string); aliases and tags are rejected.
    Yaml,
    /// TOML 1.1: date-times become RFC 3339 strings; TOML has no null.
    Toml,
}

impl Format {
    /// The format a file name says: `.yaml` or `.yml` is YAML, `.toml` is
    /// TOML, anything else is JSON. Case does not matter, and an unknown
    /// last extension defers to the one before it, so that a temporary
    /// copy such as `flags.yaml.tmp` is still read as YAML.
    ///
    /// ```
    /// use killswitch::Format;
    /// assert_eq!(Format::from_path("conf/flags.TOML"), Format::Toml);
    /// assert_eq!(Format::from_path("flags.yml.tmp"), Format::Yaml);
    /// assert_eq!(Format::from_path("flags.json"), Format::Json);
    /// assert_eq!(Format::from_path("flags"), Format::Json);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Format {
        let path = path.as_ref();
        let last = path.extension().and_then(|e| e.to_str());
        let before = path
            .file_stem()
            .map(Path::new)
            .and_then(Path::extension)
            .and_then(|e| e.to_str());
        match last.and_then(Format::from_extension) {
            Some(format) => format,
            None => before
                .and_then(Format::from_extension)
                .unwrap_or(Format::Json),
        }
    }

    fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }

    /// The format's name, for messages: `JSON`, `YAML` or `TOML`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
            Format::Toml => "TOML",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_by_extension() {
        for (path, format) in [
            ("a.json", Format::Json),
            ("a.yaml", Format::Yaml),
            ("a.YML", Format::Yaml),
            ("dir.yaml/a.toml", Format::Toml),
            ("a.toml.bak", Format::Toml),
            ("a.json.yaml", Format::Yaml),
            ("a.yaml.json", Format::Json),
            ("a.conf", Format::Json),
            (".yaml", Format::Json),
            ("", Format::Json),
        ] {
            assert_eq!(Format::from_path(path), format, "{path}");
        }
    }
}
