//! Changing one field of one flag in config text, in place: the rest of
//! the text (its format, comments, order, segments, spacing) is kept as
//! it was. Used for the one-command kill switch of a published config.

use crate::document::{self, Format, Member, Node, NodeKind};
use crate::suggest::{closest, did_you_mean, Quote};
use std::fmt;

/// Why a config could not be edited: it cannot be read, has no such
/// flag, or the edit did not give the intended value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    message: String,
}

impl EditError {
    fn new(message: impl Into<String>) -> EditError {
        EditError {
            message: message.into(),
        }
    }
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EditError {}

/// Sets the `kill_switch` of the flag `flag` in `text` (a config in
/// `format`) to `killed`: the value is replaced where it is written, or
/// the field is added as the flag's first field. Nothing else of the text
/// changes. The result is not validated: load or check it before use.
///
/// ```
/// use killswitch::edit::set_kill_switch;
/// use killswitch::Format;
///
/// let yaml = "# checkout\n- flag_key: checkout_v2\n  enabled: true\n";
/// let killed = set_kill_switch(yaml, Format::Yaml, "checkout_v2", true)?;
/// assert_eq!(killed, "# checkout\n- kill_switch: true\n  flag_key: checkout_v2\n  enabled: true\n");
/// let back = set_kill_switch(&killed, Format::Yaml, "checkout_v2", false)?;
/// assert_eq!(back, "# checkout\n- kill_switch: false\n  flag_key: checkout_v2\n  enabled: true\n");
/// let typo = set_kill_switch(yaml, Format::Yaml, "chekout_v2", true).unwrap_err();
/// assert_eq!(typo.to_string(), "the config has no flag `chekout_v2`; did you mean `checkout_v2`?");
/// # Ok::<(), killswitch::edit::EditError>(())
/// ```
pub fn set_kill_switch(
    text: &str,
    format: Format,
    flag: &str,
    killed: bool,
) -> Result<String, EditError> {
    let literal = if killed { "true" } else { "false" };
    set_field(
        text,
        format,
        flag,
        "kill_switch",
        literal,
        |v| matches!(v, NodeKind::Bool(b) if *b == killed),
    )
}

/// Sets the `rollout_percentage` of the flag `flag` in `text` to
/// `percentage`, as [`set_kill_switch`] sets the kill switch. A
/// percentage over 100 is refused.
///
/// ```
/// use killswitch::edit::set_rollout_percentage;
/// use killswitch::Format;
///
/// let json = r#"{"flag_key": "beta", "enabled": true, "rollout_percentage": 5}"#;
/// let wider = set_rollout_percentage(json, Format::Json, "beta", 50)?;
/// assert_eq!(wider, r#"{"flag_key": "beta", "enabled": true, "rollout_percentage": 50}"#);
/// # Ok::<(), killswitch::edit::EditError>(())
/// ```
pub fn set_rollout_percentage(
    text: &str,
    format: Format,
    flag: &str,
    percentage: u8,
) -> Result<String, EditError> {
    if percentage > 100 {
        return Err(EditError::new(format!(
            "a rollout percentage is 0 to 100, not {percentage}"
        )));
    }
    let literal = percentage.to_string();
    set_field(
        text,
        format,
        flag,
        "rollout_percentage",
        &literal,
        |v| matches!(v, NodeKind::Int(n) if *n == i64::from(percentage)),
    )
}

/// How deeply the edited text may nest (as for loading).
const MAX_DEPTH: usize = 64;

fn set_field(
    text: &str,
    format: Format,
    flag: &str,
    field: &str,
    literal: &str,
    is_set: impl Fn(&NodeKind) -> bool,
) -> Result<String, EditError> {
    let out = {
        let doc = read(text, format)?;
        let target = find_flag(&doc, flag)?;
        let NodeKind::Object(members) = &target.value else {
            return Err(EditError::new(format!("flag `{flag}` is not an object")));
        };
        match members.iter().find(|m| m.key == field) {
            Some(member) => splice(
                text,
                member.value.span.start,
                member.value.span.end,
                literal,
            ),
            None => insert_first(text, format, target, members, field, literal)?,
        }
    };
    // The edit must read back as intended, whatever the format's corners.
    let doc = read(&out, format)?;
    let target = find_flag(&doc, flag)?;
    let written = match &target.value {
        NodeKind::Object(members) => members.iter().find(|m| m.key == field),
        _ => None,
    };
    if !written.is_some_and(|m| is_set(&m.value.value)) {
        return Err(EditError::new(format!(
            "cannot set `{field}` of flag `{flag}` in this {} text; edit the file and publish it",
            format.name()
        )));
    }
    Ok(out)
}

fn read(text: &str, format: Format) -> Result<Node<'_>, EditError> {
    document::read(text, format, MAX_DEPTH)
        .map(|d| d.doc)
        .map_err(|e| EditError::new(format!("the config cannot be read: {}", e.message)))
}

