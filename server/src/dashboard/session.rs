//! Who is asking: a bearer token (scripts), or a browser session made by
//! logging in with a token (an `HttpOnly`, `SameSite=Strict` cookie
//! holding a random id; the token itself is never stored, shown or
//! logged). Writes from a session also need the session's CSRF token and
//! a same-origin request.

use crate::Tokens;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "killswitch_session";

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// See flags, history, try a user.
    Read,
    /// Also act: kill, change a rollout, roll back.
    Admin,
}

/// How a caller got in.
#[derive(Debug, Clone)]
pub(crate) enum Via {
    /// No read token is configured: reads are open.
    Open,
    /// `Authorization: Bearer`.
    Bearer,
    /// A logged-in browser session, with its CSRF token.
    Session { id: String, csrf: String },
}

/// A caller let in.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub(crate) role: Role,
    /// The name given at login (a session's author).
    pub(crate) name: Option<String>,
    pub(crate) via: Via,
}

impl Access {
    pub(crate) fn csrf(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf, .. } => Some(csrf),
            _ => None,
        }
    }

    pub(crate) fn session_id(&self) -> Option<&str> {
        match &self.via {
            Via::Session { id, .. } => Some(id),
            _ => None,
        }
    }
}

struct Session {
    role: Role,
    name: String,
    csrf: String,
    created: Instant,
    /// The SHA-256 of the token logged in with: the session lasts only as
    /// long as that token is still one of its role's.
    token: [u8; 32],
}

/// The logged-in sessions, by the SHA-256 of their id.
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    ttl: Duration,
    max_sessions: usize,
}

impl Sessions {
    pub(crate) fn new(ttl: Duration, max_sessions: usize) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            ttl,
            max_sessions: max_sessions.max(1),
        }
    }

    /// A new session; returns its id (for the cookie). The oldest session
    /// goes when there are too many.
    pub(crate) fn create(&self, login: Login, name: &str) -> Result<String, getrandom::Error> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.created) < self.ttl);
        while map.len() >= self.max_sessions {
            let oldest = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            digest(&id),
            Session {
                role: login.role,
                name: name.to_string(),
                csrf,
                created: now,
                token: login.token,
            },
        );
        Ok(id)
    }

    /// The session `id` names, if it has not expired and `still_valid`
    /// says its token is still one of its role's; a session whose token
    /// was removed is forgotten.
    fn get(&self, id: &str, still_valid: impl Fn(Role, &[u8; 32]) -> bool) -> Option<Access> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let key = digest(id);
        let session = map.get(&key)?;
        if session.created.elapsed() >= self.ttl {
            return None;
        }
        if !still_valid(session.role, &session.token) {
            map.remove(&key);
            return None;
        }
        Some(Access {
            role: session.role,
            name: Some(session.name.clone()),
            via: Via::Session {
                id: id.to_string(),
                csrf: session.csrf.clone(),
            },
        })
    }

    pub(crate) fn remove(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&digest(id));
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// 32 random bytes in hex.
fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let mut hex = String::with_capacity(64);
    for b in bytes {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// A successful login: the role granted and the SHA-256 of the token
/// that granted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Login {
    pub(crate) role: Role,
    token: [u8; 32],
}

/// The tokens and sessions that decide access.
pub(crate) struct Gate {
    pub(crate) read: Option<Tokens>,
    pub(crate) admin: Option<Tokens>,
    pub(crate) sessions: Sessions,
}

impl Gate {
    /// Who the request is from, or `None` when it must log in (or send a
    /// token). A bearer token wins over a cookie.
    pub(crate) fn access(&self, headers: &HeaderMap) -> Option<Access> {
        if let Some(auth) = headers.get(AUTHORIZATION) {
            let auth = Some(auth.as_bytes());
            if self.admin.as_ref().is_some_and(|t| t.admits(auth)) {
                return Some(bearer(Role::Admin));
            }
            if self.read.as_ref().is_some_and(|t| t.admits(auth)) {
                return Some(bearer(Role::Read));
            }
            // A wrong token is refused, not downgraded to open access.
            return None;
        }
        let still_valid = |role: Role, token: &[u8; 32]| {
            let tokens = match role {
                Role::Admin => &self.admin,
                Role::Read => &self.read,
            };
            tokens.as_ref().is_some_and(|t| t.admits_digest(token))
        };
        if let Some(access) =
            session_cookie(headers).and_then(|id| self.sessions.get(id, still_valid))
        {
            return Some(access);
        }
        self.read.is_none().then_some(Access {
            role: Role::Read,
            name: None,
            via: Via::Open,
        })
    }

    /// The role a token presented at login grants, with the token's
    /// digest for the session.
    pub(crate) fn login(&self, token: &str) -> Option<Login> {
        let token = token.trim().as_bytes();
        if token.is_empty() {
            return None;
        }
        let token = crate::auth::digest(token);
        let role = if self.admin.as_ref().is_some_and(|t| t.admits_digest(&token)) {
            Role::Admin
        } else if self.read.as_ref().is_some_and(|t| t.admits_digest(&token)) {
            Role::Read
        } else {
            return None;
        };
        Some(Login { role, token })
    }

    /// Whether logging in can lead anywhere (some token is configured).
    pub(crate) fn has_tokens(&self) -> bool {
        self.read.is_some() || self.admin.is_some()
    }
}

