//! [`Database`]: where the versions are, from a URL and the standard
//! `PG*` environment variables; connecting with timeouts and TLS; and
//! keeping the password out of every message.

use crate::error::{FleetError, FleetErrorKind};
use postgres::config::SslMode;
use postgres::{Client, NoTls};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How long connecting may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one statement (or waiting for the publish lock) may take.
const STATEMENT_TIMEOUT_MS: u32 = 10_000;

/// A PostgreSQL database holding config versions: a `postgres://` URL
/// (or a `key=value` connection string), completed by the `PG*`
/// environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
/// `PGDATABASE`, `PGSSLMODE`) for what the URL leaves out.
///
/// [`name`](Database::name) and every error show the URL with its
/// password replaced by `***`.
///
/// ```
/// use killswitch_fleet::Database;
///
/// let db = Database::new("postgres://ana:s3cret@db.internal:5432/flags")?;
/// assert_eq!(db.name(), "postgres://ana:***@db.internal:5432/flags");
/// # Ok::<(), killswitch_fleet::FleetError>(())
/// ```
#[derive(Clone)]
pub struct Database {
    config: postgres::Config,
    shown: String,
    password: Option<String>,
    /// The certificate authorities to trust instead of Mozilla's roots
    /// (`sslrootcert=` or `PGSSLROOTCERT`).
    root_cert: Option<std::path::PathBuf>,
}

impl Database {
    /// Reads a connection URL, completed by the `PG*` environment
    /// variables. Nothing is connected yet.
    pub fn new(url: &str) -> Result<Database, FleetError> {
        Database::with_env(url, |name| std::env::var(name).ok())
    }

