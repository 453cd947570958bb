//! The registry and the source against a real PostgreSQL (a throw-away
//! cluster per test; skipped without PostgreSQL unless `CI` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/pg.rs"]
mod pg;

use killswitch::store::Store;
use killswitch::{Context, Format};
use killswitch_fleet::{FleetErrorKind, PostgresSource, Registry, Written};
use pg::{Cluster, PASSWORD};
use std::time::{Duration, Instant};

const JSON: &str = r#"[
  {"flag_key": "checkout_v2", "enabled": true, "rollout_percentage": 100},
  {"flag_key": "search", "enabled": true, "rollout_percentage": 100}
]"#;

const YAML: &str = "# the team's flags\nsegments:\n  staff: 'email endsWith \"@x.com\"'\nflags:\n  - flag_key: checkout_v2\n    enabled: true\n    rollout_percentage: 100\n    targeting_rules:\n      allow_list: ['@staff']\n";

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn publish_kill_rollback_history_and_compare_and_set() {
    let Some(pg) = Cluster::start("registry") else {
        return;
    };
    let url = pg.url("postgres");
    let registry = Registry::connect(&url).unwrap();
    assert!(registry.newest().unwrap().is_none());
    assert!(!registry.database().name().contains(PASSWORD));

    let v1 = registry
        .publish(JSON, Format::Json, "ana", "first", None)
        .unwrap();
    assert_eq!(v1, 1);
    // Compare-and-set: a stale expectation writes nothing.
    let e = registry
        .publish(JSON, Format::Json, "bob", "stale", Some(0))
        .unwrap_err();
    assert_eq!(e.kind(), FleetErrorKind::Conflict);
    assert_eq!(e.conflict_versions(), Some((0, Some(1))));
    assert!(e.to_string().contains("version 1 is"), "{e}");
    // An invalid config writes nothing, and says why.
    let e = registry
        .publish(
            r#"{"flag_key": "x", "enabled": "yes"}"#,
            Format::Json,
            "ana",
            "bad",
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind(), FleetErrorKind::Invalid);
    assert!(e.config_error().is_some());
    assert_eq!(registry.newest().unwrap().unwrap().number, 1);

    let v2 = registry
        .set_kill("checkout_v2", true, "oncall", "INC-1: errors", Some(v1))
        .unwrap();
    assert_eq!(v2, Written::Published(2));
    let v2 = v2.version();
    // Killed already: nothing is written, compare-and-set still checked.
    assert_eq!(
        registry
            .set_kill("checkout_v2", true, "oncall", "again", Some(v2))
            .unwrap(),
        Written::Unchanged(v2)
    );
    assert_eq!(registry.history(None).unwrap().len(), 2);
    let stale = registry
        .set_kill("checkout_v2", true, "oncall", "again", Some(v1))
        .unwrap_err();
    assert_eq!(stale.kind(), FleetErrorKind::Conflict);
    let killed = registry.version(v2).unwrap();
    assert!(
        killed.text.contains("\"kill_switch\": true"),
        "{}",
        killed.text
    );
    assert_eq!(killed.author, "oncall");
    assert_eq!(killed.message, "INC-1: errors");
    assert_eq!(killed.sha256.len(), 64);
    let e = registry
        .set_kill("nope", true, "oncall", "typo", None)
        .unwrap_err();
    assert_eq!(e.kind(), FleetErrorKind::Edit);
    assert!(e.to_string().contains("no flag `nope`"), "{e}");

    let v3 = registry
        .rollback(v1, "oncall", "INC-1 fixed", None)
        .unwrap();
    assert_eq!(v3, 3);
    assert_eq!(registry.version(v3).unwrap().text, JSON);
    let v4 = registry
        .set_rollout("search", 25, "ana", "search to 25%", None)
        .unwrap();
    assert!(registry
        .version(v4)
        .unwrap()
        .text
        .contains("\"rollout_percentage\": 25"));

    let history = registry.history(None).unwrap();
    let numbers: Vec<u64> = history.iter().map(|h| h.number).collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
    assert_eq!(history[0].changed, ["search"]);
    assert_eq!(history[1].changed, ["checkout_v2"]);
    assert_eq!(history[2].changed, ["checkout_v2"]);
    assert_eq!(history[3].changed, ["checkout_v2", "search"]);
    assert_eq!(history[2].message, "INC-1: errors");
    let limited = registry.history(Some(2)).unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[1].changed, ["checkout_v2"]);

    // Versions are immutable, whoever tries.
    for sql in [
        "UPDATE killswitch_versions SET author = 'eve'",
        "DELETE FROM killswitch_versions",
        "TRUNCATE killswitch_versions",
    ] {
        let out = pg.psql("postgres", sql);
        assert!(!out.status.success(), "{sql} succeeded");
        assert!(pg::text(&out).contains("immutable"), "{}", pg::text(&out));
    }
    assert_eq!(registry.history(None).unwrap().len(), 4);
    assert_eq!(registry.version(v2).unwrap().author, "oncall");
    let e = registry.version(99).unwrap_err();
    assert_eq!(e.kind(), FleetErrorKind::NotFound);
}

