//! Diagnostics for config files: every problem of a file, each with its
//! file position, the path to it inside the config, the source line with
//! `^^^` under the problem, and a hint.

use crate::document::ReadError;
use crate::error::{escape_for_terminal, ErrorKind, Severity, Snippet, Span};
use std::fmt;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    severity: Severity,
    kind: ErrorKind,
    message: String,
    help: Option<String>,
    path: String,
    flag: Option<String>,
    span: Option<Span>,
    snippet: Option<Snippet>,
}

impl Diagnostic {
    /// A problem the document reader found (bad syntax, a duplicate key),
    /// placed in `source`.
    pub(crate) fn from_read(e: ReadError, source: &str) -> Diagnostic {
        Diagnostic::new(e.kind, e.message, Some(e.span), source).with_help(e.help)
    }

    pub(crate) fn new(
        kind: ErrorKind,
        message: impl Into<String>,
        span: Option<Span>,
        source: &str,
    ) -> Diagnostic {
        let span = span.map(|s| s.within(source));
        Diagnostic {
            severity: Severity::Error,
            kind,
            message: message.into(),
            help: None,
            path: String::new(),
            flag: None,
            span,
            snippet: span.map(|s| Snippet::new(source, s)),
        }
    }

    pub(crate) fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    /// The same diagnostic as an error (for `--deny-warnings`).
    pub fn into_error(mut self) -> Diagnostic {
        self.severity = Severity::Error;
        self
    }

    pub(crate) fn with_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    pub(crate) fn in_place(mut self, path: String, flag: Option<&str>) -> Diagnostic {
        self.path = path;
        self.flag = flag.map(str::to_string);
        self
    }

    /// How serious it is.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// What kind of problem it is; [`ErrorKind::code`] gives its code.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without location or help.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A suggested fix, when one is likely.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Where in the config it is, such as
    /// `flags[3] "new_search_ui" > targeting_rules.allow_list[0]`; empty
    /// for problems of the whole file.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The key of the flag it is in, when known.
    pub fn flag(&self) -> Option<&str> {
        self.flag.as_deref()
    }

    /// The byte range in the file, when it has one.
    pub fn span(&self) -> Option<Span> {
        self.span
    }

    /// The 1-based line and column (in characters) where it starts.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        self.snippet.as_ref().map(|s| (s.line, s.column))
    }

    /// The 1-based line and column (in characters) just past its end.
    pub fn end_line_column(&self) -> Option<(usize, usize)> {
        self.snippet.as_ref().map(|s| (s.end_line, s.end_column))
    }

    /// Renders it as rustc does, naming `file`.
    pub fn render(&self, file: Option<&str>, out: &mut impl fmt::Write) -> fmt::Result {
        self.render_styled(file, false, out)
    }

    /// Renders it as rustc does, with ANSI colours when `color` is set.
    pub fn render_styled(
        &self,
        file: Option<&str>,
        color: bool,
        out: &mut impl fmt::Write,
    ) -> fmt::Result {
        let label = self.severity.as_str();
        let (on, off) = match (color, self.severity) {
            (false, _) => ("", ""),
            (true, Severity::Error) => ("\x1b[1;31m", "\x1b[0m"),
            (true, Severity::Warning) => ("\x1b[1;33m", "\x1b[0m"),
            (true, Severity::Note) => ("\x1b[1;36m", "\x1b[0m"),
        };
        write!(
            out,
            "{on}{label}[{}]{off}: {}",
            self.kind.code(),
            escape_for_terminal(&self.message)
        )?;
        let file = escape_for_terminal(file.unwrap_or("<config>"));
        let pad = self
            .snippet
            .as_ref()
            .map_or(1, |s| s.line.to_string().len());
        match &self.snippet {
            Some(s) => write!(out, "\n{:pad$}--> {file}:{}:{}", "", s.line, s.column)?,
            None => write!(out, "\n{:pad$}--> {file}", "")?,
        }
        if let Some(s) = &self.snippet {
            s.write(out)?;
        }
        if !self.path.is_empty() {
            write!(
                out,
                "\n{:pad$} = in {}",
                "",
                escape_for_terminal(&self.path)
            )?;
        }
        if let Some(help) = &self.help {
            write!(out, "\n{:pad$} = help: {}", "", escape_for_terminal(help))?;
        }
        Ok(())
    }
}

/// A config that could not be loaded: every problem found in it.
///
/// `Display` renders all of them, then a count.
#[derive(Debug, Clone)]
pub struct ConfigError {
    file: Option<String>,
    diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    pub(crate) fn new(file: Option<String>, mut diagnostics: Vec<Diagnostic>) -> ConfigError {
        diagnostics.sort_by_key(|d| {
            d.span
                .map_or((usize::MAX, usize::MAX), |s| (s.start, s.end))
        });
        ConfigError { file, diagnostics }
    }

    /// The error of a file that could not be read.
    pub fn io(file: String, err: &std::io::Error) -> ConfigError {
        let message = format!("cannot read `{file}`: {err}");
        let diagnostic = Diagnostic::new(ErrorKind::Io, message, None, "");
        ConfigError {
            file: Some(file),
            diagnostics: vec![diagnostic],
        }
    }

    /// The problems, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The file's name, when it was loaded from a file.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// Whether the file could not be read at all (rather than being invalid).
    pub fn is_io(&self) -> bool {
        self.diagnostics.iter().any(|d| d.kind == ErrorKind::Io)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            d.render(self.file.as_deref(), f)?;
            f.write_str("\n\n")?;
        }
        let n = self.diagnostics.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for ConfigError {}