    fn with_env(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Database, FleetError> {
        let shown = redact(url);
        let (url, root_cert) = tls_parameters(url);
        let url = url.as_str();
        let root_cert = root_cert
            .or_else(|| env("PGSSLROOTCERT"))
            .filter(|p| !p.is_empty() && p != "system")
            .map(std::path::PathBuf::from);
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            let secret = url_password(url);
            FleetError::new(
                FleetErrorKind::Url,
                scrub(
                    &format!("invalid PostgreSQL URL `{shown}`: {e}"),
                    secret.as_deref(),
                ),
            )
        })?;
        if config.get_hosts().is_empty() {
            config.host(&env("PGHOST").unwrap_or_else(|| "localhost".into()));
        }
        if config.get_ports().is_empty() {
            if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
                config.port(port);
            }
        }
        if config.get_user().is_none() {
            if let Some(user) = env("PGUSER") {
                config.user(&user);
            }
        }
        if config.get_password().is_none() {
            if let Some(password) = env("PGPASSWORD") {
                config.password(&password);
            }
        }
        if config.get_dbname().is_none() {
            if let Some(db) = env("PGDATABASE") {
                config.dbname(&db);
            }
        }
        if !url.contains("sslmode") {
            match env("PGSSLMODE").as_deref() {
                Some("disable") => {
                    config.ssl_mode(SslMode::Disable);
                }
                Some("require" | "verify-ca" | "verify-full") => {
                    config.ssl_mode(SslMode::Require);
                }
                _ => {}
            }
        }
        let options = format!(
            "-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}"
        );
        let options = match config.get_options() {
            Some(given) => format!("{given} {options}"),
            None => options,
        };
        config
            .options(&options)
            .application_name("killswitch")
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_user_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10));
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        Ok(Database {
            config,
            shown,
            password,
            root_cert,
        })
    }

    /// The URL as given, with its password replaced by `***`: for
    /// messages and logs.
    pub fn name(&self) -> &str {
        &self.shown
    }

    /// Connects (within 5 s; statements time out after 10 s).
    pub(crate) fn connect(&self) -> Result<Client, FleetError> {
        let result = match self.config.get_ssl_mode() {
            SslMode::Disable => self.config.connect(NoTls),
            _ => self.config.connect(tls(self.root_cert.as_deref())?),
        };
        result.map_err(|e| self.error(&format!("cannot connect to {}", self.shown), &e))
    }

    /// A database error, with where and why, and no password.
    pub(crate) fn error(&self, doing: &str, e: &postgres::Error) -> FleetError {
        let why = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => {
                let text = e.to_string();
                match std::error::Error::source(e) {
                    Some(cause) if !text.contains(&cause.to_string()) => format!("{text}: {cause}"),
                    _ => text,
                }
            }
        };
        FleetError::new(
            FleetErrorKind::Database,
            self.scrub(&format!("{doing}: {why}")),
        )
    }

    /// `text` with the password replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        scrub(text, self.password.as_deref())
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// TLS in Rust (rustls): used when `sslmode` is `prefer` (the default:
/// TLS when the server offers it), `require`, `verify-ca` or
/// `verify-full`. The server's certificate is always checked, chain and
/// host name (what libpq calls `verify-full`), against Mozilla's roots,
/// or against only the certificates of `root_cert` (a PEM file, libpq's
/// `sslrootcert`) when given: a private certificate authority.
fn tls(
    root_cert: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, FleetError> {
    let roots = match root_cert {
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        Some(path) => private_roots(path)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            FleetError::new(FleetErrorKind::Database, format!("cannot set up TLS: {e}"))
        })?;
    let config = builder.with_root_certificates(roots).with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The certificates of a PEM file, as the only roots to trust.
fn private_roots(path: &std::path::Path) -> Result<rustls::RootCertStore, FleetError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let failed = |why: String| {
        FleetError::new(
            FleetErrorKind::Database,
            format!("cannot use sslrootcert `{}`: {why}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| failed(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(e.to_string()))?;
    if certs.is_empty() {
        return Err(failed("it holds no PEM certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| failed(format!("a certificate is not usable: {e}")))?;
    }
    Ok(roots)
}

/// The connection string without the TLS parameters the `postgres` crate
/// does not read, and the `sslrootcert` it gave: `sslrootcert=PATH` is
/// taken out, and `sslmode=verify-ca` or `verify-full` becomes `require`
/// (the certificate is always verified, see [`tls`]). Works on URLs
/// (`?a=b&c=d`, the path percent-decoded) and on libpq `key=value` strings
/// (spaces around `=`, single-quoted values with `\'` and `\\` escapes).
fn tls_parameters(url: &str) -> (String, Option<String>) {
    let mut root_cert = None;
    let mut keep = |raw: &str, key: &str, value: Option<String>| -> Option<String> {
        match (key, value.as_deref()) {
            ("sslrootcert", Some(_)) => {
                root_cert = value;
                None
            }
            ("sslmode", Some("verify-ca" | "verify-full")) => Some("sslmode=require".into()),
            _ => Some(raw.to_string()),
        }
    };
    let rebuilt = if url.contains("://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let params: Vec<String> = query
                    .split('&')
                    .filter_map(|param| match param.split_once('=') {
                        Some((key, value)) => keep(param, key, Some(percent_decode(value))),
                        None => keep(param, param, None),
                    })
                    .collect();
                if params.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", params.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        let params: Vec<String> = key_values(url)
            .into_iter()
            .filter_map(|(raw, key, value)| keep(raw, key, value))
            .collect();
        params.join(" ")
    };
    (rebuilt, root_cert)
}

/// Decodes the `%XX` escapes of a URL query value (`+` stays `+`, as in
/// libpq). A `%` not followed by two hex digits is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make a byte: hi * 16 + lo < 256.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parameters of a libpq `key=value` connection string, each as its
/// raw text (passed on unchanged), its key, and its value unquoted and
/// unescaped (`None` for a word with no `=`, also passed on).
fn key_values(text: &str) -> Vec<(&str, &str, Option<String>)> {
    let bytes = text.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let blank = |i: usize| at(i).is_some_and(|b| b.is_ascii_whitespace());
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while blank(i) {
            i += 1;
        }
        if i >= bytes.len() {
            return out;
        }
        let start = i;
        while at(i).is_some_and(|b| b != b'=' && !b.is_ascii_whitespace()) {
            i += 1;
        }
        let key = text.get(start..i).unwrap_or_default();
        let mut j = i;
        while blank(j) {
            j += 1;
        }
        if at(j) != Some(b'=') {
            out.push((key, key, None));
            continue;
        }
        i = j + 1;
        while blank(i) {
            i += 1;
        }
        let mut value = Vec::new();
        let quoted = at(i) == Some(b'\'');
        if quoted {
            i += 1;
        }
        while let Some(b) = at(i) {
            match b {
                b'\\' if i + 1 < bytes.len() => {
                    value.extend(at(i + 1));
                    i += 2;
                    continue;
                }
                b'\'' if quoted => {
                    i += 1;
                    break;
                }
                b if !quoted && b.is_ascii_whitespace() => break,
                b => value.push(b),
            }
            i += 1;
        }
        let raw = text.get(start..i).unwrap_or_default();
        out.push((raw, key, Some(String::from_utf8_lossy(&value).into_owned())));
    }
}

/// The URL with the password of its user part, and any `password=`
/// parameter, replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            match authority.rfind('@') {
                Some(at) => {
                    let (userinfo, host) = authority.split_at(at);
                    match userinfo.split_once(':') {
                        Some((user, _)) => format!("{scheme}://{user}:***{host}{tail}"),
                        None => url.to_string(),
                    }
                }
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    let mut from = 0;
    while let Some(i) = out.get(from..).and_then(|s| s.find("password=")) {
        let start = from + i + "password=".len();
        let end = out
            .get(start..)
            .and_then(|s| s.find(['&', ' ']))
            .map_or(out.len(), |j| start + j);
        out.replace_range(start..end, "***");
        from = start + 3;
    }
    out
}

/// The password written in a URL's user part, if any (to scrub it from
/// a parse error).
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let userinfo = authority.get(..authority.rfind('@')?)?;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_the_client_does_not_read_are_taken_out() {
        assert_eq!(
            tls_parameters(
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x"
            ),
            (
                "postgres://u@h/db?sslmode=require&application_name=x".to_string(),
                Some("/etc/ca.pem".to_string())
            )
        );
        assert_eq!(
            tls_parameters("postgres://u@h/db?sslrootcert=ca.pem"),
            ("postgres://u@h/db".to_string(), Some("ca.pem".to_string()))
        );
        assert_eq!(
            tls_parameters("host=h sslmode=verify-ca sslrootcert=ca.pem dbname=d"),
            (
                "host=h sslmode=require dbname=d".to_string(),
                Some("ca.pem".to_string())
            )
        );
        assert_eq!(
            tls_parameters("postgres://u@h/db?sslmode=require"),
            ("postgres://u@h/db?sslmode=require".to_string(), None)
        );
        // A URL's values are percent-encoded; a stray `%` is kept.
        assert_eq!(
            tls_parameters("postgres://u@h/db?sslrootcert=%2Fetc%2Fmy%20certs%2Fca+1.pem&x=%"),
            (
                "postgres://u@h/db?x=%".to_string(),
                Some("/etc/my certs/ca+1.pem".to_string())
            )
        );
        // libpq key=value strings: spaces around `=`, quoted values with
        // escapes; everything else is passed on as written.
        assert_eq!(
            tls_parameters(
                "host=h  sslrootcert = '/etc/my certs/it\\'s.pem' application_name='a b' sslmode =verify-full"
            ),
            (
                "host=h application_name='a b' sslmode=require".to_string(),
                Some("/etc/my certs/it's.pem".to_string())
            )
        );
        assert_eq!(
            tls_parameters("host=h sslrootcert=/a\\ b.pem dbname=d"),
            ("host=h dbname=d".to_string(), Some("/a b.pem".to_string()))
        );
        let db = Database::with_env("postgres://u:pw@h/db", |name| {
            (name == "PGSSLROOTCERT").then(|| "/etc/ca.pem".to_string())
        });
        assert_eq!(
            db.ok().and_then(|d| d.root_cert),
            Some(std::path::PathBuf::from("/etc/ca.pem"))
        );
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://u:p%40ss@h:1/db?sslmode=require"),
            "postgres://u:***@h:1/db?sslmode=require"
        );
        assert_eq!(redact("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(
            redact("host=h user=u password=hunter2 dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(
            redact("postgres://h/db?password=hunter2&x=1"),
            "postgres://h/db?password=***&x=1"
        );
        let db = Database::with_env("postgres://u@h/db", |v| {
            (v == "PGPASSWORD").then(|| "envsecret".to_string())
        });
        let db = match db {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(db.scrub("auth failed for envsecret"), "auth failed for ***");
        assert!(!format!("{db:?}").contains("envsecret"));
        let bad = Database::new("postgres://u:topsecret@h:notaport/db");
        let message = bad.map(|_| ()).map_err(|e| e.to_string()).unwrap_err();
        assert!(!message.contains("topsecret"), "{message}");
    }
}
