//! Bearer tokens, checked in constant time.

use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

/// The largest token file read, in bytes; a larger one is refused.
const MAX_TOKEN_FILE_BYTES: u64 = 1024 * 1024;

/// The bearer tokens a [`Server`](crate::Server) accepts.
///
/// Only their SHA-256 digests are kept. A presented token is hashed and
/// compared with every digest without an early exit, so the time taken
/// tells nothing about how much of a token was right, nor which one
/// matched. `Debug` shows how many there are, never a token.
///
/// ```
/// use killswitch_server::Tokens;
/// let tokens = Tokens::new(["s3cret", "other"]);
/// assert_eq!(tokens.len(), 2);
/// assert!(!format!("{tokens:?}").contains("s3cret"));
/// ```
///
/// Clones share one set: a set made by [`Tokens::watch_file`] changes in
/// every clone when the file does.
#[derive(Clone)]
pub struct Tokens {
    digests: Arc<RwLock<Arc<Vec<[u8; 32]>>>>,
    /// The file followed, for [`Tokens::reload`]; `None` for tokens given
    /// in code or read once.
    file: Option<Arc<PathBuf>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.len())
            .finish()
    }
}

impl Tokens {
    /// The given tokens; empty ones are skipped.
    pub fn new<I, S>(tokens: I) -> Tokens
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let digests = tokens
            .into_iter()
            .filter(|t| !t.as_ref().is_empty())
            .map(|t| digest(t.as_ref().as_bytes()))
            .collect::<Vec<_>>();
        Tokens {
            digests: Arc::new(RwLock::new(Arc::new(digests))),
            file: None,
        }
    }

    /// The current set (a cheap copy of a pointer).
    fn current(&self) -> Arc<Vec<[u8; 32]>> {
        let guard = self.digests.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    /// Reads a token file: one token per line, surrounding whitespace
    /// trimmed; blank lines and lines starting with `#` are skipped. A file
    /// without any token is an error (it would lock every client out).
    pub fn from_file(path: impl AsRef<Path>) -> io::Result<Tokens> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)?.len();
        if len > MAX_TOKEN_FILE_BYTES {
            let msg = format!(
                "`{}` is larger than {MAX_TOKEN_FILE_BYTES} bytes",
                path.display()
            );
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
        }
        let text = std::fs::read_to_string(path)?;
        let tokens = Tokens::new(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.starts_with('#')),
        );
        if tokens.is_empty() {
            let msg = format!("`{}` holds no token", path.display());
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
        }
        Ok(tokens)
    }

    /// Reads a token file as [`Tokens::from_file`] does, then follows it:
    /// a thread checks its modification time and length once a second and
    /// re-reads it when either changes. A file that cannot be read, is
    /// larger than 1 MiB or holds no token keeps the last good set, with
    /// one line on stderr (never a token). The thread ends once every
    /// clone of these tokens is dropped.
    pub fn watch_file(path: impl AsRef<Path>) -> io::Result<Tokens> {
        let path = path.as_ref().to_path_buf();
        let mut tokens = Tokens::from_file(&path)?;
        let shared = Arc::downgrade(&tokens.digests);
        let stamp = file_stamp(&path);
        tokens.file = Some(Arc::new(path.clone()));
        std::thread::Builder::new()
            .name("token-file".into())
            .spawn(move || follow(&path, &shared, stamp))?;
        Ok(tokens)
    }

    /// Re-reads the file of a set made by [`Tokens::watch_file`] now,
    /// whatever its modification time says (what `killswitch serve` does
    /// on SIGHUP), and returns how many tokens it holds. A file that cannot
    /// be read, is too large or holds no token is an error, and the last
    /// good set stays. Tokens not read from a file have nothing to reload:
    /// `Ok(None)`.
    ///
    /// ```
    /// use killswitch_server::Tokens;
    /// assert!(Tokens::new(["s3cret"]).reload().unwrap().is_none());
    /// ```
    pub fn reload(&self) -> io::Result<Option<usize>> {
        let Some(path) = &self.file else {
            return Ok(None);
        };
        read_into(path, &self.digests).map(Some)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// Whether there are none (then no request is let in).
    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }

    /// Whether an `Authorization` header value carries one of the tokens
    /// (`Bearer <token>`, the scheme's case ignored).
    pub(crate) fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some((scheme, token)) = split_scheme(value) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return false;
        }
        self.admits_token(token)
    }

    /// Whether `token` is one of the tokens (a dashboard login).
    pub(crate) fn admits_token(&self, token: &[u8]) -> bool {
        !token.is_empty() && self.admits_digest(&digest(token))
    }

    /// Whether a token of this SHA-256 digest is one of the tokens now (a
    /// dashboard session checks the token it was opened with, so that
    /// removing a token from its file ends its sessions).
    pub(crate) fn admits_digest(&self, presented: &[u8; 32]) -> bool {
        let mut found = 0u8;
        for digest in self.current().iter() {
            let diff = digest
                .iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            found |= u8::from(diff == 0);
        }
        std::hint::black_box(found) == 1
    }
}

/// The SHA-256 digest of a token: all that is kept of it.
pub(crate) fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Reads a token file as [`Tokens::from_file`] does and, when it is good,
/// makes it the set `digests` shares; returns how many tokens it holds.
fn read_into(path: &Path, digests: &RwLock<Arc<Vec<[u8; 32]>>>) -> io::Result<usize> {
    let fresh = Tokens::from_file(path)?.current();
    let count = fresh.len();
    *digests.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    Ok(count)
}

/// A file's modification time and length, if it can be read.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Re-reads `path` into `shared` whenever its stamp changes, until the
/// tokens are gone.
fn follow(
    path: &Path,
    shared: &Weak<RwLock<Arc<Vec<[u8; 32]>>>>,
    mut seen: Option<(SystemTime, u64)>,
) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(digests) = shared.upgrade() else {
            return;
        };
        let stamp = file_stamp(path);
        if stamp == seen {
            continue;
        }
        seen = stamp;
        match read_into(path, &digests) {
            Ok(count) => {
                eprintln!(
                    "serve: token file `{}` reloaded: {count} tokens",
                    path.display()
                );
            }
            // io::Error texts here name the path or the OS error, never
            // the file's content.
            Err(e) => eprintln!(
                "serve: token file `{}` not reloaded, keeping the last good tokens: {e}",
                path.display()
            ),
        }
    }
}

/// `scheme token` -> (`scheme`, `token`), spaces between them skipped.
fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = value.split_at(space);
    let token = rest.trim_ascii_start();
    (!token.is_empty()).then_some((scheme, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_bearer_token_is_admitted() {
        let tokens = Tokens::new(["alpha", "beta", ""]);
        assert_eq!(tokens.len(), 2);
        assert!(tokens.admits(Some(b"Bearer alpha")));
        assert!(tokens.admits(Some(b"bearer  beta")));
        assert!(!tokens.admits(Some(b"Bearer alph")));
        assert!(!tokens.admits(Some(b"Bearer alphaa")));
        assert!(!tokens.admits(Some(b"Basic alpha")));
        assert!(!tokens.admits(Some(b"alpha")));
        assert!(!tokens.admits(Some(b"Bearer ")));
        assert!(!tokens.admits(None));
        assert!(!Tokens::new([""; 0]).admits(Some(b"Bearer x")));
    }
}