/// The flag object whose `flag_key` is `flag`: in a list, in the `flags`
/// list of a document with segments, or the document itself.
fn find_flag<'d, 's>(doc: &'d Node<'s>, flag: &str) -> Result<&'d Node<'s>, EditError> {
    let items: Vec<&Node> = match &doc.value {
        NodeKind::Array(items) => items.iter().collect(),
        NodeKind::Object(members)
            if members
                .iter()
                .any(|m| m.key == "flags" || m.key == "segments") =>
        {
            match members
                .iter()
                .find(|m| m.key == "flags")
                .map(|m| &m.value.value)
            {
                Some(NodeKind::Array(items)) => items.iter().collect(),
                _ => Vec::new(),
            }
        }
        NodeKind::Object(_) => vec![doc],
        _ => Vec::new(),
    };
    let key_of = |item: &Node<'s>| -> Option<String> {
        let NodeKind::Object(members) = &item.value else {
            return None;
        };
        match &members.iter().find(|m| m.key == "flag_key")?.value.value {
            NodeKind::String(key) => Some(key.to_string()),
            _ => None,
        }
    };
    if let Some(found) = items
        .iter()
        .copied()
        .find(|item| key_of(item).is_some_and(|k| k == flag))
    {
        return Ok(found);
    }
    let keys: Vec<String> = items.iter().filter_map(|item| key_of(item)).collect();
    let hint = closest(flag, keys.iter().map(String::as_str))
        .map(|k| format!("; {}", did_you_mean(k, Quote::Rule)))
        .unwrap_or_default();
    Err(EditError::new(format!(
        "the config has no flag `{flag}`{hint}"
    )))
}

/// Adds `field` before the flag's first field, written as that one is.
fn insert_first(
    text: &str,
    format: Format,
    target: &Node,
    members: &[Member],
    field: &str,
    literal: &str,
) -> Result<String, EditError> {
    let Some(first) = members.iter().min_by_key(|m| m.key_span.start) else {
        return Err(EditError::new("the flag has no fields"));
    };
    let at = first.key_span.start;
    let inline = text
        .get(target.span.start..)
        .is_some_and(|rest| rest.starts_with('{'));
    let line_start = text
        .get(..at)
        .map_or(0, |before| before.rfind('\n').map_or(0, |i| i + 1));
    let before_key = text.get(line_start..at).unwrap_or_default();
    let insertion = match format {
        Format::Json => {
            // The spacing between `{` (or the line's start) and the key.
            let gap_start = text
                .get(..at)
                .and_then(|b| b.rfind(|c: char| !c.is_whitespace()).map(|i| i + 1))
                .unwrap_or(at);
            let gap = text.get(gap_start..at).unwrap_or(" ");
            let gap = if gap.is_empty() { " " } else { gap };
            format!("\"{field}\": {literal},{gap}")
        }
        _ if inline => {
            let sep = if format == Format::Toml { " =" } else { ":" };
            format!("{field}{sep} {literal}, ")
        }
        Format::Yaml => {
            // `- flag_key: x`: the next line aligns under the key.
            let indent: String = before_key.chars().map(|_| ' ').collect();
            format!("{field}: {literal}\n{indent}")
        }
        _ => {
            let indent: String = before_key
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            format!("{field} = {literal}\n{indent}")
        }
    };
    Ok(splice(text, at, at, &insertion))
}

fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(text.get(..start).unwrap_or_default());
    out.push_str(with);
    out.push_str(text.get(end..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn killed(text: &str, format: Format) -> String {
        match set_kill_switch(text, format, "b", true) {
            Ok(text) => text,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn json_keeps_the_layout_and_replaces_or_adds_the_field() {
        let text = "{\n  \"flags\": [\n    {\"flag_key\": \"a\", \"enabled\": true},\n    {\n      \"flag_key\": \"b\",\n      \"enabled\": true\n    }\n  ]\n}\n";
        let out = killed(text, Format::Json);
        assert_eq!(out, "{\n  \"flags\": [\n    {\"flag_key\": \"a\", \"enabled\": true},\n    {\n      \"kill_switch\": true,\n      \"flag_key\": \"b\",\n      \"enabled\": true\n    }\n  ]\n}\n");
        let back = set_kill_switch(&out, Format::Json, "b", false).unwrap_or_default();
        assert!(back.contains("\"kill_switch\": false,"));
        assert_eq!(back.replace("\"kill_switch\": false,\n      ", ""), text);
    }

    #[test]
    fn toml_tables_and_inline_tables() {
        let text = "# flags\n[[flags]]\nflag_key = \"a\"\n\n[[flags]]\nflag_key = \"b\" # the new one\nenabled = true\n";
        let out = killed(text, Format::Toml);
        assert_eq!(out, "# flags\n[[flags]]\nflag_key = \"a\"\n\n[[flags]]\nkill_switch = true\nflag_key = \"b\" # the new one\nenabled = true\n");
        let inline = "flags = [{ flag_key = \"b\", enabled = true }]\n";
        assert_eq!(
            killed(inline, Format::Toml),
            "flags = [{ kill_switch = true, flag_key = \"b\", enabled = true }]\n"
        );
        let set = "[[flags]]\nflag_key = \"b\"\nkill_switch = false\n";
        assert_eq!(
            killed(set, Format::Toml),
            "[[flags]]\nflag_key = \"b\"\nkill_switch = true\n"
        );
    }

    #[test]
    fn yaml_block_flow_and_segments() {
        let text = "segments:\n  staff: 'email endsWith \"@x.com\"'\nflags:\n  - flag_key: b\n    enabled: true\n    kill_switch: no\n";
        assert_eq!(
            killed(text, Format::Yaml),
            "segments:\n  staff: 'email endsWith \"@x.com\"'\nflags:\n  - flag_key: b\n    enabled: true\n    kill_switch: true\n"
        );
        assert_eq!(
            killed("[{flag_key: b, enabled: true}]", Format::Yaml),
            "[{kill_switch: true, flag_key: b, enabled: true}]"
        );
    }

    #[test]
    fn unknown_flags_and_unreadable_text_are_refused() {
        let e = set_kill_switch("[]", Format::Json, "b", true).unwrap_err();
        assert_eq!(e.to_string(), "the config has no flag `b`");
        assert!(set_kill_switch("[", Format::Json, "b", true).is_err());
        assert!(set_rollout_percentage("{\"flag_key\": \"b\"}", Format::Json, "b", 101).is_err());
    }
}