#[test]
fn yaml_keeps_its_format_and_segments_through_a_kill() {
    let Some(pg) = Cluster::start("yaml") else {
        return;
    };
    let registry = Registry::connect(&pg.url("postgres")).unwrap();
    registry
        .publish(YAML, Format::Yaml, "ana", "", None)
        .unwrap();
    let v2 = registry
        .set_kill("checkout_v2", true, "oncall", "INC-2", None)
        .unwrap()
        .version();
    let v = registry.version(v2).unwrap();
    assert_eq!(v.format, Format::Yaml);
    assert_eq!(
        v.text,
        YAML.replace("  - flag_key", "  - kill_switch: true\n    flag_key")
    );
}

#[test]
fn racing_publishers_get_a_total_order() {
    let Some(pg) = Cluster::start("race") else {
        return;
    };
    let url = pg.url("postgres");
    Registry::connect(&url).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let registry = Registry::connect(&url).unwrap();
                (0..10)
                    .map(|i| {
                        let text = format!(
                            r#"{{"flag_key": "f{t}_{i}", "enabled": true, "rollout_percentage": 100}}"#
                        );
                        registry
                            .publish(&text, Format::Json, &format!("p{t}"), &format!("{i}"), None)
                            .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let mine = t.join().unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=40).collect::<Vec<u64>>());
    let registry = Registry::connect(&url).unwrap();
    for v in registry.history(None).unwrap() {
        let text = registry.version(v.number).unwrap().text;
        let (t, i) = (&v.author[1..], &v.message);
        assert!(text.contains(&format!("f{t}_{i}")), "{text}");
    }
}

#[test]
fn a_store_follows_the_database_and_keeps_the_last_good_version() {
    let Some(mut pg) = Cluster::start("source") else {
        return;
    };
    let url = pg.url("postgres");
    let registry = Registry::connect(&url).unwrap();
    registry
        .publish(JSON, Format::Json, "ana", "first", None)
        .unwrap();
    // A poll too slow to matter: only NOTIFY can wake the store.
    let store = Store::builder(PostgresSource::new(&url).unwrap())
        .poll_interval(Duration::from_secs(300))
        .start()
        .unwrap();
    let user = Context::new().with("user_id", "u1");
    assert!(store.evaluate("checkout_v2", &user).enabled);
    let status = store.status();
    assert_eq!(status.source_version.as_ref().map(|v| v.number), Some(1));
    assert!(status.degraded.is_none());
    assert!(!status.source.contains(PASSWORD));

    let v2 = registry
        .set_kill("checkout_v2", true, "oncall", "INC-3", None)
        .unwrap()
        .version();
    wait_for("the kill", Duration::from_secs(5), || {
        !store.evaluate("checkout_v2", &user).enabled
    });
    let snapshot = store.snapshot();
    let sv = snapshot.source_version().unwrap();
    assert_eq!(
        (sv.number, sv.author.as_str(), sv.message.as_str()),
        (v2, "oncall", "INC-3")
    );

    // A version that does not compile, written by another tool: rejected,
    // the last good one keeps serving.
    let out = pg.psql(
        "postgres",
        "INSERT INTO killswitch_versions (version, format, config, author) \
         VALUES (100, 'json', '{\"flag_key\": \"checkout_v2\", \"enabled\": 7}', 'eve')",
    );
    assert!(out.status.success(), "{}", pg::text(&out));
    wait_for("the rejection", Duration::from_secs(5), || {
        store.status().last_error.is_some()
    });
    assert!(!store.evaluate("checkout_v2", &user).enabled);
    assert_eq!(store.status().source_version.map(|v| v.number), Some(v2));

    // The database goes away: the store keeps serving and says so.
    pg.stop_server();
    wait_for("degraded", Duration::from_secs(5), || {
        store.status().degraded.is_some()
    });
    let status = store.status();
    let why = status.degraded.unwrap();
    assert!(!why.contains(PASSWORD), "{why}");
    assert!(!store.evaluate("checkout_v2", &user).enabled);

    // Back: the store catches up with what was published meanwhile (here:
    // right after the restart) and is healthy again.
    pg.start_server();
    // The newest version (100) does not compile, so a kill based on it is
    // refused; a rollback to the good version 1 is how to move on.
    let e = registry
        .set_kill("checkout_v2", false, "oncall", "INC-3 over", None)
        .unwrap_err();
    assert_eq!(e.kind(), FleetErrorKind::Invalid);
    let v = registry.rollback(1, "oncall", "INC-3 over", None).unwrap();
    assert!(v > 100);
    wait_for("the catch-up", Duration::from_secs(10), || {
        store.evaluate("checkout_v2", &user).enabled
    });
    wait_for("healthy", Duration::from_secs(5), || {
        let s = store.status();
        s.degraded.is_none() && s.last_error.is_none()
    });
    assert_eq!(store.status().source_version.map(|v| v.number), Some(v));
}

