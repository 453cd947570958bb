//! Config text in JSON, YAML or TOML -> one tree of positioned values.
//!
//! Each reader keeps the byte span of every value and key (serde cannot
//! say where a value was), reports duplicate keys instead of keeping the
//! last silently, and bounds nesting so that hostile input cannot exhaust
//! the stack. Everything above this layer sees the same [`Node`] tree,
//! whatever the format.

mod format;
pub(crate) mod input;
pub(crate) mod json;
pub(crate) mod text;
mod toml;
mod yaml;

pub use format::Format;

use crate::error::{ErrorKind, Span};
use std::borrow::Cow;

/// A JSON value with its span in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node<'s> {
    pub value: NodeKind<'s>,
    pub span: Span,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind<'s> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Borrowed from the source where it has no escapes (the JSON reader).
    String(Cow<'s, str>),
    Array(Vec<Node<'s>>),
    Object(Vec<Member<'s>>),
}

/// One member of an object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member<'s> {
    pub key: Cow<'s, str>,
    pub key_span: Span,
    pub value: Node<'s>,
}

impl NodeKind<'_> {
    /// The JSON type name, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) | NodeKind::Float(_) => "a number",
            NodeKind::String(_) => "a string",
            NodeKind::Array(_) => "an array",
            NodeKind::Object(_) => "an object",
        }
    }
}

/// A document read into a tree, with the problems that did not stop the
/// reading (duplicate keys) and, for YAML and TOML, where the raw text of
/// every string is.
#[derive(Debug)]
pub(crate) struct Document<'s> {
    pub doc: Node<'s>,
    pub problems: Vec<ReadError>,
    pub strings: text::RawStrings,
}

/// Adds a member to an object being read or, when the object already has
/// its key, records a duplicate-key problem (the first occurrence is kept).
/// Shared by the JSON and YAML readers.
pub(crate) fn add_member<'s>(
    src: &str,
    members: &mut Vec<Member<'s>>,
    keys: &mut std::collections::HashMap<Cow<'s, str>, usize>,
    problems: &mut Vec<ReadError>,
    member: Member<'s>,
) {
    // A small object (every object of a typical config) is scanned: no
    // hashing and no key copies. A large one is indexed once it grows past
    // `SCAN`, so a hostile object with many keys stays linear.
    const SCAN: usize = 16;
    let found = if members.len() < SCAN {
        members.iter().find(|m| m.key == member.key)
    } else {
        if keys.is_empty() {
            for (i, m) in members.iter().enumerate() {
                keys.entry(m.key.clone()).or_insert(i);
            }
        }
        keys.get(&member.key).and_then(|i| members.get(*i))
    };
    let Some(first) = found else {
        if members.len() >= SCAN {
            keys.insert(member.key.clone(), members.len());
        }
        members.push(member);
        return;
    };
    // Past a few hundred, the loader reports only a count: skip the
    // position, which costs a scan of the file.
    let (line, column) = if problems.len() < 512 {
        crate::error::line_column(src, first.key_span.start)
    } else {
        (0, 0)
    };
    let key = &member.key;
    problems.push(ReadError {
        kind: ErrorKind::DuplicateKey,
        span: member.key_span,
        message: format!("duplicate key \"{key}\""),
        help: Some(format!(
            "the first \"{key}\" is at {line}:{column}; remove one of them"
        )),
    });
}

/// A problem found while reading.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadError {
    pub kind: ErrorKind,
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

/// Reads `src` in `format` into a tree, nesting at most `max_depth` deep.
pub(crate) fn read(src: &str, format: Format, max_depth: usize) -> Result<Document<'_>, ReadError> {
    match format {
        Format::Json => json::parse(src, max_depth).map(|(doc, problems)| Document {
            doc,
            problems,
            strings: text::RawStrings::default(),
        }),
        Format::Yaml => yaml::parse(src, max_depth),
        Format::Toml => toml::parse(src, max_depth),
    }
}