fn bearer(role: Role) -> Access {
    Access {
        role,
        name: None,
        via: Via::Bearer,
    }
}

/// The session id in the `Cookie` header.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

/// Why a write from a browser session is refused before it is tried.
pub(crate) fn check_csrf(
    access: &Access,
    headers: &HeaderMap,
    presented: Option<&str>,
) -> Result<(), &'static str> {
    let Via::Session { csrf, .. } = &access.via else {
        // A bearer token is not sent by browsers on their own: no CSRF.
        return Ok(());
    };
    same_origin(headers)?;
    let presented = presented.unwrap_or_default().as_bytes();
    let expected = csrf.as_bytes();
    let same = presented.len() == expected.len()
        && presented
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err("missing or wrong CSRF token: reload the page and try again")
    }
}

/// A browser request from another site is refused: its `Origin` must
/// name this host. Requests without `Origin` (not from a browser form or
/// script of another page) pass this check.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let matches = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| !host.is_empty() && rest == host);
    if matches {
        Ok(())
    } else {
        Err("cross-origin request refused")
    }
}

/// The `Set-Cookie` value that stores a session in the browser.
pub(crate) fn set_cookie(id: &str, ttl: Duration) -> String {
    format!(
        "{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    )
}

/// The `Set-Cookie` value that removes it.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn tokens_sessions_and_open_reads() {
        let gate = Gate {
            read: Some(Tokens::new(["r"])),
            admin: Some(Tokens::new(["a"])),
            sessions: Sessions::new(Duration::from_secs(60), 2),
        };
        assert_eq!(
            gate.access(&headers(&[("authorization", "Bearer a")]))
                .unwrap()
                .role,
            Role::Admin
        );
        assert_eq!(
            gate.access(&headers(&[("authorization", "Bearer r")]))
                .unwrap()
                .role,
            Role::Read
        );
        assert!(gate
            .access(&headers(&[("authorization", "Bearer x")]))
            .is_none());
        assert!(gate.access(&headers(&[])).is_none());
        let role = |token: &str| gate.login(token).map(|login| login.role);
        assert_eq!(role(" a\n"), Some(Role::Admin));
        assert_eq!(role("r"), Some(Role::Read));
        assert_eq!(role("x"), None);
        assert_eq!(role(" "), None);
        let admin = gate.login("a").unwrap();
        let read = gate.login("r").unwrap();
        let id = gate.sessions.create(admin, "ana").unwrap();
        let cookie = format!("other=1; {COOKIE_NAME}={id}");
        let access = gate.access(&headers(&[("cookie", &cookie)])).unwrap();
        assert_eq!(
            (access.role, access.name.as_deref()),
            (Role::Admin, Some("ana"))
        );
        // Three sessions with a maximum of two: the first is gone.
        gate.sessions.create(read, "b").unwrap();
        gate.sessions.create(read, "c").unwrap();
        assert!(gate.access(&headers(&[("cookie", &cookie)])).is_none());
        let open = Gate {
            read: None,
            admin: None,
            sessions: Sessions::new(Duration::from_secs(60), 2),
        };
        assert_eq!(open.access(&headers(&[])).unwrap().role, Role::Read);
    }

    #[test]
    fn removing_a_token_ends_the_sessions_it_opened() {
        let dir = std::env::temp_dir().join(format!("killswitch-sessions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("admin.tokens");
        std::fs::write(&file, "a1\na2\n").unwrap();
        let admin = Tokens::watch_file(&file).unwrap();
        let gate = Gate {
            read: Some(Tokens::new(["r"])),
            admin: Some(admin.clone()),
            sessions: Sessions::new(Duration::from_secs(60), 8),
        };
        let one = gate
            .sessions
            .create(gate.login("a1").unwrap(), "ana")
            .unwrap();
        let two = gate
            .sessions
            .create(gate.login("a2").unwrap(), "bo")
            .unwrap();
        let role = |id: &str| {
            let cookie = format!("{COOKIE_NAME}={id}");
            gate.access(&headers(&[("cookie", &cookie)]))
                .map(|a| a.role)
        };
        assert_eq!(
            (role(&one), role(&two)),
            (Some(Role::Admin), Some(Role::Admin))
        );
        std::fs::write(&file, "a2\n").unwrap();
        assert_eq!(admin.reload().unwrap(), Some(1));
        assert_eq!((role(&one), role(&two)), (None, Some(Role::Admin)));
        // Putting the token back does not bring the session back.
        std::fs::write(&file, "a1\na2\n").unwrap();
        admin.reload().unwrap();
        assert_eq!(role(&one), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn csrf_and_origin() {
        let access = Access {
            role: Role::Admin,
            name: None,
            via: Via::Session {
                id: "i".into(),
                csrf: "tok".into(),
            },
        };
        let good = headers(&[
            ("host", "127.0.0.1:8016"),
            ("origin", "http://127.0.0.1:8016"),
        ]);
        assert!(check_csrf(&access, &good, Some("tok")).is_ok());
        assert!(check_csrf(&access, &good, Some("tox")).is_err());
        assert!(check_csrf(&access, &good, None).is_err());
        let evil = headers(&[
            ("host", "127.0.0.1:8016"),
            ("origin", "http://evil.example"),
        ]);
        assert!(check_csrf(&access, &evil, Some("tok")).is_err());
        let bearer = bearer(Role::Admin);
        assert!(check_csrf(&bearer, &evil, None).is_ok());
    }
}
