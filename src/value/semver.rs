//! Semantic versions (SemVer 2.0), parsed without allocating.
//!
//! As in LaunchDarkly, a missing minor or patch counts as 0 (`2.1` is
//! `2.1.0`). A leading `v` is not a version. Build metadata is checked for
//! form and then ignored; pre-releases sort below their release.
//!
//! We do not use the `semver` crate here: it rejects partial versions, its
//! `Ord` includes build metadata, and its parser may allocate, while this
//! runs on every evaluation of a `semVer*` test.

use std::cmp::Ordering;

/// A parsed version borrowing its pre-release text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version<'a> {
    major: u64,
    minor: u64,
    patch: u64,
    /// Dot-separated pre-release identifiers; empty for a release.
    pre: &'a str,
}

/// A version owned by a compiled rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Box<str>,
}

impl OwnedVersion {
    pub(crate) fn as_version(&self) -> Version<'_> {
        Version {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &self.pre,
        }
    }
}

impl Version<'_> {
    pub(crate) fn to_owned_version(self) -> OwnedVersion {
        OwnedVersion {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: self.pre.into(),
        }
    }
}

/// Parses `text` as a version; `None` when it is not one.
pub(crate) fn parse(text: &str) -> Option<Version<'_>> {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    if let Some(build) = build {
        if !build.split('.').all(is_identifier) {
            return None;
        }
    }
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => {
            if !pre
                .split('.')
                .all(|id| is_identifier(id) && !has_leading_zero(id))
            {
                return None;
            }
            (core, pre)
        }
        None => (rest, ""),
    };
    let mut parts = core.split('.');
    let major = numeric(parts.next()?)?;
    let minor = parts.next().map_or(Some(0), numeric)?;
    let patch = parts.next().map_or(Some(0), numeric)?;
    if parts.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre,
    })
}

fn numeric(part: &str) -> Option<u64> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || has_leading_zero(part) {
        return None;
    }
    part.parse().ok()
}

fn is_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn has_leading_zero(id: &str) -> bool {
    id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit())
}

/// SemVer precedence (build metadata was already dropped).
pub(crate) fn compare(a: Version<'_>, b: Version<'_>) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_pre(a.pre, b.pre),
        })
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xn = x.bytes().all(|c| c.is_ascii_digit());
                let yn = y.bytes().all(|c| c.is_ascii_digit());
                let order = match (xn, yn) {
                    // No leading zeros, so the longer number is larger.
                    (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(parse(a).unwrap(), parse(b).unwrap())
    }

    #[test]
    fn follows_semver_precedence() {
        // The example chain from the SemVer 2.0 specification, item 11.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn partial_versions_and_build_metadata() {
        assert_eq!(cmp("2.1", "2.1.0"), Ordering::Equal);
        assert_eq!(cmp("2", "2.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.0+build.5", "1.0.0+other"), Ordering::Equal);
        assert_eq!(cmp("2.1-beta", "2.1.0"), Ordering::Less);
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in [
            "",
            "v1.2.3",
            "1.2.3.4",
            "01.2.3",
            "1..2",
            "1.2.3-",
            "1.2.3-01",
            "1.2.3+",
            "a.b.c",
            "1.2.3-beta..1",
            " 1.2.3",
            "1.2.3 ",
            "99999999999999999999.0.0",
        ] {
            assert!(parse(bad).is_none(), "{bad:?} parsed");
        }
    }
}