#[test]
fn errors_never_show_the_password() {
    let Some(pg) = Cluster::start("secret") else {
        return;
    };
    // Wrong password, and a port where nothing listens.
    let wrong = pg.url("postgres").replace(PASSWORD, "wrong-Secret-42");
    let e = Registry::connect(&wrong).unwrap_err();
    assert_eq!(e.kind(), FleetErrorKind::Database);
    assert!(!e.to_string().contains("wrong-Secret-42"), "{e}");
    assert!(e.to_string().contains("postgres:***@127.0.0.1"), "{e}");
    let closed = format!("postgres://u:{PASSWORD}@127.0.0.1:1/db");
    let e = Registry::connect(&closed).unwrap_err();
    assert!(!e.to_string().contains(PASSWORD), "{e}");
    let e = Store::builder(PostgresSource::new(&closed).unwrap())
        .start()
        .unwrap_err();
    assert!(!e.to_string().contains(PASSWORD), "{e}");
    assert!(!format!("{e:?}").contains(PASSWORD));
}

/// Runs `openssl` with `args` in `dir`; false when it is not installed.
fn openssl(dir: &std::path::Path, args: &[&str]) -> bool {
    match std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            true
        }
        Err(_) => false,
    }
}

#[test]
fn tls_with_a_private_certificate_authority() {
    let Some(pg) = Cluster::start("tls") else {
        return;
    };
    // A throw-away certificate authority and a server certificate for
    // 127.0.0.1 signed by it.
    let dir = std::env::temp_dir().join(format!("killswitch-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let made = openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=killswitch test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    ) && openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    if !made {
        assert!(std::env::var_os("CI").is_none(), "openssl is needed in CI");
        return;
    }
    std::fs::write(dir.join("san.ext"), "subjectAltName = IP:127.0.0.1\n").unwrap();
    assert!(openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem"
        ]
    ));
    // The server reads its key only if no one else can.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let _ = std::process::Command::new("chown")
        .args(["postgres", "server.key", "server.pem"])
        .current_dir(&dir)
        .output();
    let sql = format!(
        "ALTER SYSTEM SET ssl_cert_file = '{0}/server.pem'; \
         ALTER SYSTEM SET ssl_key_file = '{0}/server.key'; ALTER SYSTEM SET ssl = on",
        dir.display()
    );
    for statement in sql.split("; ") {
        let out = pg.psql("postgres", statement);
        assert!(out.status.success(), "{}", pg::text(&out));
    }
    let out = pg.psql("postgres", "SELECT pg_reload_conf()");
    assert!(out.status.success(), "{}", pg::text(&out));
    let base = pg.url("postgres");

    // Trusting only the private authority: TLS is verified and works.
    let ca = dir.join("ca.pem");
    let url = format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display());
    wait_for("TLS to be on", Duration::from_secs(10), || {
        Registry::connect(&url).is_ok()
    });
    let registry = Registry::connect(&url).unwrap();
    registry
        .publish(JSON, Format::Json, "ana", "over TLS", None)
        .unwrap();
    let store = Store::builder(PostgresSource::new(&url).unwrap())
        .start()
        .unwrap();
    assert!(
        store
            .evaluate("checkout_v2", &Context::new().with("user_id", "u"))
            .enabled
    );

    // Mozilla's roots do not know it: a clear error, no password.
    let err = Registry::connect(&format!("{base}?sslmode=require")).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");

    // A root file that is not PEM is named in the error.
    std::fs::write(dir.join("bad.pem"), "not a certificate").unwrap();
    let bad = format!(
        "{base}?sslmode=require&sslrootcert={}",
        dir.join("bad.pem").display()
    );
    let message = Registry::connect(&bad).unwrap_err().to_string();
    assert!(message.contains("bad.pem"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
